package wire

import (
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/rpbus/rpbus/rp"
)

// ErrorHeaders returns the micro error code (as a decimal string) and
// description for err.
func ErrorHeaders(err error) (code, description string) {
	return strconv.Itoa(rp.Status(rp.ErrorCode(err))), rp.ErrorMessage(err)
}

// ErrorFromMsg returns the service error a reply carries as an *rp.Error,
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
	return &rp.Error{Code: rp.CodeOf(status), Message: desc}
}
