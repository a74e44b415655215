package wire

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rpbus/rpbus/rperr"
)

// settings stands for a request type: the kinds of field requests have.
type settings struct {
	ID         string   `json:"id,omitempty"`
	Decimation int      `json:"decimation,omitempty"`
	Small      int8     `json:"small,omitempty"`
	Mask       uint32   `json:"mask,omitempty"`
	Offset     float64  `json:"offset,omitempty"`
	Gain       float32  `json:"gain,omitempty"`
	Average    *bool    `json:"average,omitempty"`
	Amplitude  *float64 `json:"amplitude,omitempty"`
	Words      U32      `json:"words,omitempty"`
	Ops        []op     `json:"ops,omitempty"`
	Trigger    string   `json:"trigger_source,omitempty" alias:"trigger"`
	timing
}

type op struct {
	Op   string `json:"op"`
	N    int    `json:"n,omitempty"`
	Mask uint32 `json:"mask,omitempty"`
}

type timing struct {
	Started float64 `json:"started,omitempty"`
}

// both encodes v in JSON and in msgpack (through a generic value, as a
// Python or JS client would send it).
func both(t *testing.T, v any) map[Codec][]byte {
	t.Helper()
	j, err := JSON.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	enc.UseCompactFloats(true)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return map[Codec][]byte{JSON: j, Msgpack: buf.Bytes()}
}

// wantInvalid decodes data with c into a settings and wants a 400 whose
// message holds every part.
func wantInvalid(t *testing.T, c Codec, data []byte, parts ...string) {
	t.Helper()
	var s settings
	err := c.Unmarshal(data, &s)
	if rperr.ErrorCode(err) != rperr.EInvalid {
		t.Errorf("%v %q: got %v, want invalid", c, data, err)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%v %q: %q does not say %q", c, data, err, p)
		}
	}
}

func TestStrictRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value any
		parts []string
	}{
		{"unknown field", map[string]any{"decimaton": 8}, []string{`unknown field "decimaton"`}},
		{"nested unknown field", map[string]any{"ops": []any{map[string]any{"op": "read", "words": 1}}}, []string{`ops[0]: unknown field "words"`}},
		{"case", map[string]any{"ID": "x"}, []string{`unknown field "ID"`, `"id"`}},
		{"int too large", map[string]any{"decimation": 1e308}, []string{"decimation:", "outside"}},
		{"int8 range", map[string]any{"small": 300}, []string{"small: 300 is outside -128..127"}},
		{"negative unsigned", map[string]any{"mask": -1}, []string{"mask: -1 is outside 0..4294967295"}},
		{"uint32 range", map[string]any{"mask": uint64(1) << 40}, []string{"mask:", "outside 0..4294967295"}},
		{"fraction for an integer", map[string]any{"decimation": 64.5}, []string{"decimation: want a whole number, got 64.5"}},
		{"string for an integer", map[string]any{"decimation": "64"}, []string{"decimation: want an integer, got a string"}},
		{"number for a string", map[string]any{"id": 3}, []string{"id: want a string, got"}},
		{"object for a bool", map[string]any{"average": map[string]any{}}, []string{"average: want true or false, got an object"}},
		{"float32 range", map[string]any{"gain": 1e300}, []string{"gain: 1e+300 is outside"}},
		{"array element", map[string]any{"words": []any{1, -2}}, []string{"words", "-2 is outside 0..4294967295"}},
		{"nested type", map[string]any{"ops": []any{map[string]any{"op": "read", "n": "one"}}}, []string{"ops[0].n: want an integer, got a string"}},
		{"array for an object", map[string]any{"ops": []any{[]any{1}}}, []string{"ops[0]: want an object, got an array"}},
	} {
		for c, data := range both(t, tc.value) {
			t.Run(tc.name+"/"+c.String(), func(t *testing.T) { wantInvalid(t, c, data, tc.parts...) })
		}
	}
}

func TestStrictJSONOnly(t *testing.T) {
	for _, tc := range []struct {
		data  string
		parts []string
	}{
		{`{"decimation": 8, "decimation": 16}`, []string{`field "decimation" given twice`}},
		{`{"id": "a"} {"id": "b"}`, []string{"trailing data"}},
		{`{"id": "a"`, []string{"truncated"}},
		{`{"offset": 1e400}`, []string{"offset: 1e400 is outside"}},
		{`[1, 2]`, []string{"malformed JSON request: want an object, got an array"}},
		{`{"trigger": "x", "trigger_source": "y"}`, []string{"given twice"}},
	} {
		wantInvalid(t, JSON, []byte(tc.data), tc.parts...)
	}
}

func TestStrictMsgpackOnly(t *testing.T) {
	huge := []byte{0x81, 0xa5, 'w', 'o', 'r', 'd', 's', 0xdd, 0xff, 0xff, 0xff, 0xff}                   // words: an array of 2^32-1 elements
	hugeKey := []byte{0x81, 0xdb, 0x7f, 0xff, 0xff, 0xff, 'x'}                                          // a key of 2 GiB
	hugeMap := []byte{0xdf, 0x7f, 0xff, 0xff, 0xff}                                                     // a map of 2^31-1 entries
	nan := append([]byte{0x81, 0xa6, 'o', 'f', 'f', 's', 'e', 't', 0xcb}, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1) // offset: NaN
	dup := []byte{0x82, 0xa2, 'i', 'd', 0xa1, 'a', 0xa2, 'i', 'd', 0xa1, 'b'}
	intKey := []byte{0x81, 0x01, 0x02}
	for _, tc := range []struct {
		data  []byte
		parts []string
	}{
		{huge, []string{"words", "truncated"}},
		{hugeKey, []string{"truncated"}},
		{hugeMap, []string{"truncated"}},
		{nan, []string{"offset: NaN is not a finite number"}},
		{dup, []string{`field "id" given twice`}},
		{intKey, []string{"field name must be a string"}},
		{[]byte{0x81, 0xa2, 'i', 'd', 0xa1, 'a', 0xc0}, []string{"trailing data"}},
		{[]byte{0xc1}, []string{"malformed msgpack request"}},
	} {
		wantInvalid(t, Msgpack, tc.data, tc.parts...)
	}
}

// What a strict decoder must still take: whole floats for integers, any
// integer for a float (uint64 max included, which msgpack's own decoder
// turned into -1), null or nil for "as it is", embedded structs' fields,
// an alias, and the values as they were.
func TestStrictAccepts(t *testing.T) {
	for c, data := range both(t, map[string]any{
		"decimation": 64.0, "small": -128, "mask": uint32(math.MaxUint32), "offset": uint64(math.MaxUint64),
		"gain": 2, "average": false, "amplitude": nil, "words": []any{1, 2.0}, "trigger": "ext",
		"started": 1.5, "ops": []any{map[string]any{"op": "read", "n": 3}},
	}) {
		s := settings{Amplitude: new(float64)}
		if err := c.Unmarshal(data, &s); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if s.Decimation != 64 || s.Small != -128 || s.Mask != math.MaxUint32 || s.Offset != math.MaxUint64 ||
			s.Gain != 2 || s.Average == nil || *s.Average || s.Amplitude != nil || len(s.Words) != 2 || s.Words[1] != 2 ||
			s.Trigger != "ext" || s.Started != 1.5 || len(s.Ops) != 1 || s.Ops[0].N != 3 {
			t.Errorf("%v: decoded %+v", c, s)
		}
		if s.Offset < 0 {
			t.Errorf("%v: uint64 max became %g", c, s.Offset)
		}
	}
}

// A reply type round-trips with its embedded fields, and a struct field
// left out keeps its value.
func TestStrictRoundTrip(t *testing.T) {
	in := settings{ID: "x", Decimation: 8, Offset: -0.25, Words: U32{7}, timing: timing{Started: 3}}
	for _, c := range []Codec{JSON, Msgpack} {
		b, err := c.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		out := settings{Small: 5}
		if err := c.Unmarshal(b, &out); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if out.ID != "x" || out.Decimation != 8 || out.Offset != -0.25 || out.Started != 3 || out.Small != 5 || out.Words[0] != 7 {
			t.Errorf("%v: %+v", c, out)
		}
	}
}

// A body that takes nothing: empty, {} and null are fine, anything else
// is a 400.
func TestEmptyBody(t *testing.T) {
	for _, ok := range [][]byte{nil, []byte(" "), []byte("{}"), []byte("null"), {0x80}, {0xc0}} {
		c := JSON
		if len(ok) == 1 && ok[0] >= 0x80 {
			c = Msgpack
		}
		if err := c.Unmarshal(ok, &struct{}{}); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{`{"a":1}`, `[]`, `"x"`, `garbage`} {
		if err := JSON.Unmarshal([]byte(bad), &struct{}{}); rperr.ErrorCode(err) != rperr.EInvalid {
			t.Errorf("%q: %v, want invalid", bad, err)
		}
	}
}

// The strict decoder beside msgpack's own on a trace-sized reply (the
// arrays decode themselves either way) and on a small request.
func BenchmarkDecode(b *testing.B) {
	type reply struct {
		ID    string  `json:"id"`
		Board string  `json:"board"`
		T0    float64 `json:"t0"`
		Dt    float64 `json:"dt"`
		Ch1   F32     `json:"ch1"`
		Ch2   F32     `json:"ch2"`
		timing
	}
	tr, _ := Msgpack.Marshal(reply{ID: "scope-1", Board: "sim", Dt: 8e-9, Ch1: make(F32, 16384), Ch2: make(F32, 16384)})
	req, _ := Msgpack.Marshal(settings{ID: "x", Decimation: 8, Offset: 0.5, Trigger: "ch1_positive_edge"})
	library := func(data []byte, v any) error {
		d := msgpack.NewDecoder(bytes.NewReader(data))
		d.SetCustomStructTag("json")
		d.DisallowUnknownFields(true)
		return d.Decode(v)
	}
	for _, c := range []struct {
		name string
		data []byte
		into func() any
	}{{"trace", tr, func() any { return new(reply) }}, {"request", req, func() any { return new(settings) }}} {
		v := c.into()
		b.Run(c.name+"/strict", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Msgpack.Unmarshal(c.data, v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/library", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := library(c.data, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
