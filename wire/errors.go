package wire

import (
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/rpbus/rpbus/rperr"
)

// ErrorHeaders returns the micro error code (as a decimal string) and
// description for err.
func ErrorHeaders(err error) (code, description string) {
	return strconv.Itoa(rperr.Status(rperr.ErrorCode(err))), rperr.ErrorMessage(err)
}

// ErrorFromMsg returns the service error a reply carries as an *rperr.Error,
// or nil when the reply is not an error. A reply from no responder is
// reported by nats.go itself (nats.ErrNoResponders), not here.
func ErrorFromMsg(msg *nats.Msg) error {
	if msg == nil || msg.Header == nil {
		return nil
	}
	desc := msg.Header.Get(micro.ErrorHeader)
	code := msg.Header.Get(micro.ErrorCodeHeader)
	if desc == "" && code == "" {
		return nil
	}
	status, err := strconv.Atoi(code)
	if err != nil {
		status = 500
	}
	return &rperr.Error{Code: rperr.CodeOf(status), Message: desc}
}
