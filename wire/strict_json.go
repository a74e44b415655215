package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// decodeJSON decodes data into the value v points to with the rules of
// decodeMsgpack: objects into structs by exact field name (encoding/json
// matches names whatever their case), numbers checked against the
// field's range, a whole number written as a float (64.0) taken by an
// integer field, every error a *FieldError naming the field. Types with
// their own UnmarshalJSON decode themselves; maps and interfaces go to
// encoding/json.
func decodeJSON(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("wire: decoding into %T, want a non-nil pointer", v)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := jsValue(dec, rv.Elem()); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fieldErrorf("trailing data after the JSON value")
	}
	return nil
}

// unmarshalerOf returns v (or what v points to, allocated) as a
// json.Unmarshaler when its type has UnmarshalJSON.
func hasUnmarshalJSON(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(jsonUnmarshaler)
}

func jsValue(dec *json.Decoder, v reflect.Value) error {
	t := v.Type()
	if hasUnmarshalJSON(t) || (t.Kind() == reflect.Pointer && hasUnmarshalJSON(t.Elem())) ||
		t.Kind() == reflect.Interface || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		return jsRaw(dec, v)
	}
	tok, err := dec.Token()
	if err != nil {
		return jsError(err)
	}
	return jsToken(dec, v, tok)
}

// jsRaw hands one whole value to the type's UnmarshalJSON, or to
// encoding/json for maps and interfaces.
func jsRaw(dec *json.Decoder, v reflect.Value) error {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return jsError(err)
	}
	if v.Kind() == reflect.Pointer && hasUnmarshalJSON(v.Type().Elem()) {
		if string(raw) == "null" {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	var err error
	if hasUnmarshalJSON(v.Type()) {
		err = v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw)
	} else {
		err = json.Unmarshal(raw, v.Addr().Interface())
	}
	if err != nil {
		return fieldErrorf(describeJSON(err))
	}
	return nil
}

func jsToken(dec *json.Decoder, v reflect.Value, tok json.Token) error {
	if tok == nil { // null leaves a value as it is, as in encoding/json
		if v.Kind() == reflect.Pointer || v.Kind() == reflect.Slice {
			v.SetZero()
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		b, ok := tok.(bool)
		if !ok {
			return jsTypeError(dec, v.Type(), tok)
		}
		v.SetBool(b)
		return nil
	case reflect.String:
		s, ok := tok.(string)
		if !ok {
			return jsTypeError(dec, v.Type(), tok)
		}
		v.SetString(s)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		num, ok := tok.(json.Number)
		if !ok {
			return jsTypeError(dec, v.Type(), tok)
		}
		n, err := parseJSONNumber(string(num))
		if err != nil {
			return err
		}
		return setNumber(v, n)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return jsToken(dec, v.Elem(), tok)
	case reflect.Slice:
		if tok != json.Delim('[') {
			return jsTypeError(dec, v.Type(), tok)
		}
		n := 0
		v.SetLen(0)
		for ; dec.More(); n++ {
			if n >= v.Cap() {
				grown := reflect.MakeSlice(v.Type(), n+1, max(2*v.Cap(), 4))
				reflect.Copy(grown, v)
				v.Set(grown)
			} else {
				v.SetLen(n + 1)
			}
			elem := v.Index(n)
			elem.SetZero()
			if err := jsValue(dec, elem); err != nil {
				return AtIndex(n, err)
			}
		}
		if v.IsNil() {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		}
		_, err := dec.Token() // ]
		return jsError(err)
	case reflect.Struct:
		if tok != json.Delim('{') {
			return jsTypeError(dec, v.Type(), tok)
		}
		sf := fieldsOf(v.Type())
		var seen seenSet
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return jsError(err)
			}
			key, _ := kt.(string)
			f := sf.byName[key]
			if f == nil {
				return sf.unknownField(key)
			}
			if !seen.add(f.seq) {
				return DuplicateField(string(key))
			}
			if err := jsValue(dec, fieldValue(v, f.index)); err != nil {
				return AtField(f.name, err)
			}
		}
		_, err := dec.Token() // }
		return jsError(err)
	}
	return fieldErrorf("cannot decode into " + v.Type().String())
}

// parseJSONNumber reads a JSON number's text as an integer when it is
// written as one and fits 64 bits, else as a float.
func parseJSONNumber(s string) (number, error) {
	if !strings.ContainsAny(s, ".eE") {
		if s[0] == '-' {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return number{kind: 'i', i: i}, nil
			}
		} else if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return number{kind: 'u', u: u}, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return number{}, fieldErrorf(s + " is outside the range of a number (±1.8e308)")
	}
	return number{kind: 'f', f: f}, nil
}

// jsTypeError skips the rest of a value whose first token does not fit t
// and says what it was.
func jsTypeError(dec *json.Decoder, t reflect.Type, tok json.Token) error {
	var got string
	switch x := tok.(type) {
	case json.Delim:
		if x == '{' {
			got = "an object"
		} else {
			got = "an array"
		}
	case bool:
		got = "a boolean"
	case string:
		got = "a string"
	case json.Number:
		got = "the number " + string(x)
	}
	return typeError(t, got)
}

// jsError turns a decoder error into what the requester reads; syntax
// errors and truncation stay errors of the whole request.
func jsError(err error) error {
	if err == nil {
		return nil
	}
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// describeJSON turns encoding/json's errors into messages for a requester.
func describeJSON(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%s: want %s, got %s", te.Field, kindName(te.Type), te.Value)
		}
		return fmt.Sprintf("want %s, got %s", kindName(te.Type), te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
