package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
)

// Q16 is a float32 array sent as 16-bit integer codes and one scale:
// value i is float32(Codes[i]) * Scale. ADC samples are 14-bit codes, so
// a trace in volts travels in half the bytes of F32, and exactly when
// Scale is a power of two (2^-13 V for the board's inputs).
//
// In msgpack it is the array map with dtype "<i2" and a fourth key,
// "scale" (a float32), written before "data"; F32 and the Python and JS
// clients decode it into float32 values, so a reader declares F32 and
// takes either form. In JSON it is the values as numbers, as F32 writes
// them.
type Q16 struct {
	Codes []int16
	Scale float32
}

var (
	_ msgpack.CustomEncoder = Q16{}
	_ msgpack.CustomEncoder = (*Q16)(nil)
)

// EncodeMsgpack writes {"dtype": "<i2", "shape": [n], "scale": s, "data": bin}.
func (q Q16) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeMapLen(4); err != nil {
		return err
	}
	for _, s := range []string{"dtype", "<i2", "shape"} {
		if err := enc.EncodeString(s); err != nil {
			return err
		}
	}
	if err := enc.EncodeArrayLen(1); err != nil {
		return err
	}
	if err := enc.EncodeInt(int64(len(q.Codes))); err != nil {
		return err
	}
	if err := enc.EncodeString("scale"); err != nil {
		return err
	}
	if err := enc.EncodeFloat32(q.Scale); err != nil {
		return err
	}
	if err := enc.EncodeString("data"); err != nil {
		return err
	}
	raw := int16Bytes(q.Codes)
	if raw == nil {
		raw = make([]byte, 2*len(q.Codes))
		for i, c := range q.Codes {
			binary.LittleEndian.PutUint16(raw[2*i:], uint16(c))
		}
	}
	return enc.EncodeBytes(raw)
}

// MarshalJSON writes the values, as F32 would.
func (q Q16) MarshalJSON() ([]byte, error) {
	return appendFloats(len(q.Codes), func(i int) float64 { return float64(float32(q.Codes[i]) * q.Scale) }, 32), nil
}

func int16Bytes(a []int16) []byte {
	if !nativeLE || len(a) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&a[0])), 2*len(a))
}

// decodeMap reads the n keys of an array map holding either "<f4" values
// or "<i2" codes and a scale. Every rpbus encoder writes dtype and scale
// before data, so the data is read straight into a's memory: "<i2" codes
// into its first half, then widened and scaled from the end backwards, so
// no scratch is needed. Data that comes first is read through a copy.
func (a *F32) decodeMap(dec *msgpack.Decoder, n int) error {
	dtype, scale := "", float32(1)
	var early []byte // data read before its dtype was known
	gotData := false
	readScale := float32(1) // the scale the data was read with
	err := walkArrayMap(dec, n, func(t []byte) error {
		switch string(t) {
		case "<f4":
			dtype = "<f4"
		case "<i2":
			dtype = "<i2"
		default:
			return fmt.Errorf("array dtype %q, want \"<f4\" or \"<i2\"", t)
		}
		return nil
	}, func(v float32) error {
		scale = v
		return nil
	}, func(nbytes int) error {
		gotData = true
		if dtype == "" {
			early = make([]byte, nbytes)
			return dec.ReadFull(early)
		}
		readScale = scale
		return a.readData(dec.ReadFull, dtype, nbytes, scale)
	})
	if err != nil {
		return err
	}
	switch {
	case dtype == "":
		return fmt.Errorf("array map without a dtype")
	case early != nil:
		return a.readData(func(p []byte) error { copy(p, early); return nil }, dtype, len(early), scale)
	case !gotData:
		*a = resize(*a, 0)
	case dtype == "<i2" && scale != readScale: // the scale came after the data
		for k := range *a {
			(*a)[k] *= scale
		}
	}
	return nil
}

// readData reads nbytes of dtype's little-endian elements with read into
// a as float32 values, "<i2" codes times scale.
func (a *F32) readData(read func([]byte) error, dtype string, nbytes int, scale float32) error {
	size := 4
	if dtype == "<i2" {
		size = 2
	}
	if nbytes%size != 0 {
		return fmt.Errorf("array of %d bytes is not a whole number of %d-byte elements", nbytes, size)
	}
	m := nbytes / size
	*a = resize(*a, m)
	if m == 0 {
		return nil
	}
	mem := unsafe.Slice((*byte)(unsafe.Pointer(&(*a)[0])), 4*m)
	if err := read(mem[:nbytes]); err != nil {
		return err
	}
	if size == 2 {
		out := (*a)[:m]
		if !nativeLE {
			for k := m - 1; k >= 0; k-- { // element k's code sits at or below it
				out[k] = float32(int16(binary.LittleEndian.Uint16(mem[2*k:]))) * scale
			}
			return nil
		}
		codes := unsafe.Slice((*int16)(unsafe.Pointer(&out[0])), m)
		for k := m - 1; k >= 0; k-- { // element k's code sits at or below it
			out[k] = float32(codes[k]) * scale
		}
		return nil
	}
	if !nativeLE {
		for k := range *a {
			(*a)[k] = math.Float32frombits(binary.LittleEndian.Uint32(mem[4*k:]))
		}
	}
	return nil
}
