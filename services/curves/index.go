package curves

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// entry is one curve in the index: its metadata, as decoded and as
// encoded for list replies, and the bytes it takes in the store.
type entry struct {
	c    api.Curve
	rev  uint64 // the metadata's KV revision
	size int64  // accounted bytes: trace, metadata and per-message overhead
	js   []byte // c in JSON (the KV value)
	mp   []byte // c in msgpack
}

// index holds every curve's metadata in memory, oldest first, so that a
// list is a walk over a slice and eviction takes from its front. It is
// fed by the service's own writes and by a watch on the metadata bucket,
// which brings those of other instances.
type index struct {
	mu    sync.RWMutex
	byID  map[string]*entry
	order []*entry // by (Saved, ID)
	bytes int64
	kept  int
	// gone holds the curves this instance deleted until the watch brings
	// their purge markers: older news of them from the watch is stale.
	gone map[string]bool
}

func newIndex() *index { return &index{byID: map[string]*entry{}, gone: map[string]bool{}} }

// newEntry encodes c for the index. js, when not nil, is c's JSON as
// stored.
func newEntry(c api.Curve, rev uint64, js []byte) (*entry, error) {
	var err error
	if js == nil {
		if js, err = wire.JSON.Marshal(c); err != nil {
			return nil, err
		}
	}
	mp, err := wire.Msgpack.Marshal(c)
	if err != nil {
		return nil, err
	}
	return &entry{c: c, rev: rev, size: accounted(c.Bytes, len(js)), js: js, mp: mp}, nil
}

// msgOverhead is what JetStream adds to each stored message, taken
// generously (record header, subject, headers, checksum): the
// accounting errs towards full, so the stream's own byte limit is rarely
// what refuses a save.
const msgOverhead = 192

// accounted is what a curve of traceBytes with metaBytes of metadata
// takes in the store.
func accounted(traceBytes, metaBytes int) int64 {
	return int64(traceBytes) + int64(metaBytes) + 2*msgOverhead
}

func less(a, b *entry) int {
	switch {
	case a.c.Saved < b.c.Saved:
		return -1
	case a.c.Saved > b.c.Saved:
		return 1
	}
	return strings.Compare(a.c.ID, b.c.ID)
}

// put adds or replaces a curve; a revision older than the one held is
// ignored (the watch brings back what this instance wrote), and so is
// the watch's news of a curve this instance deleted.
func (x *index) put(e *entry, fromWatch bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if fromWatch && x.gone[e.c.ID] {
		return
	}
	if old := x.byID[e.c.ID]; old != nil {
		if old.rev > e.rev {
			return
		}
		x.removeLocked(old)
	}
	x.byID[e.c.ID] = e
	i, _ := slices.BinarySearchFunc(x.order, e, less)
	x.order = slices.Insert(x.order, i, e)
	x.bytes += e.size
	if e.c.Keep {
		x.kept++
	}
}

// forget drops a curve this instance deleted.
func (x *index) forget(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e := x.byID[id]; e != nil {
		x.removeLocked(e)
	}
	x.gone[id] = true
}

// removed drops a curve whose delete or purge marker the watch brought
// at revision rev.
func (x *index) removed(id string, rev uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.gone, id)
	if e := x.byID[id]; e != nil && e.rev < rev {
		x.removeLocked(e)
	}
}

func (x *index) removeLocked(e *entry) {
	delete(x.byID, e.c.ID)
	if i, ok := slices.BinarySearchFunc(x.order, e, less); ok {
		x.order = slices.Delete(x.order, i, i+1)
	}
	x.bytes -= e.size
	if e.c.Keep {
		x.kept--
	}
}

// holds reports whether the index has curve id at revision rev or later.
func (x *index) holds(id string, rev uint64) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e := x.byID[id]
	return e != nil && e.rev >= rev
}

func (x *index) get(id string) *entry {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.byID[id]
}

// stats says how full the store is.
func (x *index) stats(maxBytes int64) api.CurveStore {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return api.CurveStore{Curves: len(x.byID), Kept: x.kept, Bytes: x.bytes, MaxBytes: maxBytes}
}

// oldestEvictable returns the oldest curve not marked keep and not in
// skip, or nil.
func (x *index) oldestEvictable(skip map[string]bool) *entry {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, e := range x.order {
		if !e.c.Keep && !skip[e.c.ID] {
			return e
		}
	}
	return nil
}

// Limits of a list page.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// query is a checked CurveQuery.
type query struct {
	api.CurveQuery
	// the cursor: continue with curves older than (saved, id)
	saved float64
	id    string
}

func checkQuery(q api.CurveQuery) (query, error) {
	out := query{CurveQuery: q}
	switch {
	case q.Limit == 0:
		out.Limit = DefaultListLimit
	case q.Limit < 0 || q.Limit > MaxListLimit:
		return out, rperr.Invalidf("limit: %d is outside 1..%d", q.Limit, MaxListLimit)
	}
	switch q.Instrument {
	case "", api.InstrumentScope, api.InstrumentNA, api.InstrumentSpecan:
	default:
		return out, rperr.Invalidf("instrument: %q is not one of scope, na, specan", q.Instrument)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"since", q.Since}, {"until", q.Until}} {
		if f.v < 0 || f.v != f.v || f.v > 1e11 {
			return out, rperr.Invalidf("%s: %g is not a time in Unix seconds (0 .. 1e11)", f.name, f.v)
		}
	}
	if q.Until != 0 && q.Until < q.Since {
		return out, rperr.Invalidf("until: %g is before since %g", q.Until, q.Since)
	}
	for _, f := range []struct{ name, v string }{{"board", q.Board}, {"name_prefix", q.NamePrefix}, {"tag", q.Tag}, {"user", q.User}, {"acquisition", q.Acquisition}} {
		if err := checkText(f.name, f.v, MaxNameBytes); err != nil {
			return out, err
		}
	}
	if q.Cursor != "" {
		saved, id, ok := strings.Cut(q.Cursor, "_")
		t, err := strconv.ParseFloat(saved, 64)
		if !ok || err != nil || CheckID("cursor", id) != nil {
			return out, rperr.Invalidf("cursor: %q is not a cursor; pass the next of the previous page", q.Cursor)
		}
		out.saved, out.id = t, id
	}
	return out, nil
}

func (q *query) match(c *api.Curve) bool {
	return (q.Board == "" || c.Board == q.Board) &&
		(q.Instrument == "" || c.Instrument == q.Instrument) &&
		(q.NamePrefix == "" || strings.HasPrefix(c.Name, q.NamePrefix)) &&
		(q.Tag == "" || slices.Contains(c.Tags, q.Tag)) &&
		(q.User == "" || c.User == q.User) &&
		(q.Acquisition == "" || c.Acquisition == q.Acquisition) &&
		(q.Since == 0 || c.Saved >= q.Since) &&
		(q.Until == 0 || c.Saved < q.Until) &&
		(q.Keep == nil || c.Keep == *q.Keep)
}

// list returns one page of the curves q matches, newest first, and the
// cursor of the next page ("" on the last).
func (x *index) list(q query) (page []*entry, next string) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	end := len(x.order)
	if q.Cursor != "" {
		end, _ = slices.BinarySearchFunc(x.order, &entry{c: api.Curve{Saved: q.saved, ID: q.id}}, less)
	}
	if q.Until != 0 {
		// Saved is sorted: skip what is too new without looking.
		end = min(end, sortIndex(x.order, q.Until))
	}
	for i := end - 1; i >= 0; i-- {
		e := x.order[i]
		if q.Since != 0 && e.c.Saved < q.Since {
			break
		}
		if !q.match(&e.c) {
			continue
		}
		if len(page) == q.Limit {
			last := page[len(page)-1].c
			return page, cursor(last.Saved, last.ID)
		}
		page = append(page, e)
	}
	return page, ""
}

// sortIndex is the first position in order saved at or after t.
func sortIndex(order []*entry, t float64) int {
	i, _ := slices.BinarySearchFunc(order, t, func(e *entry, t float64) int {
		if e.c.Saved < t {
			return -1
		}
		return 1
	})
	return i
}

func cursor(saved float64, id string) string {
	return strconv.FormatFloat(saved, 'f', -1, 64) + "_" + id
}
