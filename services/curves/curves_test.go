package curves_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/curves"
	"github.com/rpbus/rpbus/wire"
)

// asMsgpack turns a JSON request into the same request in msgpack.
func asMsgpack(tb testing.TB, js string) []byte {
	tb.Helper()
	v, err := jsonValue([]byte(js))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := wire.Msgpack.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// jsonValue reads JSON with whole numbers as integers, as a msgpack
// client would send them.
func jsonValue(js []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = numbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = numbers(x)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	}
	return v
}

// replyID is what every instrument reply has: its acquisition and curve.
type replyID struct {
	ID    string `json:"id"`
	Curve string `json:"curve"`
}

// decodeLoose reads the id and curve of a reply of either codec.
func decodeLoose(tb testing.TB, m *nats.Msg) replyID {
	tb.Helper()
	var r replyID
	var err error
	if wire.CodecOf(m.Header) == wire.Msgpack {
		var v map[string]any
		err = wire.Msgpack.Unmarshal(m.Data, &v)
		r.ID, _ = v["id"].(string)
		r.Curve, _ = v["curve"].(string)
	} else {
		var v map[string]any
		err = json.Unmarshal(m.Data, &v)
		r.ID, _ = v["id"].(string)
		r.Curve, _ = v["curve"].(string)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// TestSavedBitExact saves a trace of every instrument, with each array
// form the instruments send (14-bit codes, float32, float64), and reads
// each back: in msgpack the stored trace is the reply's bytes, in JSON
// the same numbers; the metadata names what was saved.
func TestSavedBitExact(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &curves.Config{})
	cases := []struct {
		subject, body string
		instrument    string
		dtypes        []string
	}{
		{"rp.sim.scope.single", `{"decimation":1,"save":true,"name":"scope dec 1","tags":["codes"]}`, "scope", []string{"<i2", "<i2"}},
		{"rp.sim.scope.single", `{"decimation":8,"trace_average":2,"save":true,"name":"averaged"}`, "scope", []string{"<f4", "<f4"}},
		{"rp.sim.na.single", `{"start_freq":1e5,"stop_freq":1e6,"points":21,"rbw":10000,"save":true,"name":"bode","tags":["a","b"]}`, "na", []string{"<f8", "<f8", "<f8"}},
		{"rp.sim.specan.single", `{"decimation":64,"trace_average":2,"cross":true,"save":true,"tags":["spectrum"]}`, "specan", []string{"<f8", "<f8", "<f8", "<f8", "<f8"}},
	}
	for _, tc := range cases {
		for _, mp := range []bool{true, false} {
			body := []byte(tc.body)
			if mp {
				body = asMsgpack(t, tc.body)
			}
			reply, err := request(t, e.nc, tc.subject, body, mp)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.subject, tc.body, err)
			}
			id := decodeLoose(t, reply)
			if id.Curve == "" {
				t.Fatalf("%s: the reply carries no curve id", tc.subject)
			}
			got, err := request(t, e.nc, api.CurvesGet, asMsgpack(t, fmt.Sprintf(`{"id":%q}`, id.Curve)), true)
			if err != nil {
				t.Fatalf("get %s: %v", id.Curve, err)
			}
			instrument, raw := storedTrace(t, got.Data)
			if instrument != tc.instrument {
				t.Errorf("get %s: trace under %q, want %q", id.Curve, instrument, tc.instrument)
			}
			if mp && !bytes.Equal(raw, reply.Data) {
				t.Errorf("%s: the stored trace (%d bytes) differs from the msgpack reply (%d bytes)", tc.body, len(raw), len(reply.Data))
			}
			var d api.CurveData
			if err := wire.Msgpack.Unmarshal(got.Data, &d); err != nil {
				t.Fatal(err)
			}
			c := d.Curve
			var dtypes []string
			for _, a := range c.Arrays {
				dtypes = append(dtypes, a.Dtype)
			}
			if c.ID != id.Curve || c.Acquisition != id.ID || c.Board != "sim" || c.Instrument != tc.instrument ||
				c.Saved < c.Ended || c.Bytes != len(raw) || !slices.Equal(dtypes, tc.dtypes) {
				t.Errorf("%s: metadata %+v", tc.body, c)
			}
			if !mp {
				// JSON: the reply's numbers, read back through the store.
				jsGot, err := request(t, e.nc, api.CurvesGet, []byte(fmt.Sprintf(`{"id":%q}`, id.Curve)), false)
				if err != nil {
					t.Fatal(err)
				}
				var whole map[string]json.RawMessage
				if err := json.Unmarshal(jsGot.Data, &whole); err != nil {
					t.Fatal(err)
				}
				if !sameJSON(t, whole[tc.instrument], reply.Data) {
					t.Errorf("%s: the JSON trace read back differs from the JSON reply", tc.body)
				}
			}
		}
	}
}

// sameJSON compares two JSON values number for number.
func sameJSON(tb testing.TB, a, b []byte) bool {
	tb.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// saveScope saves one decimation-1 scope trace and returns its curve.
func saveScope(tb testing.TB, e *env, extra string) (api.ScopeTrace, error) {
	tb.Helper()
	body := `{"decimation":1,"save":true` + extra + `}`
	m, err := request(tb, e.nc, "rp.sim.scope.single", []byte(body), false)
	if err != nil {
		return api.ScopeTrace{}, err
	}
	var tr api.ScopeTrace
	if err := wire.JSON.Unmarshal(m.Data, &tr); err != nil {
		tb.Fatal(err)
	}
	return tr, nil
}

func listAll(tb testing.TB, e *env, q api.CurveQuery) []api.Curve {
	tb.Helper()
	var out []api.Curve
	for {
		l, err := e.c.Curves().List(ctxT(tb, 10*time.Second), q)
		if err != nil {
			tb.Fatalf("list %+v: %v", q, err)
		}
		out = append(out, l.Curves...)
		if l.Next == "" {
			return out
		}
		q.Cursor = l.Next
	}
}

// listPage is the first page of every curve, with the store's figures.
func listPage(tb testing.TB, e *env) api.CurveList {
	tb.Helper()
	l, err := e.c.Curves().List(ctxT(tb, 10*time.Second), api.CurveQuery{})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func ids(cs []api.Curve) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// TestListUpdateDelete saves curves with names and tags, lists them
// through every filter and page by page, newest first, then renames,
// retags, annotates and deletes.
func TestListUpdateDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &curves.Config{})
	var saved []string // oldest first
	for i, extra := range []string{
		`,"name":"run-a1","tags":["x"]`, `,"name":"run-a2","tags":["x","y"]`, `,"name":"run-b1"`,
		`,"name":"other","tags":["y"]`, ``, `,"name":"run-a3"`, `,"tags":["x"]`,
	} {
		tr, err := saveScope(t, e, extra)
		if err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
		saved = append(saved, tr.Curve)
	}
	m, err := request(t, e.nc, "rp.sim.na.single", []byte(`{"points":5,"rbw":10000,"save":true,"name":"run-na","id":"sweep-1"}`), false)
	if err != nil {
		t.Fatal(err)
	}
	naCurve := decodeLoose(t, m).Curve
	all := append(slices.Clone(saved), naCurve)
	slices.Reverse(all) // newest first

	for _, tc := range []struct {
		q    api.CurveQuery
		want []string
	}{
		{api.CurveQuery{}, all},
		{api.CurveQuery{Instrument: "na"}, []string{naCurve}},
		{api.CurveQuery{Instrument: "scope", NamePrefix: "run-a"}, []string{saved[5], saved[1], saved[0]}},
		{api.CurveQuery{Tag: "x"}, []string{saved[6], saved[1], saved[0]}},
		{api.CurveQuery{Tag: "y", NamePrefix: "run"}, []string{saved[1]}},
		{api.CurveQuery{Acquisition: "sweep-1"}, []string{naCurve}},
		{api.CurveQuery{Board: "other"}, nil},
		{api.CurveQuery{Board: "sim", Limit: 3}, all},
	} {
		if got := ids(listAll(t, e, tc.q)); !slices.Equal(got, tc.want) {
			t.Errorf("list %+v: %v, want %v", tc.q, got, tc.want)
		}
	}
	page, err := e.c.Curves().List(ctxT(t, 5*time.Second), api.CurveQuery{Limit: 3})
	if err != nil || len(page.Curves) != 3 || page.Next == "" || page.Store.Curves != len(all) {
		t.Fatalf("first page of 3: %+v, %v", page, err)
	}
	// A time range: what was saved from the third curve to the sixth.
	full := listAll(t, e, api.CurveQuery{})
	byID := map[string]api.Curve{}
	for _, c := range full {
		byID[c.ID] = c
	}
	q := api.CurveQuery{Since: byID[saved[2]].Saved, Until: byID[saved[5]].Saved}
	if got, want := ids(listAll(t, e, q)), []string{saved[4], saved[3], saved[2]}; !slices.Equal(got, want) {
		t.Errorf("since/until: %v, want %v", got, want)
	}

	cs := e.c.Curves()
	name, note, keep, tags := "renamed", "line two\tindented", true, []string{"z"}
	c, err := cs.Update(ctxT(t, 5*time.Second), api.CurveUpdate{ID: saved[0], Name: &name, Note: &note, Keep: &keep, Tags: &tags})
	if err != nil || c.Name != name || c.Note != note || !c.Keep || !slices.Equal(c.Tags, tags) || c.Acquisition == "" {
		t.Fatalf("update: %+v %v", c, err)
	}
	if got := ids(listAll(t, e, api.CurveQuery{Tag: "z"})); !slices.Equal(got, []string{saved[0]}) {
		t.Errorf("after update, tag z: %v", got)
	}
	if got := ids(listAll(t, e, api.CurveQuery{Keep: &keep})); !slices.Equal(got, []string{saved[0]}) {
		t.Errorf("after update, keep: %v", got)
	}
	d, err := cs.Get(ctxT(t, 5*time.Second), saved[0])
	if err != nil || d.Curve.Name != name || d.Scope == nil || len(d.Scope.Ch1) != 16384 || d.Scope.Curve != saved[0] {
		t.Fatalf("get after update: %+v %v", d.Curve, err)
	}

	if err := cs.Delete(ctxT(t, 5*time.Second), saved[3]); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Get(ctxT(t, 5*time.Second), saved[3]); rperr.ErrorCode(err) != rperr.ENotFound {
		t.Errorf("get after delete: %v, want 404", err)
	}
	if err := cs.Delete(ctxT(t, 5*time.Second), saved[3]); rperr.ErrorCode(err) != rperr.ENotFound {
		t.Errorf("delete twice: %v, want 404", err)
	}
	if got := listAll(t, e, api.CurveQuery{}); len(got) != len(all)-1 || slices.Contains(ids(got), saved[3]) {
		t.Errorf("after delete: %v", ids(got))
	}
}

// TestBadInput sends bad requests to every endpoint, and bad save fields
// to every instrument: each gets a 400 naming the field, or a 404, and
// the services keep serving.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &curves.Config{})
	tr, err := saveScope(t, e, `,"name":"good"`)
	if err != nil {
		t.Fatal(err)
	}
	good := tr.Curve
	long := strings.Repeat("n", curves.MaxNameBytes+1)
	var manyTags []string
	for i := 0; i <= curves.MaxTags; i++ {
		manyTags = append(manyTags, fmt.Sprintf("%q", fmt.Sprint("t", i)))
	}
	cases := []struct {
		subject, body string
		code, field   string
	}{
		{api.CurvesSave, `{}`, rperr.EInvalid, "no trace"},
		{api.CurvesSave, `{"curve":{"bored":"x"},"scope":{}}`, rperr.EInvalid, "bored"},
		{api.CurvesSave, `{"scope":{"ch1":"x"}}`, rperr.EInvalid, "ch1"},
		{api.CurvesSave, `{"scope":{},"na":{}}`, rperr.EInvalid, "one trace"},
		{api.CurvesSave, `{"curve":{"id":"a b"},"scope":{}}`, rperr.EInvalid, "curve.id"},
		{api.CurvesSave, `{"curve":{"instrument":"na"},"scope":{}}`, rperr.EInvalid, "curve.instrument"},
		{api.CurvesSave, `{"curve":{"id":"` + good + `"},"scope":{}}`, rperr.EBusy, good},
		{api.CurvesSave, `{"curve":{"tags":[""]},"scope":{}}`, rperr.EInvalid, "curve.tags[0]"},
		{api.CurvesSave, `not json`, rperr.EInvalid, "syntax"},
		{api.CurvesList, `{"limit":-1}`, rperr.EInvalid, "limit"},
		{api.CurvesList, `{"limit":5000}`, rperr.EInvalid, "limit"},
		{api.CurvesList, `{"instrument":"lockin"}`, rperr.EInvalid, "instrument"},
		{api.CurvesList, `{"since":-1}`, rperr.EInvalid, "since"},
		{api.CurvesList, `{"since":100,"until":50}`, rperr.EInvalid, "until"},
		{api.CurvesList, `{"cursor":"junk"}`, rperr.EInvalid, "cursor"},
		{api.CurvesList, `{"tags":"x"}`, rperr.EInvalid, "tags"},
		{api.CurvesList, `{"limit":"ten"}`, rperr.EInvalid, "limit"},
		{api.CurvesGet, `{}`, rperr.EInvalid, "id"},
		{api.CurvesGet, `{"id":"a.b"}`, rperr.EInvalid, "id"},
		{api.CurvesGet, `{"id":"` + strings.Repeat("a", 65) + `"}`, rperr.EInvalid, "id"},
		{api.CurvesGet, `{"id":"nope"}`, rperr.ENotFound, "nope"},
		{api.CurvesGet, `[1,2]`, rperr.EInvalid, "malformed"},
		{api.CurvesUpdate, `{}`, rperr.EInvalid, "id"},
		{api.CurvesUpdate, `{"id":"nope","name":"x"}`, rperr.ENotFound, "nope"},
		{api.CurvesUpdate, `{"id":"` + good + `"}`, rperr.EInvalid, "keep"},
		{api.CurvesUpdate, `{"id":"` + good + `","name":"` + long + `"}`, rperr.EInvalid, "name"},
		{api.CurvesUpdate, `{"id":"` + good + `","tags":[` + strings.Join(manyTags, ",") + `]}`, rperr.EInvalid, "tags"},
		{api.CurvesUpdate, `{"id":"` + good + `","tags":["a","a"]}`, rperr.EInvalid, "tags[1]"},
		{api.CurvesUpdate, `{"id":"` + good + `","note":"bell\u0007"}`, rperr.EInvalid, "note"},
		{api.CurvesUpdate, `{"id":"` + good + `","keep":"yes"}`, rperr.EInvalid, "keep"},
		{api.CurvesDelete, `{}`, rperr.EInvalid, "id"},
		{api.CurvesDelete, `{"id":"nope"}`, rperr.ENotFound, "nope"},
		{api.CurvesDelete, `{"id":"*"}`, rperr.EInvalid, "id"},
		{"rp.sim.scope.single", `{"name":"x"}`, rperr.EInvalid, "save"},
		{"rp.sim.scope.single", `{"save":true,"save_every":2}`, rperr.EInvalid, "save_every"},
		{"rp.sim.scope.single", `{"save":true,"tags":[` + strings.Join(manyTags, ",") + `]}`, rperr.EInvalid, "tags"},
		{"rp.sim.scope.single", `{"save":true,"name":"` + long + `"}`, rperr.EInvalid, "name"},
		{"rp.sim.scope.continuous", `{"save_every":-1}`, rperr.EInvalid, "save_every"},
		{"rp.sim.na.single", `{"tags":["x"],"points":3}`, rperr.EInvalid, "save"},
		{"rp.sim.na.single", `{"save":true,"tags":[""],"points":3}`, rperr.EInvalid, "tags[0]"},
		{"rp.sim.specan.single", `{"name":"x"}`, rperr.EInvalid, "save"},
		{"rp.sim.specan.single", `{"save":true,"save_every":3}`, rperr.EInvalid, "save_every"},
	}
	for _, tc := range cases {
		for _, mp := range []bool{false, true} {
			body := []byte(tc.body)
			if mp {
				v, jerr := jsonValue(body)
				if jerr != nil {
					body = []byte{0xc1} // never used in msgpack
					if tc.code != rperr.EInvalid {
						continue
					}
				} else if body, err = wire.Msgpack.Marshal(v); err != nil {
					t.Fatal(err)
				}
			}
			_, err := request(t, e.nc, tc.subject, body, mp)
			field := tc.field
			if mp && field == "syntax" {
				field = "malformed" // JSON's syntax error is no msgpack's
			}
			wantCode(t, fmt.Sprintf("%s %s (msgpack %v)", tc.subject, tc.body, mp), err, tc.code, field)
		}
	}
	// Still serving: the stored curve is listed and read, another saved.
	if l := listAll(t, e, api.CurveQuery{}); len(l) != 1 || l[0].ID != good {
		t.Errorf("after bad input: %v", ids(l))
	}
	if _, err := saveScope(t, e, ""); err != nil {
		t.Errorf("save after bad input: %v", err)
	}
}

// TestSaveWithoutStore: saving with no curve store running fails the
// acquisition with a 503 that says what to start; not saving works.
func TestSaveWithoutStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, subject := range []string{"rp.sim.scope.single", "rp.sim.na.single", "rp.sim.specan.single", "rp.sim.scope.continuous"} {
		body := `{"save":true}`
		if strings.Contains(subject, "na") {
			body = `{"save":true,"points":3,"rbw":10000}`
		}
		_, err := request(t, e.nc, subject, []byte(body), false)
		wantCode(t, subject, err, rperr.EUnavailable, "rpbus curves")
	}
	if _, err := request(t, e.nc, "rp.sim.scope.single", []byte(`{}`), false); err != nil {
		t.Errorf("a single that does not save: %v", err)
	}
}

// TestEviction fills a 1 MiB store with scope traces: the oldest curves
// not marked keep go first, in order, the kept ones stay, and once only
// kept curves are left a save fails the acquisition with a clear error.
func TestEviction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &curves.Config{MaxBytes: curves.MinMaxBytes})
	var saved []string
	for {
		tr, err := saveScope(t, e, fmt.Sprintf(`,"name":"n%02d"`, len(saved)))
		if err != nil {
			t.Fatal(err)
		}
		saved = append(saved, tr.Curve)
		if len(listAll(t, e, api.CurveQuery{Limit: 1000})) < len(saved) {
			break // the first eviction
		}
		if len(saved) > 100 {
			t.Fatal("100 traces of 64 KiB in a 1 MiB store, and no eviction")
		}
	}
	capacity := len(saved) - 1
	t.Logf("%d decimation-1 scope traces fit in %d bytes", capacity, curves.MinMaxBytes)
	if capacity < 10 {
		t.Fatalf("only %d traces of 64 KiB fit in 1 MiB", capacity)
	}
	present := func() []string {
		var out []string
		for _, c := range listAll(t, e, api.CurveQuery{}) {
			out = append([]string{c.ID}, out...) // oldest first
		}
		return out
	}
	if got := present(); !slices.Equal(got, saved[1:]) {
		t.Fatalf("after the first eviction: %v, want all but the oldest", got)
	}
	// Keep the two oldest left; the next saves take the ones after them.
	keep := true
	for _, id := range saved[1:3] {
		if _, err := e.c.Curves().Update(ctxT(t, 5*time.Second), api.CurveUpdate{ID: id, Keep: &keep}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		tr, err := saveScope(t, e, "")
		if err != nil {
			t.Fatal(err)
		}
		saved = append(saved, tr.Curve)
		want := append(slices.Clone(saved[1:3]), saved[4+i:]...)
		if got := present(); !slices.Equal(got, want) {
			t.Fatalf("save %d with two kept: %v, want %v", i, got, want)
		}
	}
	if st := listPage(t, e).Store; st.Bytes > st.MaxBytes || st.Kept != 2 {
		t.Errorf("stats %+v", st)
	}
	// Keep everything: a save then has no room, and says so.
	for _, id := range present() {
		if _, err := e.c.Curves().Update(ctxT(t, 5*time.Second), api.CurveUpdate{ID: id, Keep: &keep}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := saveScope(t, e, "")
	wantCode(t, "save into a store of kept curves", err, rperr.EUnavailable, "every curve is marked keep")
	if len(present()) != capacity {
		t.Errorf("a refused save changed the store: %d curves", len(present()))
	}
	// Unkeep one: the next save takes its place.
	unkeep := false
	if _, err := e.c.Curves().Update(ctxT(t, 5*time.Second), api.CurveUpdate{ID: saved[len(saved)-1], Keep: &unkeep}); err != nil {
		t.Fatal(err)
	}
	tr, err := saveScope(t, e, "")
	if err != nil {
		t.Fatalf("save after unkeeping one: %v", err)
	}
	if got := present(); slices.Contains(got, saved[len(saved)-1]) || !slices.Contains(got, tr.Curve) {
		t.Errorf("after unkeeping one: %v", got)
	}
}

// TestRequesterGone: clients that disconnect in the middle of a saving
// acquisition (a sweep, an averaged trace) leave curves that another
// client finds by acquisition id.
func TestRequesterGone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &curves.Config{})
	for _, tc := range []struct{ subject, body, progress string }{
		{"rp.sim.na.single", `{"id":"gone-sweep","start_freq":1e5,"stop_freq":1e6,"points":101,"rbw":1000,"save":true,"name":"left behind"}`, "rp.sim.na.progress"},
		{"rp.sim.specan.single", `{"id":"gone-spectrum","decimation":1024,"trace_average":30,"save":true}`, "rp.sim.specan.progress"},
	} {
		var req map[string]any
		_ = json.Unmarshal([]byte(tc.body), &req)
		id := req["id"].(string)
		gone := natstest.Connect(t, e.ns)
		progress, err := e.nc.SubscribeSync(tc.progress)
		if err != nil {
			t.Fatal(err)
		}
		if err := gone.PublishRequest(tc.subject, gone.NewRespInbox(), []byte(tc.body)); err != nil {
			t.Fatal(err)
		}
		if err := gone.Flush(); err != nil {
			t.Fatal(err)
		}
		// Mid-acquisition: it has reported progress and not finished.
		if _, err := progress.NextMsg(20 * time.Second); err != nil {
			t.Fatalf("%s: no progress: %v", id, err)
		}
		_ = progress.Unsubscribe()
		if l := listAll(t, e, api.CurveQuery{Acquisition: id}); len(l) != 0 {
			t.Fatalf("%s: stored before its end", id)
		}
		gone.Close()
		var found []api.Curve
		waitFor(t, 30*time.Second, id+" in the store", func() bool {
			found = listAll(t, e, api.CurveQuery{Acquisition: id})
			return len(found) == 1
		})
		d, err := e.c.Curves().Get(ctxT(t, 5*time.Second), found[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case d.NA != nil:
			if len(d.NA.Re) != 101 || d.NA.ID != id || d.Curve.Name != "left behind" {
				t.Errorf("%s: %d points, id %s, name %q", id, len(d.NA.Re), d.NA.ID, d.Curve.Name)
			}
		case d.Specan != nil:
			if d.Specan.Traces != 30 || d.Specan.ID != id {
				t.Errorf("%s: %d traces, id %s", id, d.Specan.Traces, d.Specan.ID)
			}
		default:
			t.Errorf("%s: no trace", id)
		}
	}
}

// TestContinuousSaveEvery stores one continuous trace in three: the
// published traces 1, 4, 7 ... carry curve ids, and the stored bytes are
// the published ones.
func TestContinuousSaveEvery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &curves.Config{})
	traces, err := e.nc.SubscribeSync("rp.sim.scope.trace")
	if err != nil {
		t.Fatal(err)
	}
	m, err := request(t, e.nc, "rp.sim.scope.continuous", []byte(`{"decimation":64,"save_every":3,"name":"cont","tags":["c"]}`), false)
	if err != nil {
		t.Fatal(err)
	}
	var r api.ContinuousReply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		t.Fatal(err)
	}
	published := map[string][]byte{}
	for n := 0; n < 8; {
		msg, err := traces.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var tr api.ScopeTrace
		if err := wire.Msgpack.Unmarshal(msg.Data, &tr); err != nil {
			t.Fatal(err)
		}
		if tr.ID != r.ID {
			continue
		}
		n++
		if saved := tr.Curve != ""; saved != ((tr.Seq-1)%3 == 0) || msg.Header.Get(curves.ErrorHeader) != "" {
			t.Errorf("trace %d: curve %q, error header %q", tr.Seq, tr.Curve, msg.Header.Get(curves.ErrorHeader))
		}
		if tr.Curve != "" {
			published[tr.Curve] = msg.Data
		}
	}
	if _, err := e.c.Board("sim").Scope().Stop(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	stored := listAll(t, e, api.CurveQuery{Acquisition: r.ID})
	if len(stored) < len(published) || len(published) < 2 {
		t.Fatalf("%d published with curve ids, %d stored", len(published), len(stored))
	}
	for id, data := range published {
		got, err := request(t, e.nc, api.CurvesGet, asMsgpack(t, fmt.Sprintf(`{"id":%q}`, id)), true)
		if err != nil {
			t.Fatal(err)
		}
		if _, raw := storedTrace(t, got.Data); !bytes.Equal(raw, data) {
			t.Errorf("curve %s: stored bytes differ from the published trace", id)
		}
	}
	if c := stored[0]; c.Name != "cont" || !slices.Equal(c.Tags, []string{"c"}) || c.Seq == 0 {
		t.Errorf("continuous curve metadata %+v", c)
	}
}

// TestInstancesAgree runs two store instances: whichever saves, updates
// or deletes, both indexes follow through the bucket's watch, and a new
// instance loads what is there.
func TestInstancesAgree(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &curves.Config{})
	second := e.startCurves(t, curves.Config{})
	var saved []string
	for i := 0; i < 6; i++ {
		tr, err := saveScope(t, e, "")
		if err != nil {
			t.Fatal(err)
		}
		saved = append(saved, tr.Curve)
	}
	both := func(n, kept int) func() bool {
		return func() bool {
			a, b := e.curves.Stats(), second.Stats()
			return a.Curves == n && b.Curves == n && a.Kept == kept && b.Kept == kept && a.Bytes == b.Bytes
		}
	}
	waitFor(t, 10*time.Second, "both instances with 6 curves", both(6, 0))
	keep := true
	for _, id := range saved[:2] {
		if _, err := e.c.Curves().Update(ctxT(t, 5*time.Second), api.CurveUpdate{ID: id, Keep: &keep}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.c.Curves().Delete(ctxT(t, 5*time.Second), saved[5]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "both instances with 5 curves, 2 kept", both(5, 2))
	third := e.startCurves(t, curves.Config{})
	if st := third.Stats(); st.Curves != 5 || st.Kept != 2 {
		t.Errorf("a new instance loaded %+v", st)
	}
}

// TestUpload stores a trace a client holds (here one read back in JSON,
// its curve id taken off) through rp.curves.save, in JSON and msgpack.
func TestUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &curves.Config{})
	m, err := request(t, e.nc, "rp.sim.na.single", []byte(`{"points":7,"rbw":10000,"save":true}`), false)
	if err != nil {
		t.Fatal(err)
	}
	orig := decodeLoose(t, m).Curve
	d, err := e.c.Curves().Get(ctxT(t, 5*time.Second), orig)
	if err != nil {
		t.Fatal(err)
	}
	d.NA.Curve = ""
	for _, mp := range []bool{false, true} {
		codec := wire.JSON
		if mp {
			codec = wire.Msgpack
		}
		body, err := codec.Marshal(map[string]any{"curve": map[string]any{"name": "copy", "tags": []string{"upload"}, "keep": true}, "na": d.NA})
		if err != nil {
			t.Fatal(err)
		}
		reply, err := request(t, e.nc, api.CurvesSave, body, mp)
		if err != nil {
			t.Fatalf("upload (msgpack %v): %v", mp, err)
		}
		var c api.Curve
		if err := codec.Unmarshal(reply.Data, &c); err != nil {
			t.Fatal(err)
		}
		got, err := e.c.Curves().Get(ctxT(t, 5*time.Second), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID == orig || !got.Curve.Keep || got.Curve.Name != "copy" || got.NA == nil ||
			!slices.Equal(got.NA.Re, d.NA.Re) || !slices.Equal(got.NA.Frequencies, d.NA.Frequencies) || got.Curve.Acquisition != d.NA.ID {
			t.Errorf("uploaded (msgpack %v): %+v", mp, got.Curve)
		}
	}
}

// TestShrink restarts the store with a smaller MaxBytes: it starts, and
// the oldest curves not marked keep go until the store fits.
func TestShrink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &curves.Config{MaxBytes: 4 << 20})
	var saved []string
	for i := 0; i < 30; i++ {
		tr, err := saveScope(t, e, "")
		if err != nil {
			t.Fatal(err)
		}
		saved = append(saved, tr.Curve)
	}
	keep := true
	if _, err := e.c.Curves().Update(ctxT(t, 5*time.Second), api.CurveUpdate{ID: saved[0], Keep: &keep}); err != nil {
		t.Fatal(err)
	}
	if err := e.curves.Stop(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	small := e.startCurves(t, curves.Config{MaxBytes: curves.MinMaxBytes})
	waitFor(t, 20*time.Second, "the store under its new limit", func() bool {
		st := small.Stats()
		return st.Bytes <= st.MaxBytes && st.Curves > 0
	})
	have := ids(listAll(t, e, api.CurveQuery{}))
	if !slices.Contains(have, saved[0]) || !slices.Contains(have, saved[len(saved)-1]) || slices.Contains(have, saved[1]) {
		t.Errorf("after shrinking: kept %v; want the kept oldest and the newest, not the second", have)
	}
	if _, err := saveScope(t, e, ""); err != nil {
		t.Errorf("save after shrinking: %v", err)
	}
}

// TestSavedBy: a curve records the user whose client asked for it (its
// reply inbox _INBOX_<user>, which deploy/'s accounts give each user
// alone), whatever the client claims, and list filters by it.
func TestSavedBy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &curves.Config{})
	alice := natstest.Connect(t, e.ns, nats.CustomInboxPrefix("_INBOX_alice"))
	var want []string // alice's curves, newest first
	for _, r := range []struct{ subject, body string }{
		{"rp.sim.scope.single", `{"decimation":1,"save":true}`},
		{"rp.sim.na.single", `{"points":5,"rbw":10000,"save":true}`},
		{"rp.sim.specan.single", `{"decimation":8,"trace_average":1,"save":true}`},
	} {
		m, err := request(t, alice, r.subject, []byte(r.body), false)
		if err != nil {
			t.Fatalf("%s: %v", r.subject, err)
		}
		want = append([]string{decodeLoose(t, m).Curve}, want...)
	}
	anon, err := saveScope(t, e, "") // the default _INBOX: no user
	if err != nil {
		t.Fatal(err)
	}
	// An upload that claims another user is stored as alice's.
	d, err := e.c.Curves().Get(ctxT(t, 5*time.Second), anon.Curve)
	if err != nil {
		t.Fatal(err)
	}
	d.Scope.Curve = ""
	body, err := wire.JSON.Marshal(map[string]any{"curve": map[string]any{"name": "claimed", "user": "bob"}, "scope": d.Scope})
	if err != nil {
		t.Fatal(err)
	}
	m, err := request(t, alice, api.CurvesSave, body, false)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	var up api.Curve
	if err := wire.JSON.Unmarshal(m.Data, &up); err != nil {
		t.Fatal(err)
	}
	want = append([]string{up.ID}, want...)
	if got := ids(listAll(t, e, api.CurveQuery{User: "alice"})); !slices.Equal(got, want) {
		t.Errorf("list user alice: %v, want %v", got, want)
	}
	if got := listAll(t, e, api.CurveQuery{User: "bob"}); len(got) != 0 {
		t.Errorf("list user bob: %v, want none", ids(got))
	}
	for _, c := range listAll(t, e, api.CurveQuery{}) {
		wantUser := "alice"
		if c.ID == anon.Curve {
			wantUser = ""
		}
		if c.User != wantUser {
			t.Errorf("curve %s (%s): user %q, want %q", c.ID, c.Instrument, c.User, wantUser)
		}
	}
}
