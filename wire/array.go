package wire

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"unsafe"

	"github.com/rpbus/rpbus/internal/num"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// F32 is a float32 array: dtype "<f4" in msgpack, numbers in JSON.
type F32 []float32

// F64 is a float64 array: dtype "<f8" in msgpack, numbers in JSON.
type F64 []float64

// U32 is a uint32 array (register words): dtype "<u4" in msgpack, numbers
// in JSON.
type U32 []uint32

// U16 is a uint16 array (half words, such as 14-bit ADC samples): dtype
// "<u2" in msgpack, numbers in JSON.
type U16 []uint16

var (
	_ msgpack.CustomEncoder = F32(nil)
	_ msgpack.CustomDecoder = (*F32)(nil)
	_ json.Marshaler        = F64(nil)
)

// nativeLE says whether the machine stores numbers little-endian, in which
// case a slice's memory is already the wire's bytes.
var nativeLE = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

func (a F32) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeBin(enc, "<f4", len(a), 4, func(dst []byte) {
		for i, v := range a {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	}, sliceBytes(a, 4))
}

func (a F64) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeBin(enc, "<f8", len(a), 8, func(dst []byte) {
		for i, v := range a {
			binary.LittleEndian.PutUint64(dst[8*i:], math.Float64bits(v))
		}
	}, sliceBytes(a, 8))
}

func (a U32) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeBin(enc, "<u4", len(a), 4, func(dst []byte) {
		for i, v := range a {
			binary.LittleEndian.PutUint32(dst[4*i:], v)
		}
	}, sliceBytes(a, 4))
}

func (a U16) EncodeMsgpack(enc *msgpack.Encoder) error {
	return encodeBin(enc, "<u2", len(a), 2, func(dst []byte) {
		for i, v := range a {
			binary.LittleEndian.PutUint16(dst[2*i:], v)
		}
	}, sliceBytes(a, 2))
}

func (a *U16) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeArray(dec, "<u2", 2, func(n int) []byte { *a = resize(*a, n); return sliceBytes(*a, 2) },
		func(b []byte) {
			for i := range *a {
				(*a)[i] = binary.LittleEndian.Uint16(b[2*i:])
			}
		},
		func(i int, n number) error {
			v, err := n.toUint(16)
			(*a)[i] = uint16(v)
			return err
		})
}

// DecodeMsgpack reads an F32 array map ("<f4"), a Q16 one ("<i2" with
// its scale) or a plain array of numbers.
func (a *F32) DecodeMsgpack(dec *msgpack.Decoder) error {
	code, err := dec.PeekCode()
	if err != nil {
		return err
	}
	if code == msgpcode.Nil || isArrayCode(code) { // decodeArray reads both
		return decodeArray(dec, "<f4", 4, func(n int) []byte { *a = resize(*a, n); return nil }, nil,
			func(i int, n number) error { (*a)[i] = float32(n.float()); return nil })
	}
	n, err := dec.DecodeMapLen()
	if err != nil {
		return err
	}
	return a.decodeMap(dec, n)
}

func (a *F64) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeArray(dec, "<f8", 8, func(n int) []byte { *a = resize(*a, n); return sliceBytes(*a, 8) },
		func(b []byte) {
			for i := range *a {
				(*a)[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
			}
		},
		func(i int, n number) error { (*a)[i] = n.float(); return nil })
}

func (a *U32) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeArray(dec, "<u4", 4, func(n int) []byte { *a = resize(*a, n); return sliceBytes(*a, 4) },
		func(b []byte) {
			for i := range *a {
				(*a)[i] = binary.LittleEndian.Uint32(b[4*i:])
			}
		},
		func(i int, n number) error {
			v, err := n.toUint(32)
			(*a)[i] = uint32(v)
			return err
		})
}

// resize returns a of length n, in its own memory when that is large
// enough (as encoding/json reuses a slice it decodes into), so a caller
// that decodes trace after trace into one value allocates nothing.
func resize[S ~[]E, E any](a S, n int) S {
	if cap(a) >= n {
		return a[:n]
	}
	return make(S, n)
}

// sliceBytes views a slice's memory as bytes when that equals its
// little-endian encoding, and returns nil otherwise.
func sliceBytes[T float32 | float64 | uint32 | uint16](a []T, size int) []byte {
	if !nativeLE || len(a) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&a[0])), len(a)*size)
}

func encodeBin(enc *msgpack.Encoder, dtype string, n, size int, fill func([]byte), raw []byte) error {
	if err := enc.EncodeMapLen(3); err != nil {
		return err
	}
	if err := enc.EncodeString("dtype"); err != nil {
		return err
	}
	if err := enc.EncodeString(dtype); err != nil {
		return err
	}
	if err := enc.EncodeString("shape"); err != nil {
		return err
	}
	if err := enc.EncodeArrayLen(1); err != nil {
		return err
	}
	if err := enc.EncodeInt(int64(n)); err != nil {
		return err
	}
	if err := enc.EncodeString("data"); err != nil {
		return err
	}
	if raw == nil {
		raw = make([]byte, n*size)
		fill(raw)
	}
	return enc.EncodeBytes(raw)
}

// decodeArray reads either the bin map form or a plain msgpack array of
// numbers (handy for hand-written requests). alloc makes the destination
// for n elements and returns its memory when that is the little-endian
// form, so the bin's bytes are read straight into it.
func decodeArray(dec *msgpack.Decoder, dtype string, size int, alloc func(int) []byte, fromBytes func([]byte), set func(int, number) error) error {
	code, err := dec.PeekCode()
	if err != nil {
		return err
	}
	if code == msgpcode.Nil { // a nil slice, as the encoder writes it: empty
		alloc(0)
		return dec.DecodeNil()
	}
	if isArrayCode(code) {
		n, err := dec.DecodeArrayLen()
		if err != nil {
			return err
		}
		if left := Remaining(dec); left >= 0 && n > left {
			return fmt.Errorf("an array of %d elements in %d bytes: truncated", n, left)
		}
		alloc(max(n, 0))
		for i := 0; i < n; i++ {
			v, err := DecodeNumber(dec, reflect.TypeFor[float64]())
			if err == nil {
				err = set(i, v)
			}
			if err != nil {
				return AtIndex(i, err)
			}
		}
		return nil
	}
	n, err := dec.DecodeMapLen()
	if err != nil {
		return err
	}
	gotType, gotData := false, false
	err = walkArrayMap(dec, n, func(t []byte) error {
		if string(t) != dtype {
			return fmt.Errorf("array dtype %q, want %q", t, dtype)
		}
		gotType = true
		return nil
	}, nil, func(nbytes int) error {
		gotData = true
		return readBin(dec, nbytes, size, alloc, fromBytes)
	})
	if err != nil {
		return err
	}
	if !gotType {
		return fmt.Errorf("array map without a dtype, want %q", dtype)
	}
	if !gotData {
		alloc(0)
	}
	return nil
}

// walkArrayMap reads the n keys of an array map: onDtype gets the dtype,
// onScale (when not nil) the scale, and onData the length of the data bin,
// which it then reads; other keys are skipped.
func walkArrayMap(dec *msgpack.Decoder, n int, onDtype func(t []byte) error, onScale func(float32) error, onData func(nbytes int) error) error {
	var kb, tb [16]byte
	for i := 0; i < n; i++ {
		key, err := DecodeKey(dec, kb[:])
		if err != nil {
			return err
		}
		switch {
		case string(key) == "dtype":
			var t []byte
			if t, err = DecodeKey(dec, tb[:]); err == nil {
				err = onDtype(t)
			}
		case string(key) == "scale" && onScale != nil:
			var v float32
			if v, err = dec.DecodeFloat32(); err != nil {
				err = fmt.Errorf("array scale: %w", err)
			} else if !num.Finite(float64(v)) {
				err = fmt.Errorf("array scale %g is not finite", v)
			} else {
				err = onScale(v)
			}
		case string(key) == "data":
			var nbytes int
			if nbytes, err = dec.DecodeBytesLen(); err == nil {
				if left := Remaining(dec); left >= 0 && nbytes > left {
					err = fmt.Errorf("array of %d bytes in %d: truncated", nbytes, left)
				} else if nbytes < 0 || nbytes > maxArrayBytes {
					err = fmt.Errorf("array of %d bytes, want at most %d", nbytes, maxArrayBytes)
				} else {
					err = onData(nbytes)
				}
			}
		default:
			err = dec.Skip()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// DecodeKey reads a short msgpack string (a map key, a dtype) into buf
// without allocating, and returns its bytes; a longer one gets memory of
// its own. Compare it with switch string(key), which does not allocate
// either.
func DecodeKey(dec *msgpack.Decoder, buf []byte) ([]byte, error) {
	n, err := dec.DecodeBytesLen()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, nil
	}
	if n > len(buf) {
		buf = make([]byte, n)
	}
	return buf[:n], dec.ReadFull(buf[:n])
}

// maxArrayBytes bounds the bin a request may declare before it is read.
const maxArrayBytes = 64 << 20

func readBin(dec *msgpack.Decoder, nbytes, size int, alloc func(int) []byte, fromBytes func([]byte)) error {
	if nbytes%size != 0 {
		return fmt.Errorf("array of %d bytes is not a whole number of %d-byte elements", nbytes, size)
	}
	if dst := alloc(nbytes / size); dst != nil {
		return dec.ReadFull(dst)
	}
	raw := make([]byte, nbytes)
	if err := dec.ReadFull(raw); err != nil {
		return err
	}
	fromBytes(raw)
	return nil
}

func isArrayCode(c byte) bool {
	return (c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd
}

// JSON: floats as numbers, NaN and infinities as null (JSON has no NaN).

func (a F32) MarshalJSON() ([]byte, error) {
	return appendFloats(len(a), func(i int) float64 { return float64(a[i]) }, 32), nil
}

func (a F64) MarshalJSON() ([]byte, error) {
	return appendFloats(len(a), func(i int) float64 { return a[i] }, 64), nil
}

func appendFloats(n int, at func(int) float64, bits int) []byte {
	b := make([]byte, 0, 2+n*10)
	b = append(b, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		v := at(i)
		if !num.Finite(v) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, v, 'g', -1, bits)
	}
	return append(b, ']')
}

func (a *F32) UnmarshalJSON(b []byte) error {
	var v []*float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*a = make(F32, len(v))
	for i, p := range v {
		(*a)[i] = float32(nullNaN(p))
	}
	return nil
}

func (a *F64) UnmarshalJSON(b []byte) error {
	var v []*float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*a = make(F64, len(v))
	for i, p := range v {
		(*a)[i] = nullNaN(p)
	}
	return nil
}

func nullNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
