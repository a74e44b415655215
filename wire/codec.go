package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/rpbus/rpbus/rperr"
)

// Header names and content types of the contract.
const (
	ContentTypeHeader = "Content-Type"
	MsgpackType       = "application/msgpack"
	JSONType          = "application/json"
)

// Codec is one of the two encodings.
type Codec int

const (
	JSON Codec = iota
	Msgpack
)

// CodecOf returns the codec a message asks for: msgpack when its
// Content-Type says so, JSON otherwise.
func CodecOf(h nats.Header) Codec {
	if h != nil && strings.HasPrefix(h.Get(ContentTypeHeader), MsgpackType) {
		return Msgpack
	}
	return JSON
}

func (c Codec) String() string {
	if c == Msgpack {
		return MsgpackType
	}
	return JSONType
}

// Header returns the Content-Type header for c.
func (c Codec) Header() nats.Header {
	return nats.Header{ContentTypeHeader: []string{c.String()}}
}

// Marshal encodes v.
func (c Codec) Marshal(v any) ([]byte, error) { return c.Append(nil, v) }

// Append encodes v after the bytes of dst and returns the extended slice,
// so a caller can encode into a buffer it reuses.
func (c Codec) Append(dst []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	if c == Msgpack {
		enc := msgpack.GetEncoder()
		defer msgpack.PutEncoder(enc)
		enc.Reset(buf)
		enc.SetCustomStructTag("json")
		enc.UseCompactInts(true)
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // Encode ends with a newline; Marshal does not
}

// Unmarshal decodes data into v strictly: an unknown field (names are
// case-sensitive), a field given twice, a number outside its field's
// range or a value of the wrong type is an error naming the field, in
// both encodings alike; a float that is a whole number fills an integer
// field, and any integer a float field. Empty data leaves v as it is
// (every request field is optional on the wire). Errors are *rperr.Error
// with code EInvalid.
func (c Codec) Unmarshal(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var err error
	if c == Msgpack {
		err = decodeMsgpack(data, v)
	} else {
		err = decodeJSON(data, v)
	}
	if err == nil {
		return nil
	}
	var re *rperr.Error
	var fe *FieldError
	switch {
	case errors.As(err, &re):
		return re
	case errors.As(err, &fe) && (fe.Path != "" || fe.aboutField):
		return rperr.Invalidf("%s", fe.Error())
	case errors.As(err, &fe):
		return rperr.Invalidf("malformed %s request: %s", c.name(), fe.Msg)
	}
	return rperr.Invalidf("malformed %s request: %s", c.name(), describe(err))
}

func (c Codec) name() string {
	if c == Msgpack {
		return "msgpack"
	}
	return "JSON"
}

// describe turns decoder errors into messages that name the field.
func describe(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d: %v", se.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "truncated input"
	}
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "json: "), "msgpack: ")
}
