package curves

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/svc"
	"github.com/rpbus/rpbus/wire"
)

// ErrConfigValidation is wrapped by every configuration error of Start.
var ErrConfigValidation = errors.New("curves: invalid configuration")

// Version of the service, reported by micro.
const Version = "0.1.0"

// Defaults and limits of Config.
const (
	DefaultMaxBytes     = 512 << 20
	MinMaxBytes         = 1 << 20
	DefaultStartTimeout = 30 * time.Second
)

// Config configures the service.
type Config struct {
	// MaxBytes is the store's size: traces and metadata. A save that
	// would pass it first deletes the oldest curves not marked keep.
	// Default 512 MiB, at least 1 MiB.
	MaxBytes int64
	// Replicas of the stream and the bucket: 1 (default), or 3 or 5 in
	// a JetStream cluster, so that losing a node loses no curve.
	Replicas int
	// StartTimeout bounds the wait for JetStream at Start (a cluster
	// electing leaders); default 30 s.
	StartTimeout time.Duration
	// Logger gets what no requester sees; nil: slog.Default().
	Logger *slog.Logger
}

// Service is a running curve store.
type Service struct {
	cfg   Config
	st    *store
	idx   *index
	svc   *svc.Service
	log   *slog.Logger
	watch jetstream.KeyWatcher

	ctx    context.Context // ends at Stop
	cancel context.CancelFunc
	done   chan struct{} // the watch loop ended

	// room serialises making room, so that two requests for room do not
	// both evict for the same deficit.
	room sync.Mutex

	// The watch's progress, for lists that must show what was written
	// before they were asked (see catchUp).
	progress  sync.Mutex
	applied   uint64        // the bucket's last sequence the watch brought
	verified  uint64        // a last sequence found gone (an expired marker)
	advancing chan struct{} // closed and replaced when applied grows
}

// Start opens the store on nc's JetStream (creating the stream and the
// bucket, or updating their limits), loads the index and serves
// rp.curves.save, list, get, update and delete. The caller owns nc.
func Start(nc *nats.Conn, cfg Config) (*Service, error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrConfigValidation)
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxBytes < MinMaxBytes {
		return nil, fmt.Errorf("%w: MaxBytes %d, want at least %d", ErrConfigValidation, cfg.MaxBytes, MinMaxBytes)
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.Replicas < 1 || cfg.Replicas > 5 {
		return nil, fmt.Errorf("%w: Replicas %d, want 1..5", ErrConfigValidation, cfg.Replicas)
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{cfg: cfg, idx: newIndex(), log: cfg.Logger, ctx: ctx, cancel: cancel, done: make(chan struct{}), advancing: make(chan struct{})}
	sctx, scancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer scancel()
	var err error
	if s.st, err = openStore(sctx, nc, cfg.MaxBytes, cfg.Replicas); err != nil {
		cancel()
		return nil, err
	}
	if err := s.load(sctx); err != nil {
		cancel()
		return nil, err
	}
	s.svc, err = svc.New(nc, svc.Config{
		Name:        "curves",
		Version:     Version,
		Description: "curve store: saved scope traces, sweeps and spectra on JetStream",
		Metadata: map[string]string{
			"stream": TracesStream, "bucket": MetaBucket,
			"max_bytes": strconv.FormatInt(cfg.MaxBytes, 10), "replicas": strconv.Itoa(cfg.Replicas),
		},
	})
	if err == nil {
		err = s.addEndpoints()
	}
	if err != nil {
		s.Stop(context.Background())
		return nil, err
	}
	go s.tidy()
	return s, nil
}

// load starts the watch on the metadata bucket and returns once it has
// delivered every curve stored; it then keeps the index current.
func (s *Service) load(ctx context.Context) error {
	w, err := s.st.meta.WatchAll(s.ctx)
	if err != nil {
		return fmt.Errorf("curves: watching %s: %w", MetaBucket, err)
	}
	s.watch = w
	loaded := make(chan struct{})
	go func() {
		defer close(s.done)
		initial := true
		for e := range w.Updates() {
			if e == nil {
				if initial {
					initial = false
					close(loaded)
				}
				continue
			}
			s.apply(e)
			s.advance(e.Revision())
		}
	}()
	select {
	case <-loaded:
		return nil
	case <-ctx.Done():
		_ = w.Stop()
		return fmt.Errorf("curves: loading the index from %s: %w", MetaBucket, ctx.Err())
	}
}

// advance records that the watch brought the bucket's message seq.
func (s *Service) advance(seq uint64) {
	s.progress.Lock()
	defer s.progress.Unlock()
	if seq > s.applied {
		s.applied = seq
		close(s.advancing)
		s.advancing = make(chan struct{})
	}
}

// catchUpWait is how long a list waits for the watch before it reads what
// the watch has not brought from the bucket's stream itself.
const catchUpWait = 50 * time.Millisecond

// catchUp returns once the index holds every change the bucket held when
// it was called, so a list shows a curve whose save was answered before
// the list was asked (an instrument writes the bucket itself, and its
// reply may overtake the watch). When the watch lags (its consumer lost
// with a cluster node, until it is made again) it reads the missing
// messages by sequence.
func (s *Service) catchUp(ctx context.Context) {
	info, err := s.st.metaStream.Info(ctx)
	if err != nil {
		return
	}
	last := info.State.LastSeq
	timeout := time.NewTimer(catchUpWait)
	defer timeout.Stop()
	for {
		s.progress.Lock()
		done, advancing := s.applied >= last || s.verified >= last, s.advancing
		s.progress.Unlock()
		if done {
			return
		}
		select {
		case <-advancing:
		case <-ctx.Done():
			return
		case <-timeout.C:
			s.readMissing(ctx, last)
			return
		}
	}
}

// readMissing reads the bucket's messages the watch has not brought, up to
// sequence last, into the index. A sequence that is gone (superseded,
// deleted, an expired purge marker) has nothing to bring.
func (s *Service) readMissing(ctx context.Context, last uint64) {
	s.progress.Lock()
	from := max(s.applied, s.verified) + 1
	s.progress.Unlock()
	prefix := "$KV." + MetaBucket + "."
	for seq := from; seq <= last; seq++ {
		m, err := direct(ctx, func(ctx context.Context) (*jetstream.RawStreamMsg, error) {
			return s.st.metaStream.GetMsg(ctx, seq)
		})
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return // the next list tries again
		}
		op := m.Header.Get("KV-Operation")
		s.applyChange(strings.TrimPrefix(m.Subject, prefix), seq, op == "DEL" || op == "PURGE", m.Data)
	}
	s.progress.Lock()
	s.verified = max(s.verified, last)
	s.progress.Unlock()
}

// apply puts one change the watch brought into the index.
func (s *Service) apply(e jetstream.KeyValueEntry) {
	s.applyChange(e.Key(), e.Revision(), e.Operation() != jetstream.KeyValuePut, e.Value())
}

// applyChange puts a change of key at revision rev into the index: a
// delete or purge, or a value.
func (s *Service) applyChange(key string, rev uint64, deleted bool, value []byte) {
	if deleted {
		s.idx.removed(key, rev)
		return
	}
	if s.idx.holds(key, rev) {
		return // known already: this instance's own write, come back
	}
	var c api.Curve
	if err := json.Unmarshal(value, &c); err != nil {
		s.log.Warn("curves: unreadable metadata", "id", key, "err", err)
		return
	}
	c.Settings = integers(c.Settings)
	en, err := newEntry(c, rev, value)
	if err != nil {
		s.log.Warn("curves: metadata", "id", key, "err", err)
		return
	}
	s.idx.put(en, true)
}

// integers turns the float64 numbers that JSON gives a settings map back
// into integers where they are whole, as the instruments sent them.
func integers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = integers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = integers(x)
		}
	case float64:
		if t == float64(int64(t)) && t >= -1<<53 && t <= 1<<53 {
			return int64(t)
		}
	}
	return v
}

// tidy runs once after Start: it deletes traces whose metadata never got
// written (a store that died between the two writes of a save) and
// brings a store over a lowered MaxBytes back under it.
func (s *Service) tidy() {
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	info, err := s.st.traces.Info(ctx, jetstream.WithSubjectFilter(tracePrefix+"*"))
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Warn("curves: listing traces", "err", err)
		}
		return
	}
	for subject := range info.State.Subjects {
		id := subject[len(tracePrefix):]
		if s.idx.get(id) != nil {
			continue
		}
		m, err := s.st.traces.GetLastMsgForSubject(ctx, subject)
		if err != nil || time.Since(m.Time) < orphanAge {
			continue // a save under way in another instance, maybe
		}
		if _, err := s.st.meta.Get(ctx, id); !errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		s.log.Info("curves: deleting a trace without metadata", "id", id)
		_ = s.st.traces.Purge(ctx, jetstream.WithPurgeSubject(subject))
	}
	s.room.Lock()
	defer s.room.Unlock()
	if err := s.makeRoom(ctx, 0, 0); err != nil {
		s.log.Warn("curves: over the size limit", "err", err)
	}
}

// orphanAge is how old a trace without metadata must be before tidy
// deletes it: a save writes both within its SaveTimeout.
const orphanAge = time.Minute

// Stop stops taking requests, answers those in flight until ctx ends,
// and ends the watch.
func (s *Service) Stop(ctx context.Context) error {
	var err error
	if s.svc != nil {
		err = s.svc.Stop(ctx)
	}
	s.cancel()
	if s.watch != nil {
		_ = s.watch.Stop()
		<-s.done
	}
	return err
}

// Stats says how full the store is.
func (s *Service) Stats() api.CurveStore { return s.idx.stats(s.cfg.MaxBytes) }

func (s *Service) addEndpoints() error {
	for _, e := range []struct {
		name, subject string
		h             svc.Handler
		meta          map[string]string
	}{
		{"save", api.CurvesSave, s.handleSave, map[string]string{
			"request": `{"curve":{"name":"...","tags":["..."],"note":"...","keep":false},"scope"|"na"|"specan":{the instrument's reply}}`,
			"reply":   `{"id":"...","instrument":"scope","board":"sim","acquisition":"...","name":"...","tags":[...],"settings":{...},"arrays":[...],"bytes":65700,"saved":...}`,
			"note":    "stores a trace a client holds (the instruments write theirs into JetStream themselves); msgpack keeps the trace's bytes as they are",
		}},
		{"room", api.CurvesRoom, s.handleRoom, map[string]string{
			"request": `{"bytes":65700,"meta_bytes":1200}`,
			"reply":   `{"curves":0,"kept":0,"bytes":0,"max_bytes":0}`,
			"note":    "asked by an instrument's save that found the store full: the oldest curves not marked keep go",
		}},
		{"list", api.CurvesList, s.handleList, map[string]string{
			"request": `{"board":"sim","instrument":"scope","name_prefix":"...","tag":"...","acquisition":"...","since":0,"until":0,"keep":true,"limit":100,"cursor":"..."}`,
			"reply":   `{"curves":[{metadata}...],"next":"cursor of the next page","store":{"curves":0,"kept":0,"bytes":0,"max_bytes":0}}`,
			"limits":  fmt.Sprintf("limit 1..%d (default %d); since, until Unix s; instrument scope|na|specan", MaxListLimit, DefaultListLimit),
		}},
		{"get", api.CurvesGet, s.handleGet, map[string]string{
			"request": `{"id":"..."}`,
			"reply":   `{"curve":{metadata},"scope"|"na"|"specan":{the trace: msgpack arrays as bin as the instrument sent them, or JSON numbers}}`,
		}},
		{"update", api.CurvesUpdate, s.handleUpdate, map[string]string{
			"request": `{"id":"...","name":"...","tags":["..."],"note":"...","keep":true}`,
			"reply":   `{metadata as updated}`,
			"limits":  fmt.Sprintf("name <= %d bytes; <= %d tags of 1..%d bytes; note <= %d bytes", MaxNameBytes, MaxTags, MaxTagBytes, MaxNoteBytes),
		}},
		{"delete", api.CurvesDelete, s.handleDelete, map[string]string{
			"request": `{"id":"..."}`,
			"reply":   `{"id":"...","deleted":true}`,
		}},
	} {
		if err := s.svc.Add(e.name, e.subject, e.h, e.meta); err != nil {
			return fmt.Errorf("curves: endpoint %s: %w", e.name, err)
		}
	}
	return nil
}

// opTimeout bounds one request's JetStream work.
const opTimeout = 5 * time.Second

// handleRoom makes room for a curve an instrument's save found no room
// for in the stream or the bucket.
func (s *Service) handleRoom(ctx context.Context, req *svc.Request) (any, error) {
	var r api.CurveRoom
	if err := req.Decode(&r); err != nil {
		return nil, err
	}
	switch {
	case r.Bytes < 0 || r.Bytes > s.cfg.MaxBytes:
		return nil, rperr.Invalidf("bytes: %d is outside 0..%d (the store's max_bytes)", r.Bytes, s.cfg.MaxBytes)
	case r.MetaBytes < 0 || r.MetaBytes > maxMetaBytes:
		return nil, rperr.Invalidf("meta_bytes: %d is outside 0..%d", r.MetaBytes, maxMetaBytes)
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	s.room.Lock()
	err := s.makeRoom(ctx, r.Bytes, r.MetaBytes)
	s.room.Unlock()
	if err != nil {
		return nil, err
	}
	return s.Stats(), nil
}

func (s *Service) handleSave(ctx context.Context, req *svc.Request) (any, error) {
	p, err := parseSave(req.Codec, req.Data())
	if err != nil {
		return nil, err
	}
	p.curve.User = req.User()
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	c, err := s.save(ctx, p)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// save writes a parsed curve: room first, then its trace, then its
// metadata (so metadata never names a trace that is not there).
func (s *Service) save(ctx context.Context, p *parsed) (api.Curve, error) {
	c := p.curve
	c.Saved = api.Unix(time.Now())
	js, err := wire.JSON.Marshal(c)
	if err != nil {
		return c, rperr.Errorf(rperr.EInternal, "curve %s: encoding metadata: %v", c.ID, err)
	}
	if len(js) > maxMetaBytes {
		return c, rperr.Invalidf("settings: the curve's metadata takes %d bytes, at most %d", len(js), maxMetaBytes)
	}
	if int64(len(p.raw)) > s.cfg.MaxBytes {
		return c, rperr.Invalidf("%s: a trace of %d bytes does not fit in the curve store (max_bytes %d)", c.Instrument, len(p.raw), s.cfg.MaxBytes)
	}
	if s.idx.get(c.ID) != nil {
		return c, rperr.Errorf(rperr.EBusy, "curve.id: %s is taken by a stored curve", c.ID)
	}
	var rev uint64
	for try := 0; ; try++ {
		s.room.Lock()
		err = s.makeRoom(ctx, int64(len(p.raw)), int64(len(js)))
		s.room.Unlock()
		if err != nil {
			return c, err
		}
		rev, err = s.st.put(ctx, c.ID, c.Instrument, p.raw, js)
		if !isFull(err) || try == roomTries {
			break
		}
	}
	switch {
	case isWrongLast(err):
		return c, rperr.Errorf(rperr.EBusy, "curve.id: %s is taken by a stored curve", c.ID)
	case isFull(err):
		return c, rperr.Errorf(rperr.EUnavailable, "curve store: full: the stream refused %d bytes (%s)", len(p.raw), s.fullness())
	case err != nil:
		return c, unavailable("writing the curve", err)
	}
	en, err := newEntry(c, rev, js)
	if err != nil {
		return c, rperr.Errorf(rperr.EInternal, "curve %s: %v", c.ID, err)
	}
	s.idx.put(en, false)
	return c, nil
}

// makeRoom deletes the oldest curves not marked keep until the stream
// has room for trace more bytes and the bucket for meta more, and then a
// twentieth of each besides, so that the saves after this one find room
// without asking. With both 0 it brings the store back under its limits.
// The caller holds s.room.
func (s *Service) makeRoom(ctx context.Context, trace, meta int64) error {
	metaMax := metaMaxBytes(s.cfg.MaxBytes)
	if trace > 0 || meta > 0 {
		trace += s.cfg.MaxBytes / 20
		meta += metaMax / 20
	}
	failed := map[string]bool{}
	for {
		free, metaFree, err := s.free(ctx, metaMax)
		if err != nil {
			return unavailable("reading the store's size", err)
		}
		if free >= trace && metaFree >= meta {
			return nil
		}
		// Evict what the estimates say covers the lack, then look again.
		for free < trace || metaFree < meta {
			e := s.idx.oldestEvictable(failed)
			if e == nil {
				return rperr.Errorf(rperr.EUnavailable, "curve store: full, and every curve is marked keep (%s): delete curves or unmark keep (rp.curves.update, `rpbus curves tag ID --keep false`), or give the store more room (rpbus curves --max-bytes)", s.fullness())
			}
			if err := s.st.remove(ctx, e.c.ID); err != nil {
				failed[e.c.ID] = true
				s.log.Warn("curves: evicting", "id", e.c.ID, "err", err)
				if ctx.Err() != nil {
					return unavailable("making room", err)
				}
				continue
			}
			s.idx.forget(e.c.ID)
			free += int64(e.c.Bytes) + msgOverhead
			metaFree += int64(len(e.js))
		}
	}
}

// free is what the stream and the bucket can take before their limits.
func (s *Service) free(ctx context.Context, metaMax int64) (traces, meta int64, err error) {
	ti, err := s.st.traces.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	mi, err := s.st.metaStream.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	return s.cfg.MaxBytes - int64(ti.State.Bytes), metaMax - int64(mi.State.Bytes), nil
}

func (s *Service) fullness() string {
	st := s.idx.stats(s.cfg.MaxBytes)
	return fmt.Sprintf("%d curves, %d kept, %d of %d bytes", st.Curves, st.Kept, st.Bytes, st.MaxBytes)
}

func (s *Service) handleList(ctx context.Context, req *svc.Request) (any, error) {
	var q api.CurveQuery
	if err := req.Decode(&q); err != nil {
		return nil, err
	}
	cq, err := checkQuery(q)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	s.catchUp(cctx)
	cancel()
	page, next := s.idx.list(cq)
	stats := s.idx.stats(s.cfg.MaxBytes)
	var buf bytes.Buffer
	if req.Codec == wire.Msgpack {
		err = encodeListMsgpack(&buf, page, next, stats)
	} else {
		err = encodeListJSON(&buf, page, next, stats)
	}
	if err != nil {
		return nil, rperr.Errorf(rperr.EInternal, "curves: encoding the list: %v", err)
	}
	return svc.Raw{Data: buf.Bytes(), Header: req.Codec.Header()}, nil
}

// encodeListJSON writes a CurveList from the entries' stored JSON.
func encodeListJSON(buf *bytes.Buffer, page []*entry, next string, st api.CurveStore) error {
	buf.WriteString(`{"curves":[`)
	for i, e := range page {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(e.js)
	}
	buf.WriteString(`]`)
	if next != "" {
		buf.WriteString(`,"next":`)
		b, _ := json.Marshal(next)
		buf.Write(b)
	}
	buf.WriteString(`,"store":`)
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	buf.Write(b)
	buf.WriteByte('}')
	return nil
}

// encodeListMsgpack writes a CurveList from the entries' msgpack.
func encodeListMsgpack(buf *bytes.Buffer, page []*entry, next string, st api.CurveStore) error {
	enc := newEncoder(buf)
	n := 2
	if next != "" {
		n = 3
	}
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	if err := enc.EncodeString("curves"); err != nil {
		return err
	}
	if err := enc.EncodeArrayLen(len(page)); err != nil {
		return err
	}
	for _, e := range page {
		buf.Write(e.mp)
	}
	if next != "" {
		if err := enc.EncodeString("next"); err != nil {
			return err
		}
		if err := enc.EncodeString(next); err != nil {
			return err
		}
	}
	if err := enc.EncodeString("store"); err != nil {
		return err
	}
	return enc.Encode(&st)
}

// lookup finds a curve's metadata: in the index, or in the bucket when
// another instance wrote it a moment ago.
func (s *Service) lookup(ctx context.Context, field, id string) (*entry, error) {
	if err := CheckID(field, id); err != nil {
		return nil, err
	}
	if e := s.idx.get(id); e != nil {
		return e, nil
	}
	c, kv, err := s.readMeta(ctx, field, id)
	if err != nil {
		return nil, err
	}
	e, err := newEntry(c, kv.Revision(), kv.Value())
	if err != nil {
		return nil, rperr.Errorf(rperr.EInternal, "curve %s: %v", id, err)
	}
	return e, nil
}

// readMeta reads a curve's metadata from the bucket: 404 naming field
// when there is none.
func (s *Service) readMeta(ctx context.Context, field, id string) (api.Curve, jetstream.KeyValueEntry, error) {
	var c api.Curve
	kv, err := s.st.meta.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return c, nil, rperr.Errorf(rperr.ENotFound, "%s: no curve %s (rp.curves.list shows the stored ones)", field, id)
	}
	if err != nil {
		return c, nil, unavailable("reading metadata", err)
	}
	if err := json.Unmarshal(kv.Value(), &c); err != nil {
		return c, nil, rperr.Errorf(rperr.EInternal, "curve %s: unreadable metadata: %v", id, err)
	}
	c.Settings = integers(c.Settings)
	return c, kv, nil
}

func (s *Service) handleGet(ctx context.Context, req *svc.Request) (any, error) {
	var r api.CurveID
	if err := req.Decode(&r); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	e, err := s.lookup(ctx, "id", r.ID)
	if err != nil {
		return nil, err
	}
	raw, err := s.st.trace(ctx, r.ID)
	if err != nil {
		return nil, unavailable("reading the trace", err)
	}
	if raw == nil {
		return nil, rperr.Errorf(rperr.ENotFound, "id: curve %s has no trace in the store (deleted a moment ago?)", r.ID)
	}
	if req.Codec == wire.Msgpack {
		// {"curve": metadata, instrument: the stored bytes}: no decoding.
		var buf bytes.Buffer
		buf.Grow(len(raw) + len(e.mp) + 32)
		enc := newEncoder(&buf)
		_ = enc.EncodeMapLen(2)
		_ = enc.EncodeString("curve")
		buf.Write(e.mp)
		_ = enc.EncodeString(e.c.Instrument)
		buf.Write(raw)
		return svc.Raw{Data: buf.Bytes(), Header: wire.Msgpack.Header()}, nil
	}
	tr, err := decodeTrace(e.c.Instrument, raw)
	if err != nil {
		return nil, rperr.Errorf(rperr.EInternal, "curve %s: stored trace unreadable: %s", r.ID, rperr.ErrorMessage(err))
	}
	d := api.CurveData{Curve: e.c}
	switch t := tr.(type) {
	case *api.ScopeTrace:
		d.Scope = t
	case *api.NATrace:
		d.NA = t
	case *api.Spectrum:
		d.Specan = t
	}
	return d, nil
}

// updateTries bounds the retries of an update that raced another.
const updateTries = 5

func (s *Service) handleUpdate(ctx context.Context, req *svc.Request) (any, error) {
	var u api.CurveUpdate
	if err := req.Decode(&u); err != nil {
		return nil, err
	}
	if err := CheckID("id", u.ID); err != nil {
		return nil, err
	}
	if u.Name != nil {
		if err := checkText("name", *u.Name, MaxNameBytes); err != nil {
			return nil, err
		}
	}
	if u.Tags != nil {
		if err := checkTags("tags", *u.Tags); err != nil {
			return nil, err
		}
	}
	if u.Note != nil {
		if err := checkText("note", *u.Note, MaxNoteBytes); err != nil {
			return nil, err
		}
	}
	if u.Name == nil && u.Tags == nil && u.Note == nil && u.Keep == nil {
		return nil, rperr.Invalidf("name, tags, note, keep: give at least one to change")
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	for try := 0; ; try++ {
		c, kv, err := s.readMeta(ctx, "id", u.ID)
		if err != nil {
			return nil, err
		}
		if u.Name != nil {
			c.Name = *u.Name
		}
		if u.Tags != nil {
			c.Tags = *u.Tags
		}
		if u.Note != nil {
			c.Note = *u.Note
		}
		if u.Keep != nil {
			c.Keep = *u.Keep
		}
		js, err := wire.JSON.Marshal(c)
		if err != nil {
			return nil, rperr.Errorf(rperr.EInternal, "curve %s: encoding metadata: %v", u.ID, err)
		}
		rev, err := s.st.meta.Update(ctx, u.ID, js, kv.Revision())
		if isWrongLast(err) && try < updateTries {
			continue // another update came first: apply ours to it
		}
		if err != nil {
			return nil, unavailable("writing metadata", err)
		}
		en, err := newEntry(c, rev, js)
		if err != nil {
			return nil, rperr.Errorf(rperr.EInternal, "curve %s: %v", u.ID, err)
		}
		s.idx.put(en, false)
		return c, nil
	}
}

func (s *Service) handleDelete(ctx context.Context, req *svc.Request) (any, error) {
	var r api.CurveID
	if err := req.Decode(&r); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if _, err := s.lookup(ctx, "id", r.ID); err != nil {
		return nil, err
	}
	if err := s.st.remove(ctx, r.ID); err != nil {
		return nil, unavailable("deleting", err)
	}
	s.idx.forget(r.ID)
	return api.CurveDeleted{ID: r.ID, Deleted: true}, nil
}
