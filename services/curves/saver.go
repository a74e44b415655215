package curves

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/svc"
	"github.com/rpbus/rpbus/wire"
)

// SaveTimeout bounds one save: a curve not written by then fails the
// acquisition's reply (408).
const SaveTimeout = 10 * time.Second

// roomTries bounds how often a save asks the store for room.
const roomTries = 3

// Saver is an instrument's save step: it writes a trace and its metadata
// into the store's stream and bucket itself, both in one round trip, and
// asks the curve service for room (rp.curves.room) only when the stream
// is full. Writing directly spares each save a hop through the service
// (docs/benchmarks.md, curve store, has the two side by side).
type Saver struct {
	nc         *nats.Conn
	instrument string
	w          writer
}

// NewSaver returns the save step of instrument (api.InstrumentScope, ...)
// on nc.
func NewSaver(nc *nats.Conn, instrument string) *Saver {
	js, _ := jetstream.New(nc) // fails only on bad options: there are none
	return &Saver{nc: nc, instrument: instrument, w: writer{js: js}}
}

// Save stores trace, the msgpack encoding of the instrument's reply whose
// curve field is id (from NewID), labelled name and tags, and returns once
// JetStream has it. ctx should not end with the requester: a curve is
// saved also when its requester has gone. The error says why a curve
// could not be stored, with its code (503 no store or full of kept
// curves, 408 no answer in time, ...).
func (s *Saver) Save(ctx context.Context, trace []byte, id, name string, tags []string) error {
	ctx, cancel := context.WithTimeout(ctx, SaveTimeout)
	defer cancel()
	c := api.Curve{ID: id, Instrument: s.instrument, User: svc.UserOf(ctx), Name: name, Tags: tags, Bytes: len(trace)}
	r := bytes.NewReader(trace)
	if _, err := describe(newDecoder(r), r, s.instrument, &c); err != nil {
		return rperr.Errorf(rperr.EInternal, "saving curve %s: the trace does not read back: %s", id, rperr.ErrorMessage(err))
	}
	c.Saved = api.Unix(time.Now())
	meta, err := wire.JSON.Marshal(c)
	if err != nil {
		return rperr.Errorf(rperr.EInternal, "saving curve %s: encoding metadata: %v", id, err)
	}
	for try := 0; ; try++ {
		_, err = s.w.put(ctx, id, s.instrument, trace, meta)
		if !isFull(err) || try == roomTries {
			break
		}
		if err := s.askRoom(ctx, id, len(trace), len(meta)); err != nil {
			return err
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders):
		return rperr.Errorf(rperr.EUnavailable, "saving curve %s: there is no curve store (no stream %s): run `rpbus curves` (rpbus up runs it when JetStream is on)", id, TracesStream)
	case errors.Is(err, context.DeadlineExceeded):
		return rperr.Errorf(rperr.ETimeout, "saving curve %s: JetStream did not take it within %v", id, SaveTimeout)
	case isWrongLast(err):
		return rperr.Errorf(rperr.EBusy, "saving curve %s: the id is taken by a stored curve", id)
	case isFull(err):
		return rperr.Errorf(rperr.EUnavailable, "saving curve %s: the curve store stayed full after %d requests for room", id, roomTries)
	}
	return rperr.Errorf(rperr.EUnavailable, "saving curve %s: %v", id, err)
}

// askRoom asks the curve service to make room for a curve.
func (s *Saver) askRoom(ctx context.Context, id string, traceBytes, metaBytes int) error {
	body, _ := wire.Msgpack.Marshal(api.CurveRoom{Bytes: int64(traceBytes), MetaBytes: int64(metaBytes)})
	reply, err := s.nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: api.CurvesRoom, Data: body, Header: wire.Msgpack.Header()})
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return rperr.Errorf(rperr.EUnavailable, "saving curve %s: the curve store is full and no curve service answers %s to make room: run `rpbus curves`", id, api.CurvesRoom)
	case err != nil:
		return rperr.Errorf(rperr.EUnavailable, "saving curve %s: asking for room: %v", id, err)
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

// ErrorHeader is set on a continuous scope trace that was to be saved
// (save_every) and could not be: the trace is published all the same,
// without a curve id, and the header says why.
const ErrorHeader = "Rpbus-Curve-Error"

// newEncoder is a msgpack encoder configured as wire.Msgpack's.
func newEncoder(buf *bytes.Buffer) *msgpack.Encoder {
	enc := msgpack.NewEncoder(buf)
	enc.SetCustomStructTag("json")
	enc.UseCompactInts(true)
	return enc
}
