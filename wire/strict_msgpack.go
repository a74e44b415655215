package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

var customDecoder = reflect.TypeFor[msgpack.CustomDecoder]()

// decodeMsgpack decodes data into the value v points to: maps into
// structs by exact field name, numbers checked against the field's range,
// every error a *FieldError naming the field (or io.ErrUnexpectedEOF).
// Types with their own DecodeMsgpack decode themselves; maps and
// interfaces go to msgpack's own decoder.
func decodeMsgpack(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("wire: decoding into %T, want a non-nil pointer", v)
	}
	r := bytes.NewReader(data)
	d := msgpack.GetDecoder()
	defer msgpack.PutDecoder(d)
	d.Reset(r)
	d.SetCustomStructTag("json")
	d.DisallowUnknownFields(true)
	if err := mpValue(d, rv.Elem()); err != nil {
		return err
	}
	if r.Len() > 0 {
		return fieldErrorf(fmt.Sprintf("%d bytes of trailing data after the msgpack value", r.Len()))
	}
	return nil
}

// DecodeValue reads one value at d's position into *v with the same
// strictness as Codec.Unmarshal (no NaN or infinity, integers in range,
// no unknown or repeated fields): for a caller that walks a message itself.
func DecodeValue(d *msgpack.Decoder, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("wire: decoding into %T, want a non-nil pointer", v)
	}
	return mpValue(d, rv.Elem())
}

// Remaining is how many bytes dec has left to read when it reads from a
// bytes.Reader (as Codec.Unmarshal's does), else -1: a length a message
// declares can be checked against it before anything is allocated.
func Remaining(dec *msgpack.Decoder) int {
	if l, ok := dec.Buffered().(interface{ Len() int }); ok {
		return l.Len()
	}
	return -1
}

func mpValue(d *msgpack.Decoder, v reflect.Value) error {
	if v.CanAddr() && v.Addr().Type().Implements(customDecoder) {
		return v.Addr().Interface().(msgpack.CustomDecoder).DecodeMsgpack(d)
	}
	c, err := d.PeekCode()
	if err != nil {
		return err
	}
	switch v.Kind() {
	case reflect.Bool:
		switch c {
		case msgpcode.Nil:
			return d.Skip()
		case msgpcode.True, msgpcode.False:
			b, err := d.DecodeBool()
			v.SetBool(b)
			return err
		}
		return mpTypeError(d, v.Type(), c)
	case reflect.String:
		if c == msgpcode.Nil {
			return d.Skip()
		}
		if !msgpcode.IsString(c) {
			return mpTypeError(d, v.Type(), c)
		}
		s, err := d.DecodeString()
		v.SetString(s)
		return err
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if c == msgpcode.Nil {
			return d.Skip()
		}
		n, err := DecodeNumber(d, v.Type())
		if err != nil {
			return err
		}
		return setNumber(v, n)
	case reflect.Pointer:
		if c == msgpcode.Nil {
			v.SetZero()
			return d.Skip()
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return mpValue(d, v.Elem())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			break // []byte: msgpack's bin
		}
		if !isArrayCode(c) && c != msgpcode.Nil {
			return mpTypeError(d, v.Type(), c)
		}
		n, err := DecodeArrayLen(d)
		if err != nil || n < 0 {
			v.SetZero()
			return err
		}
		if v.Cap() >= n {
			v.SetLen(n)
		} else {
			v.Set(reflect.MakeSlice(v.Type(), n, n))
		}
		for i := 0; i < n; i++ {
			if err := mpValue(d, v.Index(i)); err != nil {
				return AtIndex(i, err)
			}
		}
		return nil
	case reflect.Struct:
		return mpStruct(d, v, c)
	}
	// maps, interfaces, arrays, []byte: msgpack's own decoder
	if err := d.DecodeValue(v); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return err
		}
		return fieldErrorf(strings.TrimPrefix(err.Error(), "msgpack: "))
	}
	return nil
}

func mpStruct(d *msgpack.Decoder, v reflect.Value, c byte) error {
	if !isMapCode(c) && c != msgpcode.Nil {
		return mpTypeError(d, v.Type(), c)
	}
	n, err := DecodeMapLen(d)
	if err != nil {
		return err
	}
	sf := fieldsOf(v.Type())
	var seen seenSet
	var buf [32]byte
	for i := 0; i < n; i++ {
		key, err := DecodeFieldName(d, buf[:])
		if err != nil {
			return err
		}
		f := sf.byName[string(key)]
		if f == nil {
			return sf.unknownField(string(key))
		}
		if !seen.add(f.seq) {
			return DuplicateField(string(key))
		}
		if err := mpValue(d, fieldValue(v, f.index)); err != nil {
			return AtField(f.name, err)
		}
	}
	return nil
}

// DecodeMapLen reads a map header: -1 for nil, else the number of
// entries, bounded by the bytes left; anything else is an error that
// says what came instead.
func DecodeMapLen(d *msgpack.Decoder) (int, error) {
	c, err := d.PeekCode()
	if err != nil {
		return 0, err
	}
	if c == msgpcode.Nil {
		return -1, d.Skip()
	}
	if !isMapCode(c) {
		return 0, fieldErrorf("want an object, got " + describeCode(d, c))
	}
	n, err := d.DecodeMapLen()
	if left := Remaining(d); err == nil && left >= 0 && 2*n > left {
		return 0, fieldErrorf(fmt.Sprintf("a map of %d entries in %d bytes: truncated", n, left))
	}
	return n, err
}

// DecodeArrayLen reads an array header: -1 for nil, else the number of
// elements, bounded by the bytes left.
func DecodeArrayLen(d *msgpack.Decoder) (int, error) {
	c, err := d.PeekCode()
	if err != nil {
		return 0, err
	}
	if c == msgpcode.Nil {
		return -1, d.Skip()
	}
	if !isArrayCode(c) {
		return 0, fieldErrorf("want an array, got " + describeCode(d, c))
	}
	n, err := d.DecodeArrayLen()
	if left := Remaining(d); err == nil && left >= 0 && n > left {
		return 0, fieldErrorf(fmt.Sprintf("an array of %d elements in %d bytes: truncated", n, left))
	}
	return n, err
}

// DecodeFieldName reads a map key that must be a string, into buf when it
// fits (see DecodeKey).
func DecodeFieldName(d *msgpack.Decoder, buf []byte) ([]byte, error) {
	c, err := d.PeekCode()
	if err != nil {
		return nil, err
	}
	if !msgpcode.IsString(c) {
		return nil, fieldErrorf("a field name must be a string, got " + describeCode(d, c))
	}
	if left := Remaining(d); left >= 0 {
		// a str32 header may claim gigabytes
		if n, err := peekStrLen(d); err == nil && n > left {
			return nil, fieldErrorf(fmt.Sprintf("a field name of %d bytes in %d: truncated", n, left))
		}
	}
	return DecodeKey(d, buf)
}

// peekStrLen is the length a string header declares, without consuming it.
func peekStrLen(d *msgpack.Decoder) (int, error) {
	raw, ok := d.Buffered().(*bytes.Reader)
	if !ok {
		return 0, fmt.Errorf("not a bytes.Reader")
	}
	pos := raw.Size() - int64(raw.Len())
	var hdr [5]byte
	k, _ := raw.ReadAt(hdr[:], pos)
	if k == 0 {
		return 0, fmt.Errorf("empty")
	}
	switch c := hdr[0]; {
	case msgpcode.IsFixedString(c):
		return int(c & msgpcode.FixedStrMask), nil
	case c == msgpcode.Str8 && k >= 2:
		return int(hdr[1]), nil
	case c == msgpcode.Str16 && k >= 3:
		return int(hdr[1])<<8 | int(hdr[2]), nil
	case c == msgpcode.Str32 && k >= 5:
		return int(hdr[1])<<24 | int(hdr[2])<<16 | int(hdr[3])<<8 | int(hdr[4]), nil
	}
	return 0, fmt.Errorf("short header")
}

// DecodeNumber reads any msgpack number, keeping whether it was a signed
// or unsigned integer or a float; anything else is an error that says
// what a t wants and what came.
func DecodeNumber(d *msgpack.Decoder, t reflect.Type) (number, error) {
	c, err := d.PeekCode()
	if err != nil {
		return number{}, err
	}
	switch {
	case c == msgpcode.Float:
		f, err := d.DecodeFloat32()
		return number{kind: 'f', f: float64(f)}, err
	case c == msgpcode.Double:
		f, err := d.DecodeFloat64()
		return number{kind: 'f', f: f}, err
	case c == msgpcode.Uint8 || c == msgpcode.Uint16 || c == msgpcode.Uint32 || c == msgpcode.Uint64:
		u, err := d.DecodeUint64()
		return number{kind: 'u', u: u}, err
	case msgpcode.IsFixedNum(c) || c == msgpcode.Int8 || c == msgpcode.Int16 || c == msgpcode.Int32 || c == msgpcode.Int64:
		i, err := d.DecodeInt64()
		return number{kind: 'i', i: i}, err
	}
	return number{}, mpTypeError(d, t, c)
}

// DecodeInt reads a whole number of the range of bits-bit integers (a
// float that is one included); nil reads as 0.
func DecodeInt(d *msgpack.Decoder, bits int) (int64, error) {
	if c, err := d.PeekCode(); err == nil && c == msgpcode.Nil {
		return 0, d.Skip()
	}
	n, err := DecodeNumber(d, reflect.TypeFor[int64]())
	if err != nil {
		return 0, err
	}
	return n.toInt(bits)
}

// DecodeUint reads a whole number in 0..2^bits-1; nil reads as 0.
func DecodeUint(d *msgpack.Decoder, bits int) (uint64, error) {
	if c, err := d.PeekCode(); err == nil && c == msgpcode.Nil {
		return 0, d.Skip()
	}
	n, err := DecodeNumber(d, reflect.TypeFor[uint64]())
	if err != nil {
		return 0, err
	}
	return n.toUint(bits)
}

// DecodeFloat reads a finite number (an integer of any size included);
// nil reads as 0.
func DecodeFloat(d *msgpack.Decoder) (float64, error) {
	if c, err := d.PeekCode(); err == nil && c == msgpcode.Nil {
		return 0, d.Skip()
	}
	n, err := DecodeNumber(d, reflect.TypeFor[float64]())
	if err != nil {
		return 0, err
	}
	return n.toFloat(64)
}

// DecodeString reads a string; nil reads as "".
func DecodeString(d *msgpack.Decoder) (string, error) {
	c, err := d.PeekCode()
	if err != nil {
		return "", err
	}
	if c == msgpcode.Nil {
		return "", d.Skip()
	}
	if !msgpcode.IsString(c) {
		return "", mpTypeError(d, reflect.TypeFor[string](), c)
	}
	return d.DecodeString()
}

// mpTypeError skips the value that does not fit t and says what it was.
func mpTypeError(d *msgpack.Decoder, t reflect.Type, c byte) error {
	return typeError(t, describeCode(d, c))
}

// describeCode names the kind of msgpack value that starts with c.
func describeCode(d *msgpack.Decoder, c byte) string {
	switch {
	case c == msgpcode.Nil:
		return "nil"
	case c == msgpcode.True || c == msgpcode.False:
		return "a boolean"
	case msgpcode.IsString(c):
		return "a string"
	case msgpcode.IsBin(c):
		return "binary data"
	case isArrayCode(c):
		return "an array"
	case isMapCode(c):
		return "an object"
	case c == msgpcode.Float || c == msgpcode.Double:
		return "a float"
	case msgpcode.IsFixedNum(c) || (c >= msgpcode.Uint8 && c <= msgpcode.Int64):
		return "an integer"
	case c >= msgpcode.FixExt1 && c <= msgpcode.FixExt16, c >= msgpcode.Ext8 && c <= msgpcode.Ext32:
		return "an extension value"
	}
	return fmt.Sprintf("the unused code 0x%02x", c)
}

func isMapCode(c byte) bool {
	return msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32
}
