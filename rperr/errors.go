package rperr

import (
	"context"
	"errors"
	"fmt"
)

// Error codes. They are strings so logs read well; the wire carries the
// HTTP-like numbers of codeTable.
const (
	EInvalid     = "invalid"     // bad input: the message names the field and the allowed range
	ENotFound    = "not_found"   // unknown board, module or acquisition id
	ETimeout     = "timeout"     // a trigger, a register condition or an acquisition did not come in time
	EBusy        = "busy"        // the resource is held and the caller asked not to wait
	ECancelled   = "cancelled"   // cancelled by a cancel or stop request, or by shutdown
	EUnavailable = "unavailable" // the hardware (or a service it needs) cannot be reached
	EInternal    = "internal"    // a bug: anything else
)

// Error is the one domain error of rpbus. Services reply with it; clients
// get it back from the wire with the same code and message.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf is shorthand for Errorf(EInvalid, ...): bad input, naming the
// field and what it allows.
func Invalidf(format string, args ...any) *Error {
	return Errorf(EInvalid, format, args...)
}

// ErrorCode returns the code of err: the Code of an *Error in its chain,
// ETimeout or ECancelled for context errors, EInternal for anything else,
// and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.DeadlineExceeded):
		return ETimeout
	case errors.Is(err, context.Canceled):
		return ECancelled
	}
	return EInternal
}

// ErrorMessage returns the human part of err: an *Error's Message, or the
// whole text of any other error.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// codeTable is the one mapping between codes and the numbers carried in
// micro's Nats-Service-Error-Code header.
var codeTable = []struct {
	code   string
	status int
}{
	{EInvalid, 400},
	{ENotFound, 404},
	{ETimeout, 408},
	{EBusy, 409},
	{ECancelled, 499},
	{EInternal, 500},
	{EUnavailable, 503},
}

// Status returns the wire number for a code (500 for unknown codes).
func Status(code string) int {
	for _, c := range codeTable {
		if c.code == code {
			return c.status
		}
	}
	return 500
}

// CodeOf returns the code for a wire number (EInternal for unknown numbers).
func CodeOf(status int) string {
	for _, c := range codeTable {
		if c.status == status {
			return c.code
		}
	}
	return EInternal
}
