package wire

import (
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// FieldError is a value that does not fit the field it is decoded into.
// Path names the field as a request writes it ("ops[2].addr"; empty for
// the whole value), Msg what is wrong and what the field takes.
type FieldError struct {
	Path string
	Msg  string
	// aboutField: Msg names a field itself (an unknown one, one given
	// twice), so the error is about a field even with no Path.
	aboutField bool
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// AtField places err under the field called name: its path becomes
// name.path. Truncated input stays an error of the whole value.
func AtField(name string, err error) error {
	return at(err, func(p string) string {
		if p == "" || p[0] == '[' {
			return name + p
		}
		return name + "." + p
	})
}

// AtIndex places err under element i of an array: [i].path.
func AtIndex(i int, err error) error {
	idx := "[" + strconv.Itoa(i) + "]"
	return at(err, func(p string) string {
		if p == "" || p[0] == '[' {
			return idx + p
		}
		return idx + "." + p
	})
}

func at(err error, join func(string) string) error {
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &se) {
		return err
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Path: join(fe.Path), Msg: fe.Msg, aboutField: fe.aboutField}
	}
	return &FieldError{Path: join(""), Msg: strings.TrimPrefix(err.Error(), "msgpack: ")}
}

// fieldErrorf is a FieldError of the value itself (its caller adds the path).
func fieldErrorf(msg string) error { return &FieldError{Msg: msg} }

// UnknownField is the error of a map key that names no field.
func UnknownField(key string) error {
	return &FieldError{Msg: "unknown field " + quote(key), aboutField: true}
}

// DuplicateField is the error of a field given twice in one map.
func DuplicateField(key string) error {
	return &FieldError{Msg: "field " + quote(key) + " given twice", aboutField: true}
}
