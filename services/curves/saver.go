package curves

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// SaveTimeout bounds one save: a store that has not written the curve by
// then fails the acquisition's reply (408).
const SaveTimeout = 10 * time.Second

// Saver is an instrument's save step: it hands a trace to the curve
// store (rp.curves.save) and returns once the store has written it.
type Saver struct {
	nc         *nats.Conn
	instrument string
}

// NewSaver returns the save step of instrument (api.InstrumentScope, ...)
// on nc.
func NewSaver(nc *nats.Conn, instrument string) *Saver {
	return &Saver{nc: nc, instrument: instrument}
}

// Save stores trace, the msgpack encoding of the instrument's reply whose
// curve field is id (from NewID), labelled name and tags. ctx should not
// end with the requester: a curve is saved also when its requester has
// gone. The error, when the curve could not be stored, says why with
// the store's code (503 full or no store, 408 no answer in time, ...).
func (s *Saver) Save(ctx context.Context, trace []byte, id, name string, tags []string) error {
	data, err := encodeSave(s.instrument, labels{ID: id, Instrument: s.instrument, Name: name, Tags: tags}, trace)
	if err != nil {
		return rperr.Errorf(rperr.EInternal, "saving curve %s: %v", id, err)
	}
	ctx, cancel := context.WithTimeout(ctx, SaveTimeout)
	defer cancel()
	reply, err := s.nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: api.CurvesSave, Data: data, Header: wire.Msgpack.Header()})
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return rperr.Errorf(rperr.EUnavailable, "saving curve %s: no curve store answers %s; run `rpbus curves` (rpbus up runs it when JetStream is on)", id, api.CurvesSave)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return rperr.Errorf(rperr.ETimeout, "saving curve %s: the curve store did not answer within %v", id, SaveTimeout)
	case err != nil:
		return rperr.Errorf(rperr.EUnavailable, "saving curve %s: %v", id, err)
	}
	if err := wire.ErrorFromMsg(reply); err != nil {
		return rperr.Errorf(rperr.ErrorCode(err), "saving curve %s: %s", id, rperr.ErrorMessage(err))
	}
	return nil
}

// Check asks the store whether it answers, so that a continuous run
// that saves fails at its start rather than trace after trace.
func (s *Saver) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	reply, err := s.nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: api.CurvesList, Data: []byte(`{"limit":1}`)})
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return rperr.Errorf(rperr.EUnavailable, "save: no curve store answers %s; run `rpbus curves` (rpbus up runs it when JetStream is on)", api.CurvesList)
	case err != nil:
		return rperr.Errorf(rperr.EUnavailable, "save: the curve store does not answer: %v", err)
	}
	return wire.ErrorFromMsg(reply)
}

// encodeSave builds the msgpack CurveData of rp.curves.save around trace
// without decoding it: {"curve": l, instrument: trace}.
func encodeSave(instrument string, l labels, trace []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(trace) + 256)
	enc := newEncoder(&buf)
	if err := enc.EncodeMapLen(2); err != nil {
		return nil, err
	}
	if err := enc.EncodeString("curve"); err != nil {
		return nil, err
	}
	if err := enc.Encode(&l); err != nil {
		return nil, err
	}
	if err := enc.EncodeString(instrument); err != nil {
		return nil, err
	}
	buf.Write(trace)
	return buf.Bytes(), nil
}

// newEncoder is a msgpack encoder configured as wire.Msgpack's.
func newEncoder(buf *bytes.Buffer) *msgpack.Encoder {
	enc := msgpack.NewEncoder(buf)
	enc.SetCustomStructTag("json")
	enc.UseCompactInts(true)
	return enc
}

// ErrorHeader is set on a continuous scope trace that was to be saved
// (save_every) and could not be: the trace is published all the same,
// without a curve id, and the header says why.
const ErrorHeader = "Rpbus-Curve-Error"
