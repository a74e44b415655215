package client

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// DefaultTimeout bounds calls whose context has no deadline and whose
// duration the client cannot derive from the request.
const DefaultTimeout = 5 * time.Second

// Client talks to rpbus services over one NATS connection.
type Client struct {
	nc    *nats.Conn
	codec wire.Codec
	mux   replyMux // for HW.Start
}

// Option configures a Client.
type Option func(*Client) error

// WithJSON makes the client speak JSON instead of msgpack (for debugging:
// msgpack is smaller and much faster for traces).
func WithJSON() Option {
	return func(c *Client) error { c.codec = wire.JSON; return nil }
}

// New returns a client on nc; the caller owns the connection.
func New(nc *nats.Conn, opts ...Option) (*Client, error) {
	c := &Client{nc: nc, codec: wire.Msgpack}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Conn returns the client's connection.
func (c *Client) Conn() *nats.Conn { return c.nc }

// Request sends req to subject and decodes the reply into reply (which may
// be nil). Without a deadline on ctx it waits at most DefaultTimeout.
func (c *Client) Request(ctx context.Context, subject string, req, reply any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	data, err := c.codec.Marshal(req)
	if err != nil {
		return rperr.Invalidf("encoding request for %s: %v", subject, err)
	}
	msg, err := c.nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: subject, Data: data, Header: c.codec.Header()})
	if err != nil {
		return requestError(subject, err)
	}
	if err := wire.ErrorFromMsg(msg); err != nil {
		return err
	}
	if reply == nil {
		return nil
	}
	if err := wire.CodecOf(msg.Header).Unmarshal(msg.Data, reply); err != nil {
		return rperr.Errorf(rperr.EInternal, "decoding reply from %s: %s", subject, rperr.ErrorMessage(err))
	}
	return nil
}

func requestError(subject string, err error) error {
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return rperr.Errorf(rperr.ENotFound, "no service answers %s: unknown board or module, or the service is not running", subject)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return rperr.Errorf(rperr.ETimeout, "%s: no reply in time", subject)
	case errors.Is(err, context.Canceled):
		return rperr.Errorf(rperr.ECancelled, "%s: cancelled", subject)
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining), errors.Is(err, nats.ErrDisconnected):
		return rperr.Errorf(rperr.EUnavailable, "%s: %v", subject, err)
	}
	return rperr.Errorf(rperr.EInternal, "%s: %v", subject, err)
}

// Board is a handle on one board's services.
type Board struct {
	Name string
	HW   *HW
	ASG0 *Generator
	ASG1 *Generator

	c *Client
}

// Board returns a handle on the board called name.
func (c *Client) Board(name string) *Board {
	b := &Board{Name: name, c: c}
	b.HW = &HW{b: b}
	b.ASG0 = &Generator{b: b, name: "asg0"}
	b.ASG1 = &Generator{b: b, name: "asg1"}
	return b
}

func (b *Board) subject(module, verb string) string { return api.Subject(b.Name, module, verb) }

// Info asks the hardware bridge what it serves.
func (b *Board) Info(ctx context.Context) (api.HWInfo, error) {
	var info api.HWInfo
	err := b.c.Request(ctx, b.subject("hw", "info"), struct{}{}, &info)
	return info, err
}

// HW is the raw register access of the bridge.
type HW struct{ b *Board }

// Txn runs the operations as one transaction. Without a deadline on ctx
// it waits TxnWait(ops).
func (h *HW) Txn(ctx context.Context, ops ...api.Op) (api.TxnReply, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, TxnWait(ops))
		defer cancel()
	}
	var reply api.TxnReply
	err := h.b.c.Request(ctx, h.b.subject("hw", "txn"), api.Txn{Ops: ops}, &reply)
	return reply, err
}

// Do runs t so that ending ctx cancels it on the bridge, not only the
// local wait: Do then sends hw.cancel and waits for the transaction's own
// answer, so the FPGA modules are free again when Do returns. t.ID is
// filled in when empty. Without a deadline on ctx it waits at most
// DefaultTimeout.
func (h *HW) Do(ctx context.Context, t api.Txn) (api.TxnReply, error) {
	p, err := h.Start(ctx, t)
	if err != nil {
		return api.TxnReply{}, err
	}
	return p.Wait()
}

// Read reads n words at addr.
func (h *HW) Read(ctx context.Context, addr uint32, n int) ([]uint32, error) {
	r, err := h.Txn(ctx, api.Read(addr, n))
	if err != nil {
		return nil, err
	}
	return r.Results[0].Words, nil
}

// Write writes words at addr.
func (h *HW) Write(ctx context.Context, addr uint32, words ...uint32) error {
	_, err := h.Txn(ctx, api.Write(addr, words...))
	return err
}

// Generator is one of the board's two signal generators.
type Generator struct {
	b    *Board
	name string
}

// Setup changes the given settings and returns all of them as applied.
func (g *Generator) Setup(ctx context.Context, s api.ASGSetup) (api.ASGSettings, error) {
	var applied api.ASGSettings
	err := g.b.c.Request(ctx, g.b.subject(g.name, "setup"), s, &applied)
	return applied, err
}

// Ptr returns a pointer to v, for the optional fields of setup requests:
// api.ASGSetup{Amplitude: client.Ptr(0.5)}.
func Ptr[T any](v T) *T { return &v }
