package wire

import (
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/rpbus/rpbus/internal/num"
)

// number is a decoded number as the wire carried it: a signed or an
// unsigned integer, or a float. Keeping the kind lets a uint64 above the
// int64 range reach a float field as itself (msgpack's own decoder reads
// it through int64, so 2^64-1 became -1), and lets a float that is a
// whole number fill an integer field (Python's msgpack sends 64.0 for a
// float 64).
type number struct {
	kind byte // 'i', 'u' or 'f'
	i    int64
	u    uint64
	f    float64
}

func (n number) String() string {
	switch n.kind {
	case 'i':
		return strconv.FormatInt(n.i, 10)
	case 'u':
		return strconv.FormatUint(n.u, 10)
	}
	return strconv.FormatFloat(n.f, 'g', -1, 64)
}

// float is n as a float64, whatever it was (NaN and infinities kept: an
// array's samples may be NaN).
func (n number) float() float64 {
	switch n.kind {
	case 'i':
		return float64(n.i)
	case 'u':
		return float64(n.u)
	}
	return n.f
}

// intRange is the range of a signed integer of bits bits, for messages.
func intRange(bits int) string {
	return fmt.Sprintf("%d..%d", int64(-1)<<(bits-1), int64(uint64(1)<<(bits-1)-1))
}

// toInt returns n as a signed integer of bits bits.
func (n number) toInt(bits int) (int64, error) {
	lo, hi := int64(-1)<<(bits-1), int64(uint64(1)<<(bits-1)-1)
	var v int64
	switch n.kind {
	case 'i':
		v = n.i
	case 'u':
		if n.u > uint64(hi) {
			return 0, n.outside(intRange(bits))
		}
		v = int64(n.u)
	default:
		if err := n.whole(); err != nil {
			return 0, err
		}
		// float64(hi) rounds up to 2^(bits-1), itself outside.
		if n.f < float64(lo) || n.f >= -float64(lo) {
			return 0, n.outside(intRange(bits))
		}
		v = int64(n.f)
	}
	if v < lo || v > hi {
		return 0, n.outside(intRange(bits))
	}
	return v, nil
}

// toUint returns n as an unsigned integer of bits bits.
func (n number) toUint(bits int) (uint64, error) {
	hi := uint64(math.MaxUint64) >> (64 - bits)
	outside := func() error { return n.outside("0.." + strconv.FormatUint(hi, 10)) }
	var v uint64
	switch n.kind {
	case 'i':
		if n.i < 0 {
			return 0, outside()
		}
		v = uint64(n.i)
	case 'u':
		v = n.u
	default:
		if err := n.whole(); err != nil {
			return 0, err
		}
		if n.f < 0 || n.f >= float64(hi)+1 {
			return 0, outside()
		}
		v = uint64(n.f)
	}
	if v > hi {
		return 0, outside()
	}
	return v, nil
}

// toFloat returns n as a float of bits bits: finite, and within float32's
// range for a float32.
func (n number) toFloat(bits int) (float64, error) {
	var v float64
	switch n.kind {
	case 'i':
		v = float64(n.i)
	case 'u':
		v = float64(n.u)
	default:
		v = n.f
	}
	if !num.Finite(v) {
		return 0, fieldErrorf(n.String() + " is not a finite number")
	}
	if bits == 32 && math.Abs(v) > math.MaxFloat32 {
		return 0, n.outside(fmt.Sprintf("±%g", math.MaxFloat32))
	}
	return v, nil
}

func (n number) whole() error {
	if !num.Finite(n.f) || n.f != math.Trunc(n.f) {
		return fieldErrorf("want a whole number, got " + n.String())
	}
	return nil
}

func (n number) outside(rng string) error {
	return fieldErrorf(fmt.Sprintf("%s is outside %s", n, rng))
}

// setNumber stores n in v, a numeric kind.
func setNumber(v reflect.Value, n number) error {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, err := n.toInt(v.Type().Bits())
		if err == nil {
			v.SetInt(x)
		}
		return err
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		x, err := n.toUint(v.Type().Bits())
		if err == nil {
			v.SetUint(x)
		}
		return err
	case reflect.Float32, reflect.Float64:
		x, err := n.toFloat(v.Type().Bits())
		if err == nil {
			v.SetFloat(x)
		}
		return err
	}
	return fieldErrorf("want " + kindName(v.Type()) + ", got a number")
}

// kindName says what a value of t looks like on the wire.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return kindName(t.Elem())
	}
	return "a value"
}

// typeError says the wire held got where the field wants t.
func typeError(t reflect.Type, got string) error {
	return fieldErrorf("want " + kindName(t) + ", got " + got)
}
