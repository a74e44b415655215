package curves

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rpbus/rpbus/rperr"
)

// The layout in JetStream (docs/curves.md says why):
//
//   - stream TracesStream: one message per curve on TraceSubject(id), the
//     trace's msgpack bytes as the instrument's reply carried them; read
//     with a direct get (one round trip, served by any replica); its
//     max_bytes is the store's size;
//   - KV bucket MetaBucket: key id, the curve's metadata in JSON, at most
//     a quarter of the store's size; its watch feeds every instance's
//     index, deletes included.
const (
	TracesStream = "RPBUS_CURVES"
	tracePrefix  = "rpbus.curves."
	MetaBucket   = "rpbus_curves"
)

// TraceSubject is the subject of curve id's trace in TracesStream.
func TraceSubject(id string) string { return tracePrefix + id }

// markerTTL is how long a deleted curve's purge marker stays in the
// metadata bucket: long enough for every instance's watch to see it.
const markerTTL = 24 * time.Hour

// maxMetaBytes bounds one curve's metadata (a settings map, a note of 4
// KiB, 32 tags ...).
const maxMetaBytes = 64 << 10

// writer writes new curves: the instruments' Savers and the service's
// uploads share it.
type writer struct {
	js jetstream.JetStream
}

// store is the service's side: the writer and handles on the stream, the
// bucket and the bucket's stream.
type store struct {
	writer
	traces     jetstream.Stream
	meta       jetstream.KeyValue
	metaStream jetstream.Stream
}

// metaMaxBytes is the bucket's size for a store of maxBytes.
func metaMaxBytes(maxBytes int64) int64 { return max(maxBytes/4, MinMaxBytes/4) }

// openStore creates or updates the stream and the bucket, retrying while
// JetStream is not ready (a cluster electing its leaders) until ctx ends.
func openStore(ctx context.Context, nc *nats.Conn, maxBytes int64, replicas int) (*store, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	st := &store{writer: writer{js: js}}
	for {
		err = st.create(ctx, maxBytes, replicas)
		if err == nil {
			return st, nil
		}
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("curves: JetStream is not enabled for this connection's account: start the server with JetStream (rpbus up --data DIR, nats-server -js, or jetstream: enabled for the account): %w", err)
		}
		var api *jetstream.APIError
		if errors.As(err, &api) && !notReady[api.ErrorCode] {
			if api.ErrorCode == jsInsufficientResources || api.ErrorCode == jsStorageExceeded {
				return nil, fmt.Errorf("curves: JetStream has no room for a store of %d bytes x %d replicas: give a smaller --max-bytes, or the server more (max_file_store): %w", maxBytes, replicas, err)
			}
			return nil, fmt.Errorf("curves: JetStream refused the store's configuration: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("curves: JetStream not ready: %w", err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// JetStream's answers that mean "not now" (a cluster electing leaders),
// after which openStore tries again; any other answer is final.
var notReady = map[jetstream.ErrorCode]bool{
	10008: true, // JetStream system temporarily unavailable
	10009: true, // JetStream cluster can not handle request
}

// JetStream's answers that mean the server has not the room asked for.
const (
	jsInsufficientResources jetstream.ErrorCode = 10023
	jsStorageExceeded       jetstream.ErrorCode = 10047
)

func (st *store) create(ctx context.Context, maxBytes int64, replicas int) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var err error
	st.traces, err = st.js.CreateOrUpdateStream(cctx, jetstream.StreamConfig{
		Name:              TracesStream,
		Description:       "rpbus curves: one trace per curve, msgpack as the instrument sent it",
		Subjects:          []string{tracePrefix + "*"},
		Storage:           jetstream.FileStorage,
		Replicas:          replicas,
		MaxBytes:          maxBytes,
		Discard:           jetstream.DiscardNew,
		MaxMsgsPerSubject: 1,
		AllowDirect:       true,
		DenyDelete:        false,
	})
	if err != nil {
		return err
	}
	st.meta, err = st.js.CreateOrUpdateKeyValue(cctx, jetstream.KeyValueConfig{
		Bucket:         MetaBucket,
		Description:    "rpbus curves: each curve's metadata (JSON), by curve id",
		MaxValueSize:   maxMetaBytes,
		History:        1,
		Storage:        jetstream.FileStorage,
		MaxBytes:       metaMaxBytes(maxBytes),
		Replicas:       replicas,
		LimitMarkerTTL: markerTTL,
	})
	if err != nil {
		return err
	}
	st.metaStream, err = st.js.Stream(cctx, metaStream)
	return err
}

// put stores a new curve: its trace and its metadata, published together
// and acknowledged together (one round trip, not two); the id must be
// new. When one of the two is refused, the other is taken back, so the
// store holds both or neither. It returns the metadata's revision.
func (w writer) put(ctx context.Context, id, instrument string, raw, meta []byte) (uint64, error) {
	trace := &nats.Msg{Subject: TraceSubject(id), Data: raw, Header: nats.Header{instrumentHeader: []string{instrument}}}
	ft, err := w.js.PublishMsgAsync(trace, jetstream.WithExpectLastSequencePerSubject(0), jetstream.WithExpectStream(TracesStream))
	if err != nil {
		return 0, err
	}
	fm, merr := w.js.PublishMsgAsync(&nats.Msg{Subject: metaSubject(id), Data: meta},
		jetstream.WithExpectLastSequencePerSubject(0), jetstream.WithExpectStream(metaStream))
	_, terr := ack(ctx, ft)
	var rev uint64
	if merr == nil {
		rev, merr = ack(ctx, fm)
	}
	if terr == nil && isWrongLast(merr) {
		// The key was deleted before (a save that found no room and was
		// taken back): write over its delete marker, as KV's Create does.
		rev, merr = w.overMarker(ctx, id, meta)
	}
	undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	switch {
	case terr != nil && merr == nil:
		if kv, err := w.js.KeyValue(undo, MetaBucket); err == nil {
			_ = kv.Purge(undo, id, jetstream.PurgeTTL(markerTTL))
		}
	case terr == nil && merr != nil:
		if st, err := w.js.Stream(undo, TracesStream); err == nil {
			_ = st.Purge(undo, jetstream.WithPurgeSubject(TraceSubject(id)))
		}
	}
	if terr != nil {
		return 0, terr
	}
	return rev, merr
}

// overMarker writes a curve's metadata over the delete or purge marker
// its key holds; a key that holds metadata is taken.
func (w writer) overMarker(ctx context.Context, id string, meta []byte) (uint64, error) {
	st, err := w.js.Stream(ctx, metaStream)
	if err != nil {
		return 0, err
	}
	last, err := st.GetLastMsgForSubject(ctx, metaSubject(id))
	if err != nil {
		return 0, err
	}
	if op := last.Header.Get("KV-Operation"); op != "DEL" && op != "PURGE" {
		return 0, jetstream.ErrKeyExists
	}
	a, err := w.js.PublishMsg(ctx, &nats.Msg{Subject: metaSubject(id), Data: meta},
		jetstream.WithExpectLastSequencePerSubject(last.Sequence), jetstream.WithExpectStream(metaStream))
	if err != nil {
		return 0, err
	}
	return a.Sequence, nil
}

// ack waits for a publish's acknowledgement: the message's sequence.
func ack(ctx context.Context, f jetstream.PubAckFuture) (uint64, error) {
	select {
	case a := <-f.Ok():
		return a.Sequence, nil
	case err := <-f.Err():
		return 0, err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// metaStream and metaSubject are the bucket's stream and a key's subject.
const metaStream = "KV_" + MetaBucket

func metaSubject(id string) string { return "$KV." + MetaBucket + "." + id }

// instrumentHeader names the instrument of a stored trace, so a trace
// tells what it is without its metadata.
const instrumentHeader = "Rpbus-Instrument"

// trace reads a curve's trace; nil, nil when there is none.
func (st *store) trace(ctx context.Context, id string) ([]byte, error) {
	m, err := direct(ctx, func(ctx context.Context) (*jetstream.RawStreamMsg, error) {
		return st.traces.GetLastMsgForSubject(ctx, TraceSubject(id))
	})
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}

// directTry bounds one try of a direct get.
const directTry = 500 * time.Millisecond

// direct runs a direct get, trying again while ctx lasts when a try gets
// no answer: the replicas answer direct gets as a queue group, and one
// that is not current after a leader change drops the request and lets
// the requester ask again, which may then reach a current one.
func direct(ctx context.Context, get func(context.Context) (*jetstream.RawStreamMsg, error)) (*jetstream.RawStreamMsg, error) {
	for {
		tctx, cancel := context.WithTimeout(ctx, directTry)
		m, err := get(tctx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return m, err
		}
	}
}

// remove deletes a curve's trace and metadata.
func (st *store) remove(ctx context.Context, id string) error {
	if err := st.traces.Purge(ctx, jetstream.WithPurgeSubject(TraceSubject(id))); err != nil {
		return err
	}
	err := st.meta.Purge(ctx, id, jetstream.PurgeTTL(markerTTL))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

// isFull reports a publish the stream refused for its byte limit.
func isFull(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && strings.Contains(api.Description, "maximum bytes")
}

// isWrongLast reports a write refused because the subject or key already
// had a message (or another revision).
func isWrongLast(err error) bool {
	var api *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// unavailable wraps a JetStream failure as a 503 that says what failed.
func unavailable(what string, err error) error {
	if rperr.ErrorCode(err) == rperr.ETimeout || errors.Is(err, nats.ErrTimeout) {
		return rperr.Errorf(rperr.ETimeout, "curve store: %s: JetStream did not answer in time", what)
	}
	return rperr.Errorf(rperr.EUnavailable, "curve store: %s: %v", what, err)
}
