package wire

import (
	"math"
	"testing"

	"github.com/rpbus/rpbus/rperr"
)

type arrays struct {
	F32 F32 `json:"f32,omitempty"`
	F64 F64 `json:"f64,omitempty"`
	U32 U32 `json:"u32,omitempty"`
	U16 U16 `json:"u16,omitempty"`
}

// FuzzArrays: the array decoders (bin maps, Q16, plain arrays, JSON with
// null for NaN) never panic, refuse with a 400, or give arrays that
// encode and decode back to themselves.
func FuzzArrays(f *testing.F) {
	for _, c := range []Codec{JSON, Msgpack} {
		b, _ := c.Marshal(arrays{F32: F32{1, float32(math.NaN())}, F64: F64{2}, U32: U32{3}, U16: U16{4}})
		f.Add(byte(c), b)
		b, _ = c.Marshal(map[string]any{"f32": Q16{Codes: []int16{1, -1}, Scale: 0.5}})
		f.Add(byte(c), b)
	}
	f.Add(byte(Msgpack), []byte{0x81, 0xa3, 'u', '3', '2', 0x92, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, codec byte, data []byte) {
		c := Codec(codec % 2)
		var a arrays
		if err := c.Unmarshal(data, &a); err != nil {
			if rperr.ErrorCode(err) != rperr.EInvalid {
				t.Fatalf("%v %q: %v, want a 400", c, data, err)
			}
			return
		}
		b, err := c.Marshal(a)
		if err != nil {
			t.Fatalf("%+v does not encode: %v", a, err)
		}
		var again arrays
		if err := c.Unmarshal(b, &again); err != nil || !sameArrays(a, again) {
			t.Fatalf("%v %q: %+v encodes as %q, decodes to %+v (%v)", c, data, a, b, again, err)
		}
	})
}

func sameArrays(a, b arrays) bool {
	same := func(x, y float64) bool {
		return x == y || (math.IsNaN(x) && math.IsNaN(y)) || (math.IsInf(x, 0) && math.IsNaN(y))
	}
	if len(a.F32) != len(b.F32) || len(a.F64) != len(b.F64) || len(a.U32) != len(b.U32) || len(a.U16) != len(b.U16) {
		return false
	}
	for i := range a.F32 {
		if !same(float64(a.F32[i]), float64(b.F32[i])) {
			return false
		}
	}
	for i := range a.F64 {
		if !same(a.F64[i], b.F64[i]) {
			return false
		}
	}
	for i := range a.U32 {
		if a.U32[i] != b.U32[i] {
			return false
		}
	}
	for i := range a.U16 {
		if a.U16[i] != b.U16[i] {
			return false
		}
	}
	return true
}

// TestNilArrays: a nil array, which msgpack writes as nil, reads back
// empty (a stored spectrum without ch2 read back failed).
func TestNilArrays(t *testing.T) {
	type trace struct {
		A F64 `json:"a"`
		B F32 `json:"b"`
		C U32 `json:"c"`
		D U16 `json:"d"`
	}
	b, err := Msgpack.Marshal(trace{})
	if err != nil {
		t.Fatal(err)
	}
	got := trace{A: F64{1}, B: F32{1}, C: U32{1}, D: U16{1}}
	if err := Msgpack.Unmarshal(b, &got); err != nil {
		t.Fatalf("nil arrays: %v", err)
	}
	if len(got.A) != 0 || len(got.B) != 0 || len(got.C) != 0 || len(got.D) != 0 {
		t.Errorf("nil arrays read back as %+v, want empty", got)
	}
}
