package chaos

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/internal/num"
	"github.com/rpbus/rpbus/wire"
)

// An endpoint under fuzz: a valid, quick body and its fields by kind
// ('s' string, 'i' integer, 'f' number, 'b' boolean).
type endpoint struct {
	verb    string // module.verb: rp.<board>.<verb>
	subject string // the subject when it is not rp.<board>.<verb> (the curve store's)
	user    string // who may call it
	base    map[string]any
	fields  map[string]byte
	// op, for hw.txn: the fields of ops[0], mutated there.
	op    map[string]byte
	bound time.Duration // the longest a reply may take
	after string        // a verb to call when done (scope.stop after continuous)
}

var endpoints = []endpoint{
	{verb: "hw.txn", user: "instruments", base: map[string]any{"ops": []any{map[string]any{"op": "read", "addr": 0x40100000, "n": 1}}},
		fields: map[string]byte{"id": 's'},
		op:     map[string]byte{"op": 's', "addr": 'i', "n": 'i', "width": 'i', "words": 'a', "mask": 'i', "value": 'i', "timeout": 'f', "earliest": 'f'},
		bound:  10 * time.Second},
	{verb: "hw.info", user: "operator", base: map[string]any{}, bound: 5 * time.Second},
	{verb: "hw.cancel", user: "instruments", base: map[string]any{"id": "nothing-runs"}, fields: map[string]byte{"id": 's'}, bound: 5 * time.Second},
	{verb: "asg0.setup", user: "operator", base: map[string]any{"frequency": 1000.0}, fields: asgFields, bound: 5 * time.Second},
	{verb: "asg1.setup", user: "operator", base: map[string]any{"frequency": 1000.0}, fields: asgFields, bound: 5 * time.Second},
	{verb: "scope.single", user: "operator", base: map[string]any{"decimation": 1, "timeout": 1.0}, fields: scopeFields, bound: 30 * time.Second},
	{verb: "scope.continuous", user: "operator", base: map[string]any{"decimation": 1}, fields: scopeFields, bound: 10 * time.Second, after: "scope.stop"},
	{verb: "scope.cancel", user: "operator", base: map[string]any{"id": "nothing-runs"}, fields: map[string]byte{"id": 's'}, bound: 5 * time.Second},
	{verb: "scope.stop", user: "operator", base: map[string]any{}, bound: 5 * time.Second},
	{verb: "na.single", user: "operator", base: map[string]any{"start_freq": 1e5, "stop_freq": 2e5, "points": 5, "rbw": 1e4, "timeout": 2.0},
		fields: map[string]byte{"id": 's', "start_freq": 'f', "stop_freq": 'f', "points": 'i', "rbw": 'f', "average_per_point": 'i', "amplitude": 'f',
			"input": 's', "output_direct": 's', "acbandwidth": 'f', "logscale": 'b', "auto_bandwidth": 'b', "q_factor_min": 'f', "trace_average": 'i', "timeout": 'f', "no_wait": 'b'},
		bound: 30 * time.Second},
	{verb: "na.cancel", user: "operator", base: map[string]any{"id": "nothing-runs"}, fields: map[string]byte{"id": 's'}, bound: 5 * time.Second},
	{verb: "na.stop", user: "operator", base: map[string]any{}, bound: 5 * time.Second},
	{verb: "specan.single", user: "operator", base: map[string]any{"decimation": 8, "trace_average": 1, "timeout": 2.0},
		fields: map[string]byte{"id": 's', "span": 'f', "decimation": 'i', "input1": 's', "input2": 's', "window": 's', "trace_average": 'i', "unit": 's', "cross": 'b', "timeout": 'f'},
		bound:  30 * time.Second},
	{verb: "specan.cancel", user: "operator", base: map[string]any{"id": "nothing-runs"}, fields: map[string]byte{"id": 's'}, bound: 5 * time.Second},
	{verb: "specan.stop", user: "operator", base: map[string]any{}, bound: 5 * time.Second},
	{verb: "curves.list", subject: api.CurvesList, user: "operator", base: map[string]any{"limit": 10},
		fields: map[string]byte{"board": 's', "instrument": 's', "name_prefix": 's', "tag": 's', "user": 's', "acquisition": 's',
			"since": 'f', "until": 'f', "keep": 'b', "limit": 'i', "cursor": 's'},
		bound: 5 * time.Second},
	{verb: "curves.get", subject: api.CurvesGet, user: "operator", base: map[string]any{"id": "nothing-stored"}, fields: map[string]byte{"id": 's'}, bound: 5 * time.Second},
	{verb: "curves.update", subject: api.CurvesUpdate, user: "operator", base: map[string]any{"id": "nothing-stored", "note": "n"},
		fields: map[string]byte{"id": 's', "name": 's', "note": 's', "keep": 'b'}, bound: 5 * time.Second},
	{verb: "curves.delete", subject: api.CurvesDelete, user: "operator", base: map[string]any{"id": "nothing-stored"}, fields: map[string]byte{"id": 's'}, bound: 5 * time.Second},
}

var asgFields = map[string]byte{"waveform": 's', "frequency": 'f', "amplitude": 'f', "offset": 'f', "start_phase": 'f', "output_direct": 's',
	"trigger_source": 's', "cycles_per_burst": 'i', "bursts": 'i', "delay_between_bursts": 'f'}

var scopeFields = map[string]byte{"id": 's', "input1": 's', "input2": 's', "duration": 'f', "decimation": 'i', "trigger_source": 's',
	"threshold": 'f', "hysteresis": 'f', "trigger_delay": 'f', "average": 'b', "trace_average": 'i', "timeout": 'f'}

// raw is a JSON token written as it is (1e400, NaN): what a JSON encoder
// will not produce but a hand-written request may hold.
type raw string

// badValues are what a field of each kind is given instead of a value.
func badValues(kind byte) []any {
	common := []any{map[string]any{"x": 1}, []any{1, 2}}
	big := strings.Repeat("x", 10_000)
	switch kind {
	case 's':
		return append(common, 12345, true, 1e308, big, "\x00zz", "ünïcödé", raw("\"\\ud800\""))
	case 'b':
		return append(common, "true", 1, 0.0, "yes")
	case 'a':
		return append(common[:1], "zz", 7, []any{-1}, []any{1.5}, []any{"x"}, []any{uint64(math.MaxUint64)})
	}
	return append(common, "zz", true, 1e308, -1e308, uint64(math.MaxUint64), int64(math.MinInt64), 0.5, -1, 1e20,
		math.NaN(), math.Inf(1), raw("1e400"), raw("123456789012345678901234567890"), raw("-0"), big)
}

// notJSON says whether v has no JSON form (NaN, infinities): the body is
// then malformed rather than wrong in one field.
func notJSON(v any) bool {
	f, ok := v.(float64)
	return ok && !num.Finite(f)
}

// payload is one bad request body.
type payload struct {
	data   []byte
	codec  wire.Codec
	fields []string // a 400 must name one of these; none for malformed bodies
	what   string
}

// encode writes body in codec; raw values go into JSON as written, and
// into msgpack as the number they spell (or as a string).
func encode(body map[string]any, codec wire.Codec) ([]byte, error) {
	if codec == wire.Msgpack {
		return msgpack.Marshal(mapLeaves(body, func(v any) any {
			if x, ok := v.(raw); ok {
				var f float64
				if _, err := fmt.Sscan(string(x), &f); err == nil {
					return f
				}
				return string(x)
			}
			return v
		}))
	}
	// Raw tokens (and NaN, infinities, which JSON cannot hold) go in as
	// placeholder strings, replaced in the text afterwards.
	repl := map[string]string{}
	withPlaceholders := mapLeaves(body, func(v any) any {
		x, ok := v.(raw)
		if f, isFloat := v.(float64); isFloat && notJSON(f) {
			x, ok = raw(fmt.Sprint(f)), true
		}
		if !ok {
			return v
		}
		k := fmt.Sprintf("\x01RAW%d\x01", len(repl))
		repl[`"`+strings.ReplaceAll(k, "\x01", `\u0001`)+`"`] = string(x)
		return k
	})
	b, err := json.Marshal(withPlaceholders)
	if err != nil {
		return nil, err
	}
	s := string(b)
	for k, v := range repl {
		s = strings.ReplaceAll(s, k, v)
	}
	return []byte(s), nil
}

// mapLeaves copies v, maps and arrays deeply, with f applied to every
// other value.
func mapLeaves(v any, f func(any) any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = mapLeaves(e, f)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = mapLeaves(e, f)
		}
		return a
	}
	return f(v)
}

// clone copies a body deeply enough to mutate it.
func clone(v any) any { return mapLeaves(v, func(v any) any { return v }) }

// payloads makes at least n bad bodies for ep in codec, always the same
// for the same endpoint: every field with every bad value of its kind,
// unknown fields, names in the wrong case, fields given twice, malformed
// and truncated bodies, then random combinations.
func payloads(ep endpoint, codec wire.Codec, n int) []payload {
	h := fnv.New64a()
	h.Write([]byte(ep.verb + codec.String()))
	rng := rand.New(rand.NewPCG(h.Sum64(), 16))
	var out []payload
	add := func(body map[string]any, what string, fields ...string) {
		data, err := encode(body, codec)
		if err != nil {
			return
		}
		out = append(out, payload{data: data, codec: codec, fields: fields, what: what})
	}
	// set puts v at a field's path: "x" or "ops[0].x".
	type target struct {
		path string
		kind byte
		set  func(body map[string]any, v any)
	}
	var targets []target
	for _, f := range sortedKeys(ep.fields) {
		targets = append(targets, target{f, ep.fields[f], func(b map[string]any, v any) { b[f] = v }})
	}
	for _, f := range sortedKeys(ep.op) {
		targets = append(targets, target{"ops[0]." + f, ep.op[f], func(b map[string]any, v any) {
			b["ops"].([]any)[0].(map[string]any)[f] = v
		}})
	}
	for _, t := range targets {
		for _, v := range badValues(t.kind) {
			b := clone(ep.base).(map[string]any)
			t.set(b, v)
			if codec == wire.JSON && notJSON(v) {
				add(b, fmt.Sprintf("%s = %v (not JSON)", t.path, v)) // a syntax error, of no field
				continue
			}
			add(b, fmt.Sprintf("%s = %.40v", t.path, v), t.path)
		}
		// the name in another case
		b := clone(ep.base).(map[string]any)
		name := t.path[strings.LastIndexByte(t.path, '.')+1:]
		wrong := strings.ToUpper(name[:1]) + name[1:]
		if strings.HasPrefix(t.path, "ops[0].") {
			b["ops"].([]any)[0].(map[string]any)[wrong] = 1
		} else {
			b[wrong] = 1
		}
		add(b, "field "+wrong, wrong)
	}
	for i := range 8 {
		b := clone(ep.base).(map[string]any)
		key := fmt.Sprintf("bogus_%d", i)
		b[key] = i
		add(b, "unknown field "+key, key)
	}
	// malformed bodies, which name no field
	valid, _ := encode(ep.base, codec)
	for _, m := range malformed(valid, codec) {
		out = append(out, payload{data: m, codec: codec, what: "malformed"})
	}
	if codec == wire.JSON && len(ep.fields) > 0 {
		f := sortedKeys(ep.fields)[0]
		out = append(out, payload{data: []byte(`{"` + f + `":1,"` + f + `":2}`), codec: codec, fields: []string{f}, what: "field twice"})
	}
	// random combinations up to n
	for len(out) < n {
		b := clone(ep.base).(map[string]any)
		var names []string
		for range 1 + rng.IntN(3) {
			if len(targets) == 0 || rng.IntN(4) == 0 {
				key := fmt.Sprintf("x%d", rng.IntN(1000))
				b[key] = rng.Float64()
				names = append(names, key)
				continue
			}
			t := targets[rng.IntN(len(targets))]
			vals := badValues(t.kind)
			v := vals[rng.IntN(len(vals))]
			t.set(b, v)
			if codec == wire.JSON && notJSON(v) {
				names = nil // a syntax error names no field
				break
			}
			names = append(names, t.path)
		}
		if rng.IntN(5) == 0 {
			data, err := encode(b, codec)
			if err == nil && len(data) > 2 {
				cut := 1 + rng.IntN(len(data)-1)
				out = append(out, payload{data: data[:cut], codec: codec, what: "truncated combination"})
				continue
			}
		}
		add(b, "combination "+strings.Join(names, ","), names...)
	}
	return out
}

// malformed bodies: truncations, random bytes, trailing data, the wrong
// top-level types, deep nesting, 900 KB of one string.
func malformed(valid []byte, codec wire.Codec) [][]byte {
	var out [][]byte
	for _, cut := range []int{1, len(valid) / 2, len(valid) - 1} {
		if cut > 0 && cut < len(valid) {
			out = append(out, valid[:cut])
		}
	}
	rng := rand.New(rand.NewPCG(uint64(len(valid)), uint64(codec)))
	for i := range 6 {
		b := make([]byte, 1+rng.IntN(64)+i*100)
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		out = append(out, b)
	}
	big := map[string]any{"zz": strings.Repeat("y", 900_000)}
	if codec == wire.Msgpack {
		for _, v := range []any{[]any{1, 2}, "x", 7, true, big} {
			b, _ := msgpack.Marshal(v)
			out = append(out, b)
		}
		out = append(out, append(append([]byte{}, valid...), 0xc0, 0xc1), []byte{0xc1}, []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, []byte{0xdd, 0x7f, 0xff, 0xff, 0xff})
		deep := []byte{}
		for range 500 {
			deep = append(deep, 0x91)
		}
		return append(out, append(deep, 0x01))
	}
	bigJSON, _ := json.Marshal(big)
	out = append(out, []byte(`[1,2]`), []byte(`"x"`), []byte(`7`), []byte(`true`), append(append([]byte{}, valid...), []byte(` {"x":1}`)...),
		[]byte(`{"a":`), []byte(`{'a':1}`), []byte(`{"a" 1}`), bigJSON, []byte(strings.Repeat("[", 500)+strings.Repeat("]", 500)))
	return out
}

func sortedKeys(m map[string]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// a fixed order, so the same payloads every run
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// fuzz sends n bad payloads in each encoding to each endpoint, 8 at a
// time, and checks every reply: exactly one, none a 500, and every 400 of
// a payload that targets a field naming it.
func (s *Suite) fuzz(d *deployment, n int) []*Row {
	var rows []*Row
	conns := map[string]*nats.Conn{}
	for _, user := range []string{"operator", "instruments"} {
		nc, err := d.connect(user, 0)
		if err != nil {
			r := newRow("fuzz: connect")
			r.problem("%s: %v", user, err)
			return []*Row{r}
		}
		defer nc.Close()
		conns[user] = nc
	}
	for _, ep := range endpoints {
		row := newRow("fuzz " + ep.verb)
		t := &tally{row: row}
		named, targeted := 0, 0
		var mu sync.Mutex
		subject := "rp." + Board + "." + ep.verb
		if ep.subject != "" {
			subject = ep.subject
		}
		for _, codec := range []wire.Codec{wire.JSON, wire.Msgpack} {
			ps := payloads(ep, codec, n)
			work := make(chan payload)
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for p := range work {
						r := t.ask(conns[ep.user], subject, p.data, p.codec.Header(), ep.bound)
						if r.msg == nil {
							continue
						}
						msg := r.msg.Header.Get(micro.ErrorHeader)
						mu.Lock()
						switch {
						case r.code == "500":
							row.problem("%s %s: 500 %s", codec, p.what, msg)
						case r.code == "400" && len(p.fields) > 0:
							targeted++
							if namesOne(msg, p.fields) {
								named++
							} else {
								row.problem("%s %s: the 400 %q names none of %v", codec, p.what, msg, p.fields)
							}
						}
						mu.Unlock()
					}
				}()
			}
			for _, p := range ps {
				work <- p
			}
			close(work)
			wg.Wait()
		}
		t.close(200 * time.Millisecond)
		if ep.after != "" {
			_, _ = conns[ep.user].Request("rp."+Board+"."+ep.after, nil, 5*time.Second)
		}
		row.Note = fmt.Sprintf("%d per encoding; field-specific 400s naming their field %d/%d", n, named, targeted)
		s.checkCrashes(d, row)
		rows = append(rows, row)
		s.progress(row)
	}
	return rows
}

// namesOne says whether a message names one of the fields: the path, or
// its last part after the path's array index (a message may name ops[0]
// and then the field). A field counts only as a whole word: "id" inside
// "invalid" names nothing.
func namesOne(msg string, fields []string) bool {
	for _, f := range fields {
		for rest, at := msg, 0; f != ""; {
			i := strings.Index(rest, f)
			if i < 0 {
				break
			}
			start, end := at+i, at+i+len(f)
			if (start == 0 || !wordByte(msg[start-1])) && (end == len(msg) || !wordByte(msg[end])) {
				return true
			}
			rest, at = msg[start+1:], start+1
		}
	}
	return false
}

// wordByte says whether c may be part of a field's name.
func wordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
