package na

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/acq"
	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/curves"
	"github.com/rpbus/rpbus/svc"
	"github.com/rpbus/rpbus/wire"
)

// ErrConfigValidation is wrapped by every configuration error of Start.
var ErrConfigValidation = errors.New("na: invalid configuration")

// Version of the service, reported by micro.
const Version = "0.1.0"

// Defaults of Config.
const (
	DefaultChunkTime        = 25 * time.Millisecond
	DefaultProgressInterval = 50 * time.Millisecond
)

// Config configures the service.
type Config struct {
	// ChunkTime is the hardware time one bridge transaction carries
	// (default 25 ms); progress events follow chunks. 1 ms .. 1 s.
	ChunkTime time.Duration
	// ProgressInterval is the period of progress events during a sweep
	// (default 50 ms, at most 100 ms).
	ProgressInterval time.Duration
	// Logger gets failures the requester cannot see (a release that
	// failed); nil: slog.Default().
	Logger *slog.Logger
}

// Service is a running network analyzer serving every board.
type Service struct {
	cfg   Config
	nc    *nats.Conn
	c     *client.Client
	saver *curves.Saver
	svc   *svc.Service
	acq   *acq.Tracker
	pool  *pool
	// releases are modules given back after their sweep's reply.
	releases sync.WaitGroup
	sub      *nats.Subscription
	log      *slog.Logger
}

// Start serves rp.*.na.single, .cancel and .stop on nc (queue group "q":
// several instances share the load). The caller owns nc.
func Start(nc *nats.Conn, cfg Config) (*Service, error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrConfigValidation)
	}
	if cfg.ChunkTime == 0 {
		cfg.ChunkTime = DefaultChunkTime
	}
	if cfg.ChunkTime < time.Millisecond || cfg.ChunkTime > time.Second {
		return nil, fmt.Errorf("%w: ChunkTime %v is outside 1ms..1s", ErrConfigValidation, cfg.ChunkTime)
	}
	if cfg.ProgressInterval == 0 {
		cfg.ProgressInterval = DefaultProgressInterval
	}
	if cfg.ProgressInterval < time.Millisecond || cfg.ProgressInterval > 100*time.Millisecond {
		return nil, fmt.Errorf("%w: ProgressInterval %v is outside 1ms..100ms", ErrConfigValidation, cfg.ProgressInterval)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c, err := client.New(nc)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, nc: nc, c: c, log: cfg.Logger, acq: acq.New(nc, "na"), saver: curves.NewSaver(nc, api.InstrumentNA)}
	s.pool = &pool{nc: nc, c: c, boards: map[string]*boardPool{}}
	if err := s.pickTag(); err != nil {
		return nil, err
	}
	s.svc, err = svc.New(nc, svc.Config{
		Name:        "na",
		Version:     Version,
		Description: "Red Pitaya network analyzer: swept transfer functions with the IQ modules, every board",
		Metadata:    map[string]string{"module": "na", "instance": fmt.Sprintf("%05x", s.pool.tag)},
	})
	if err != nil {
		_ = s.sub.Unsubscribe()
		return nil, err
	}
	err = s.svc.Add("single", "rp.*.na.single", s.handleSingle, singleMetadata)
	if err == nil {
		err = s.acq.AddEndpoints(s.svc)
	}
	if err != nil {
		_ = s.Stop(context.Background())
		return nil, fmt.Errorf("na: endpoints: %w", err)
	}
	return s, nil
}

var singleMetadata = map[string]string{
	"request": `{"start_freq":1e5,"stop_freq":5e6,"points":1001,"rbw":1000,"average_per_point":1,"amplitude":0.1,"input":"in1","output_direct":"out1","acbandwidth":0,"logscale":true,"auto_bandwidth":false,"q_factor_min":10,"trace_average":1,"timeout":0,"no_wait":false,"id":"optional"}`,
	"reply":   `{"id":"...","board":"sim","iq":"iq0","settings":{...},"frequencies":[...],"re":[...],"im":[...],"hardware_time":1.5,"requested":0,"started":0,"ended":0}`,
	"limits": fmt.Sprintf("start_freq, stop_freq %.4g..%g Hz; points 1..%d; rbw %.4g..%.4g Hz; amplitude 0..1 V; input %v; output_direct off, out1, out2, both; acbandwidth 0..%.4g Hz; trace_average 1..%d",
		freqStep, 62.5e6, MaxPoints, rbwOptions[0], rbwOptions[len(rbwOptions)-1], Inputs, acOptions[len(acOptions)-1], MaxTraceAverage),
	"events": "rp.<board>.na.progress (api.Progress, every 50 ms), rp.<board>.na.done (api.NATrace; error headers when the sweep failed)",
}

// pickTag chooses the instance's marker tag: random, nonzero, and not
// answered by another live instance; then answers on its alive subject.
func (s *Service) pickTag() error {
	for try := 0; try < 8; try++ {
		var b [4]byte
		_, _ = rand.Read(b[:])
		tag := binary.LittleEndian.Uint32(b[:]) & tagMask
		if tag == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := s.nc.RequestWithContext(ctx, aliveSubject(tag), nil)
		cancel()
		if err == nil {
			continue // taken
		}
		sub, err := s.nc.Subscribe(aliveSubject(tag), func(m *nats.Msg) { _ = m.Respond(nil) })
		if err != nil {
			return fmt.Errorf("na: alive subscription: %w", err)
		}
		s.pool.tag, s.sub = tag, sub
		return nil
	}
	return errors.New("na: no free instance tag")
}

// Stop stops taking requests, lets sweeps in flight finish until ctx
// ends, then cancels them (their modules are released).
func (s *Service) Stop(ctx context.Context) error {
	var err error
	if s.svc != nil {
		err = s.svc.Stop(ctx)
	}
	// Modules given back after their replies; each within a transaction's
	// timeout, or left to their bridge when ctx ends first.
	released := make(chan struct{})
	go func() { s.releases.Wait(); close(released) }()
	select {
	case <-released:
	case <-ctx.Done():
	}
	s.acq.Close()
	if s.sub != nil {
		_ = s.sub.Unsubscribe()
	}
	return err
}

func (s *Service) handleSingle(ctx context.Context, req *svc.Request) (any, error) {
	var set api.NASettings
	if err := req.Decode(&set); err != nil {
		return nil, err
	}
	p, err := newPlan(set, s.nc.MaxPayload(), req.Codec == wire.JSON)
	if err != nil {
		return nil, err
	}
	if err := curves.CheckLabels(set.Save, set.Name, set.Tags); err != nil {
		return nil, err
	}
	board := req.Board()
	if set.Save {
		req.Detach() // the saved sweep is found later by its id
	}
	tctx, cancel := context.WithTimeout(ctx, time.Duration(p.s.Timeout*float64(time.Second)))
	defer cancel()
	a, err := s.acq.Start(tctx, board, set.ID)
	if err != nil {
		return nil, err
	}
	defer a.End()
	p.s.ID = a.ID
	tr, err := s.sweep(a, p, req.Received)
	if err != nil {
		if a.Context().Err() != nil {
			err = a.Err()
		}
		if perr := s.acq.PublishFailure(board, tr, err); perr != nil {
			s.log.Warn("na: publishing done", "board", board, "id", a.ID, "err", perr)
		}
		return nil, err
	}
	var saved []byte
	if p.s.Save {
		if saved, err = s.save(ctx, &tr); err != nil {
			if perr := s.acq.PublishFailure(board, tr, err); perr != nil {
				s.log.Warn("na: publishing done", "board", board, "id", a.ID, "err", perr)
			}
			return nil, err
		}
	}
	done := func() {
		if err := s.acq.Publish(board, "done", tr); err != nil {
			s.log.Warn("na: publishing done", "board", board, "id", a.ID, "err", err)
		}
	}
	if saved != nil && req.Codec == wire.Msgpack {
		return svc.ReplyFirst{Reply: svc.Raw{Data: saved, Header: wire.Msgpack.Header()}, Then: done}, nil // the bytes stored
	}
	return svc.ReplyFirst{Reply: tr, Then: done}, nil
}

// save stores the sweep in the curve store and returns the msgpack bytes
// stored, with the curve id that tr now carries.
func (s *Service) save(ctx context.Context, tr *api.NATrace) ([]byte, error) {
	tr.Curve = curves.NewID()
	data, err := wire.Msgpack.Marshal(tr)
	if err != nil {
		return nil, rperr.Errorf(rperr.EInternal, "na: encoding the sweep: %v", err)
	}
	return data, s.saver.Save(ctx, data, tr.Curve, tr.Settings.Name, tr.Settings.Tags)
}

// sweep borrows a module, sets it up, runs the chunks and releases it.
func (s *Service) sweep(a *acq.Handle, p *plan, received time.Time) (api.NATrace, error) {
	ctx := a.Context()
	tr := api.NATrace{ID: a.ID, Board: a.Board, Settings: p.s, HardwareTime: p.hwTime}
	tr.Requested = api.Unix(received)
	b := s.c.Board(a.Board)
	hw := b.HW
	open := make(chan bool, 1)
	go func() { open <- openLoop(ctx, b) }()
	// The module is set up in the claim's own transaction.
	cl, err := s.pool.acquire(ctx, a.Board, p.s.NoWait, func(k int) []api.Op { return p.setupOps(iqBase(k)) })
	if err != nil {
		return tr, err
	}
	tr.IQ = fmt.Sprintf("iq%d", cl.k)
	// The last chunk turns the output off; the module is given back after
	// the reply unless a point measured again may have run after it.
	quiet := false
	defer func() {
		if quiet {
			s.pool.releaseLater(a.Board)
			s.releases.Go(func() { s.release(a.Board, cl, true) })
		} else {
			s.release(a.Board, cl, false)
		}
	}()
	tr.Started = api.Unix(cl.sent)
	// The module's "on" is its bit in the DSP sync word, shared by all
	// modules; the NA reads it but leaves it alone.
	if on := cl.then[len(cl.then)-1].Words[0]; on&(1<<(regmap.SlotIQ0+cl.k)) == 0 {
		return tr, rperr.Errorf(rperr.EUnavailable, "%s is switched off (DSP sync word %#x has bit %d clear)", tr.IQ, on, regmap.SlotIQ0+cl.k)
	}
	pr := &progress{p: api.Progress{ID: a.ID, Total: len(p.points) * p.s.TraceAverage}}
	stop := s.publishProgress(a.Board, pr)
	var pc *pacer
	if <-open {
		pc = s.pool.pacer(a.Board)
	}
	vals, times, redone, silent, err := p.run(ctx, hw, cl.k, s.cfg.ChunkTime, pc, pr)
	stop()
	if pc != nil {
		s.log.Debug("na: points measured again after an early read", "board", a.Board, "id", a.ID, "points", redone, "margin", pc.get())
	}
	tr.Ended = api.Unix(time.Now())
	if err != nil {
		return tr, err
	}
	quiet = silent
	tr.Frequencies = make(wire.F64, len(p.points))
	tr.Re = make(wire.F64, len(vals))
	tr.Im = make(wire.F64, len(vals))
	for i, v := range vals {
		tr.Frequencies[i] = p.points[i].freq
		tr.Re[i], tr.Im[i] = real(v), imag(v)
	}
	if times != nil {
		tr.Time = times
	}
	return tr, nil
}

// release gives module cl back (pool.release), logging a failure.
func (s *Service) release(board string, cl claim, later bool) {
	if err := s.pool.release(board, cl, later); err != nil {
		s.log.Warn("na: releasing the IQ module", "board", board, "iq", fmt.Sprintf("iq%d", cl.k), "err", err)
	}
}

// openLoop says whether board's sweeps run open loop: where a network
// separates the bridge from the board (the monitor backend), each point
// would otherwise cost a round trip of polling. On the board itself a
// wait sees a point's end within microseconds, closer than the open
// loop's margin. Without an answer the sweep runs closed loop, which is
// right everywhere.
func openLoop(ctx context.Context, b *client.Board) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	info, err := b.Info(ctx)
	return err == nil && info.Backend == "monitor"
}

// publishProgress publishes pr every ProgressInterval until the returned
// stop is called.
func (s *Service) publishProgress(board string, pr *progress) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(s.cfg.ProgressInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = s.acq.Publish(board, "progress", pr.get())
			}
		}
	}()
	return func() { close(done); <-finished }
}
