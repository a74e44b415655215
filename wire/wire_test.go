package wire

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/rpbus/rpbus/rperr"
)

type sample struct {
	Name  string `json:"name"`
	Trace F32    `json:"trace"`
	Freqs F64    `json:"freqs,omitempty"`
	Words U32    `json:"words"`
	Half  U16    `json:"half,omitempty"`
}

func TestRoundTrip(t *testing.T) {
	in := sample{Name: "x", Trace: F32{1, -0.5, 0.25}, Freqs: F64{1e6, 2e6}, Words: U32{0, 1, 0xffffffff}, Half: U16{0x3fff, 0x2000}}
	for _, c := range []Codec{JSON, Msgpack} {
		b, err := c.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out sample
		if err := c.Unmarshal(b, &out); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		if out.Name != in.Name || len(out.Trace) != 3 || out.Trace[1] != -0.5 || out.Freqs[1] != 2e6 || out.Words[2] != 0xffffffff || out.Half[1] != 0x2000 {
			t.Errorf("%v: round trip gave %+v", c, out)
		}
	}
}

func TestNaNTravelsAsNull(t *testing.T) {
	b, err := JSON.Marshal(F32{1, float32(math.NaN())})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "[1,null]" {
		t.Fatalf("got %s", b)
	}
	var a F32
	if err := JSON.Unmarshal(b, &a); err != nil || !math.IsNaN(float64(a[1])) {
		t.Fatalf("decode %v %v", a, err)
	}
}

func TestMsgpackBinLayout(t *testing.T) {
	b, err := Msgpack.Marshal(map[string]any{"ch1": F32{1}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := Msgpack.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	arr := m["ch1"]
	if arr["dtype"] != "<f4" {
		t.Errorf("dtype %v", arr["dtype"])
	}
	data, _ := arr["data"].([]byte)
	if len(data) != 4 || data[3] != 0x3f || data[2] != 0x80 {
		t.Errorf("data % x, want little-endian 1.0f", data)
	}
}

func TestUnknownFieldIsInvalid(t *testing.T) {
	for _, c := range []Codec{JSON, Msgpack} {
		b, _ := c.Marshal(map[string]any{"nmae": "x"})
		var s sample
		err := c.Unmarshal(b, &s)
		if rperr.ErrorCode(err) != rperr.EInvalid {
			t.Errorf("%v: got %v, want invalid", c, err)
		}
	}
	var s sample
	if err := JSON.Unmarshal([]byte(`{"name": 3}`), &s); rperr.ErrorCode(err) != rperr.EInvalid {
		t.Errorf("type error: %v", err)
	}
}

func TestErrorHeadersRoundTrip(t *testing.T) {
	code, desc := ErrorHeaders(rperr.Invalidf("points: must be 1..100000"))
	msg := &nats.Msg{Header: nats.Header{micro.ErrorCodeHeader: {code}, micro.ErrorHeader: {desc}}}
	err := ErrorFromMsg(msg)
	var e *rperr.Error
	if !errors.As(err, &e) || e.Code != rperr.EInvalid || e.Message != "points: must be 1..100000" {
		t.Fatalf("got %v", err)
	}
	if ErrorFromMsg(&nats.Msg{}) != nil {
		t.Error("plain reply read as an error")
	}
}

func BenchmarkTraceMsgpack(b *testing.B) {
	tr := sample{Trace: make(F32, 16384), Freqs: make(F64, 16384)}
	b.ReportAllocs()
	for b.Loop() {
		buf, _ := Msgpack.Marshal(tr)
		var out sample
		_ = Msgpack.Unmarshal(buf, &out)
	}
}

// Decoding into a value whose arrays are large enough reuses their memory,
// as encoding/json does; a shorter array gets its own.
func TestDecodeReusesArrays(t *testing.T) {
	type trace struct {
		Ch1 F32 `json:"ch1"`
	}
	b, err := Msgpack.Marshal(trace{Ch1: F32{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	v := trace{Ch1: make(F32, 8)}
	mem := &v.Ch1[:1][0]
	if err := Msgpack.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Ch1) != 3 || v.Ch1[2] != 3 || &v.Ch1[0] != mem {
		t.Fatalf("decoded %v into new memory %v, want [1 2 3] in the old", v.Ch1, &v.Ch1[0] != mem)
	}
	v.Ch1 = v.Ch1[:1:1]
	if err := Msgpack.Unmarshal(b, &v); err != nil || len(v.Ch1) != 3 || &v.Ch1[0] == mem {
		t.Fatalf("into a short array: %v, %v", v.Ch1, err)
	}
}

// A Q16 decodes into F32 as its codes times its scale, in half the bytes
// of the same values as F32; its JSON is F32's.
func TestQ16DecodesAsF32(t *testing.T) {
	codes := append([]int16{0, 1, -1, 8191, -8192, 32767, -32768}, make([]int16, 1000)...)
	for i := 7; i < len(codes); i++ {
		codes[i] = int16(i*37 - 9000)
	}
	for _, scale := range []float32{1.0 / 8192, 0.37, 1} {
		q := Q16{Codes: codes, Scale: scale}
		want := make(F32, len(codes))
		for i, c := range codes {
			want[i] = float32(c) * scale
		}
		type trace struct {
			Ch1 any `json:"ch1"`
		}
		type decoded struct {
			Ch1 F32 `json:"ch1"`
		}
		qb, err := Msgpack.Marshal(trace{q})
		if err != nil {
			t.Fatal(err)
		}
		fb, _ := Msgpack.Marshal(trace{want})
		if d := len(fb) - len(qb); d < 2*len(codes)-16 {
			t.Errorf("Q16 is %d bytes, F32 %d: want about %d fewer", len(qb), len(fb), 2*len(codes))
		}
		for _, into := range []F32{nil, make(F32, 3), make(F32, 100)} {
			out := decoded{Ch1: into}
			if err := Msgpack.Unmarshal(qb, &out); err != nil {
				t.Fatal(err)
			}
			if !equalF32(out.Ch1, want) {
				t.Errorf("scale %g into cap %d: decoded %d values, want %d equal to codes x scale", scale, cap(into), len(out.Ch1), len(want))
			}
		}
		qj, _ := JSON.Marshal(q)
		fj, _ := JSON.Marshal(want)
		if string(qj) != string(fj) {
			t.Errorf("JSON %s, want %s", qj, fj)
		}
	}
}

// Other encoders may order the keys as they like: data before its dtype
// and scale still decodes.
func TestQ16AnyKeyOrder(t *testing.T) {
	data := []byte{3, 0, 0xfe, 0xff} // 3, -2
	for _, m := range []map[string]any{
		{"data": data, "scale": float32(0.5), "dtype": "<i2"},
		{"dtype": "<i2", "data": data, "scale": float32(0.5)},
	} {
		b, _ := Msgpack.Marshal(map[string]any{"ch1": m})
		var out struct {
			Ch1 F32 `json:"ch1"`
		}
		if err := Msgpack.Unmarshal(b, &out); err != nil || !equalF32(out.Ch1, F32{1.5, -1}) {
			t.Errorf("%v: decoded %v, %v", m, out.Ch1, err)
		}
	}
	// longer than one chunk of the decoder's buffer, data first
	codes := make([]int16, 5000)
	want := make(F32, len(codes))
	for i := range codes {
		codes[i] = int16(i - 2500)
		want[i] = float32(codes[i]) * 0.25
	}
	long := int16Bytes(codes)
	b, _ := Msgpack.Marshal(map[string]any{"ch1": map[string]any{"data": long, "scale": float32(0.25), "dtype": "<i2"}})
	var lo struct {
		Ch1 F32 `json:"ch1"`
	}
	if err := Msgpack.Unmarshal(b, &lo); err != nil || !equalF32(lo.Ch1, want) {
		t.Errorf("5000 codes, data first: %d values, %v", len(lo.Ch1), err)
	}
	b, _ = Msgpack.Marshal(map[string]any{"ch1": map[string]any{"dtype": "<u2", "data": data}})
	var out struct {
		Ch1 F32 `json:"ch1"`
	}
	if err := Msgpack.Unmarshal(b, &out); err == nil {
		t.Errorf("dtype <u2 into F32: no error, got %v", out.Ch1)
	}
}

func equalF32(a, b F32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A map whose dtype, scale or data is wrong is an error that says so.
func TestArrayMapErrors(t *testing.T) {
	u2 := []byte{1, 0}
	for _, c := range []struct {
		m    map[string]any
		into any
		want string
	}{
		{map[string]any{"dtype": "<u2", "data": u2}, new(F32), `array dtype "<u2"`},
		{map[string]any{"dtype": "<f4", "data": []byte{0, 0, 0, 0}}, new(U32), `array dtype "<f4", want "<u4"`},
		{map[string]any{"dtype": "<i2", "scale": float32(math.Inf(1)), "data": u2}, new(F32), "not finite"},
		{map[string]any{"dtype": "<u4", "data": []byte{1, 2, 3}}, new(U32), "not a whole number"},
		{map[string]any{"data": u2}, new(U16), "without a dtype"},
	} {
		b, _ := Msgpack.Marshal(map[string]any{"a": c.m})
		var err error
		switch v := c.into.(type) {
		case *F32:
			err = Msgpack.Unmarshal(b, &struct {
				A *F32 `json:"a"`
			}{v})
		case *U32:
			err = Msgpack.Unmarshal(b, &struct {
				A *U32 `json:"a"`
			}{v})
		case *U16:
			err = Msgpack.Unmarshal(b, &struct {
				A *U16 `json:"a"`
			}{v})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v into %T: %v, want an error containing %q", c.m, c.into, err, c.want)
		}
	}
}
