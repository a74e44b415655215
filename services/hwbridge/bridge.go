package hwbridge

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/board/design"
	"github.com/rpbus/rpbus/board/sim"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/svc"
)

// ErrConfigValidation is wrapped by every configuration error of Start.
var ErrConfigValidation = errors.New("hwbridge: invalid configuration")

// Version of the bridge, reported by hw.info and micro.
const Version = "0.1.0"

var boardName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Config describes the board a bridge owns.
type Config struct {
	Board   string     // board name, the second subject token: rp.<board>...
	Backend string     // "sim", "monitor" or "devmem", reported by hw.info
	Address string     // the board's host:port for the monitor backend
	FPGA    board.FPGA // the register space; the bridge does not close it
	Model   sim.Config // the simulated board's model, reported by hw.info; zero for a real board
	OS      string     // the board's operating system, reported by hw.info (devmem)

	// Probe decides whether the FPGA may be used (see design.Probe); nil
	// checks FPGA's signature alone. Until it passes, every request but
	// hw.cancel answers 503 with its message, and each one checks again.
	Probe *design.Probe
	// Recheck, when positive, is how old a passed check may grow before
	// a request checks again: it notices a design replaced under the
	// bridge (devmem, where a check costs microseconds).
	Recheck time.Duration
}

// Bridge serves one board.
type Bridge struct {
	cfg      Config
	exec     *executor
	gens     []*generator
	svc      *svc.Service
	probe    *design.Probe
	gate     gate
	instance string     // this run of the bridge (hw.info)
	check    boardCheck // hw.info's read of the board (health.go)
}

// Start validates cfg and serves the board's subjects on nc.
func Start(nc *nats.Conn, cfg Config) (*Bridge, error) {
	if !boardName.MatchString(cfg.Board) {
		return nil, fmt.Errorf("%w: board name %q must be 1..64 letters, digits, - or _", ErrConfigValidation, cfg.Board)
	}
	if cfg.FPGA == nil {
		return nil, fmt.Errorf("%w: no FPGA backend", ErrConfigValidation)
	}
	b := &Bridge{cfg: cfg, exec: newExecutor(cfg.FPGA), probe: cfg.Probe, instance: nuid.Next()}
	if b.probe == nil {
		b.probe = &design.Probe{FPGA: cfg.FPGA}
	}
	b.gens = newGenerators(b)
	_ = b.ready() // the first check; Ready tells its result
	s, err := svc.New(nc, svc.Config{
		Name:        "hwbridge",
		Version:     Version,
		Description: "Red Pitaya hardware bridge: the only process that touches board " + cfg.Board,
		Metadata:    map[string]string{"board": cfg.Board, "backend": cfg.Backend},
		MaxInFlight: 1024,
	})
	if err != nil {
		return nil, err
	}
	b.svc = s
	type endpoint struct {
		name, module, verb string
		h                  svc.Handler
		meta               map[string]string
		prep               svc.Prepare
	}
	eps := []endpoint{
		{"txn", "hw", "txn", b.handleTxn, map[string]string{
			"request": `{"id":"optional, for hw.cancel","ops":[{"op":"read","addr":"0x40100000","n":1},{"op":"write","addr":"0x40100000","words":[2]},{"op":"wait","addr":"0x40100000","mask":1,"value":0,"timeout":1}]}`,
			"reply":   `{"results":[{"words":[...]},{},{"waited":0.0001}],"modules":["scope"],"elapsed":0.0002}`,
			"limits":  fmt.Sprintf("1..%d ops; 1..%d words per read or write; %d words per transaction; wait timeout 0..%g s", api.MaxTxnOps, api.MaxOpWords, api.MaxTxnWords, api.MaxWaitTimeout),
			"order":   "transactions on a module run one at a time, in the order they arrive",
		}, b.prepareTxn},
		{"cancel", "hw", "cancel", b.handleCancel, map[string]string{"request": `{"id":"scope-42"}`, "reply": `{"id":"scope-42","cancelled":true}`}, nil},
		{"held", "hw", "held", b.handleHeld, map[string]string{"request": `{"id":"scope-42"}`, "reply": `{"id":"scope-42","held":true}`,
			"use": "a requester still waiting checks that the bridge holds its transaction"}, nil},
		{"info", "hw", "info", b.handleInfo, map[string]string{"request": "empty", "reply": "backend, board, clock, bitstream, modules, signals, generators, os, design, reachable, board_error, read_time, instance"}, nil},
	}
	for _, g := range b.gens {
		eps = append(eps, endpoint{g.name + "_setup", g.name, "setup", g.handleSetup, setupMetadata, nil})
	}
	for _, ep := range eps {
		if err := s.AddPrepared(ep.name, api.Subject(cfg.Board, ep.module, ep.verb), ep.prep, ep.h, ep.meta); err != nil {
			_ = s.Stop(context.Background())
			return nil, fmt.Errorf("hwbridge: endpoint %s: %w", ep.name, err)
		}
	}
	return b, nil
}

// Exec runs a transaction in process, as hw.txn does.
func (b *Bridge) Exec(ctx context.Context, t api.Txn) (api.TxnReply, error) {
	if err := b.ready(); err != nil {
		return api.TxnReply{}, err
	}
	q, err := b.exec.enqueue(t)
	if err != nil {
		return api.TxnReply{}, err
	}
	return b.exec.execute(ctx, q, nil)
}

// Stop stops serving: requests in flight are answered until ctx ends.
func (b *Bridge) Stop(ctx context.Context) error { return b.svc.Stop(ctx) }

// prepareTxn decodes and validates a transaction and queues it for its
// modules, in the order transactions arrive.
func (b *Bridge) prepareTxn(req *svc.Request) (any, error) {
	var t api.Txn
	if err := req.Decode(&t); err != nil {
		return nil, err
	}
	t.Stream = req.Headers().Get(api.StreamHeader) == "1"
	return b.exec.enqueue(t)
}

func (b *Bridge) handleTxn(ctx context.Context, req *svc.Request) (any, error) {
	q := req.Prepared.(*queued)
	if err := b.ready(); err != nil {
		b.exec.locks.leave(q.turn)
		return nil, err
	}
	reply := &pooledReply{}
	if q.txn.Stream {
		reply.send = func(op, first int, data []byte) error {
			return req.Send(data, nats.Header{api.PartHeader: []string{api.PartValue(op, first)}})
		}
	}
	r, err := b.exec.execute(ctx, q, reply)
	if err != nil {
		reply.Release()
		return nil, err
	}
	reply.TxnReply = r
	return reply, nil
}

func (b *Bridge) handleCancel(ctx context.Context, req *svc.Request) (any, error) {
	var c api.TxnCancel
	if err := req.Decode(&c); err != nil {
		return nil, err
	}
	if c.ID == "" {
		return nil, rperr.Invalidf("id: the id of the transaction to cancel is required")
	}
	if len(c.ID) > api.MaxTxnID {
		return nil, rperr.Invalidf("id: %d characters, at most %d", len(c.ID), api.MaxTxnID)
	}
	return api.TxnCancelReply{ID: c.ID, Cancelled: b.exec.cancel(c.ID)}, nil
}

func (b *Bridge) handleHeld(ctx context.Context, req *svc.Request) (any, error) {
	var c api.TxnCancel
	if err := req.Decode(&c); err != nil {
		return nil, err
	}
	if c.ID == "" || len(c.ID) > api.MaxTxnID {
		return nil, rperr.Invalidf("id: %d characters, want 1..%d", len(c.ID), api.MaxTxnID)
	}
	return api.TxnHeldReply{ID: c.ID, Held: b.exec.held(c.ID)}, nil
}

func (b *Bridge) handleInfo(ctx context.Context, req *svc.Request) (any, error) {
	if err := req.DecodeEmpty(); err != nil {
		return nil, err
	}
	if err := b.ready(); err != nil {
		return nil, err
	}
	info := b.Info()
	info.Liveness = b.liveness()
	return info, nil
}

// Info describes the board and the bridge.
func (b *Bridge) Info() api.HWInfo {
	gens := make([]string, len(b.gens))
	for i, g := range b.gens {
		gens[i] = g.name
	}
	var model any
	if b.cfg.Model != (sim.Config{}) {
		model = b.cfg.Model
	}
	return api.HWInfo{
		Board:       b.cfg.Board,
		Backend:     b.cfg.Backend,
		Address:     b.cfg.Address,
		Clock:       regmap.Clock,
		Bitstream:   "PyRPL",
		Samples:     regmap.ScopeBufferLen,
		Decimations: regmap.Decimations,
		Modules:     modules(),
		Signals:     signals(),
		Generators:  gens,
		Version:     Version,
		Model:       model,
		OS:          b.cfg.OS,
		Design:      b.designInfo(),
	}
}

// modules lists the FPGA modules a transaction can hold: the blocks and
// the DSP slots.
func modules() []string {
	m := []string{"hk", "scope", "asg", "ams"}
	return append(m, signals()...)
}

// signals lists the DSP slots, which are also what an input select chooses.
func signals() []string {
	s := make([]string, regmap.NumSlots)
	for i := range s {
		s[i] = regmap.SlotName(i)
	}
	return s
}
