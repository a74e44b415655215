package specan

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/acq"
	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/dsp/spectrum"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/services/curves"
	"github.com/rpbus/rpbus/svc"
	"github.com/rpbus/rpbus/wire"
)

// Version of the service, reported by micro.
const Version = "0.1.0"

// Module is the instrument's subject token: rp.<board>.specan.<verb>.
const Module = "specan"

// ErrConfigValidation is wrapped by every configuration error of Start.
var ErrConfigValidation = errors.New("specan: invalid configuration")

// Limits of Config.
const (
	DefaultInFlight = 4
	MaxInFlight     = 16
	DefaultSpectra  = 32
	// ProgressInterval is how often a running spectrum publishes progress.
	ProgressInterval = 100 * time.Millisecond
)

// Config configures the service. Zero values take the defaults.
type Config struct {
	// InFlight is how many scope requests one spectrum keeps in flight
	// (1..MaxInFlight, default 4). The scope keeps up to three of a board
	// at the bridge and the fourth ready behind them, so a reply that
	// comes back late does not leave the board idle. Each in flight is a
	// 64 KiB reply that may be pending on the connection at once.
	InFlight int
	// MaxSpectra bounds the spectra computed at once by this instance
	// (default 32); further requests wait in the subscription.
	MaxSpectra int
	// Plans caches the DSP plans; nil means spectrum.DefaultCache.
	Plans *spectrum.Cache
}

// Service is a running spectrum analyzer serving every board.
type Service struct {
	cfg     Config
	c       *client.Client
	svc     *svc.Service
	tracker *acq.Tracker
	saver   *curves.Saver
}

// Start serves rp.*.specan.single, .cancel and .stop on nc. It gets its
// traces from rp.<board>.scope.single on the same connection.
func Start(nc *nats.Conn, cfg Config) (*Service, error) {
	if cfg.InFlight == 0 {
		cfg.InFlight = DefaultInFlight
	}
	if cfg.InFlight < 1 || cfg.InFlight > MaxInFlight {
		return nil, fmt.Errorf("%w: InFlight %d, want 1..%d", ErrConfigValidation, cfg.InFlight, MaxInFlight)
	}
	if cfg.MaxSpectra == 0 {
		cfg.MaxSpectra = DefaultSpectra
	}
	if cfg.MaxSpectra < 1 {
		return nil, fmt.Errorf("%w: MaxSpectra %d, want at least 1", ErrConfigValidation, cfg.MaxSpectra)
	}
	if nc == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrConfigValidation)
	}
	if cfg.Plans == nil {
		cfg.Plans = spectrum.DefaultCache
	}
	c, err := client.New(nc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfigValidation, err)
	}
	s := &Service{cfg: cfg, c: c, tracker: acq.New(nc, Module), saver: curves.NewSaver(nc, api.InstrumentSpecan)}
	s.svc, err = svc.New(nc, svc.Config{
		Name:        "specan",
		Version:     Version,
		Description: "Red Pitaya spectrum analyzer: averaged spectra from scope traces, every board",
		Metadata:    map[string]string{"boards": "*", "in_flight": strconv.Itoa(cfg.InFlight)},
		MaxInFlight: cfg.MaxSpectra + 64, // room for cancel and stop while spectra run
	})
	if err != nil {
		return nil, err
	}
	if err := s.svc.Add("single", "rp.*."+Module+".single", s.handleSingle, singleMetadata); err != nil {
		_ = s.svc.Stop(context.Background())
		return nil, fmt.Errorf("specan: endpoint single: %w", err)
	}
	if err := s.tracker.AddEndpoints(s.svc); err != nil {
		_ = s.svc.Stop(context.Background())
		s.tracker.Close()
		return nil, fmt.Errorf("specan: cancel and stop endpoints: %w", err)
	}
	return s, nil
}

var singleMetadata = map[string]string{
	"request": `{"decimation":8,"input1":"in1","input2":"in2","window":"flattop","trace_average":10,"unit":"dB(Vrms^2/Hz)","cross":true}`,
	"reply":   `{"id":"...","settings":{...},"frequencies":[...],"ch1":[...],"ch2":[...],"cross_re":[...],"cross_im":[...],"cross_unit":"Vrms^2/Hz","rbw":...,"enbw":...,"traces":10,"requested":...,"started":...,"ended":...}`,
	"limits": fmt.Sprintf("span 0..125e6 Hz (rounded up to 125e6/2^k) or decimation 1..65536 (powers of two); window %s; unit %s; trace_average 1..%d; timeout 0..%d s",
		joinWindows(), joinUnits(), MaxTraceAverage, MaxTimeout),
	"events": "rp.<board>.specan.progress {id, done, total}; rp.<board>.specan.done (the reply)",
}

// Stop stops taking requests, lets the spectra in flight finish until ctx
// ends, then cancels the rest (they answer 499).
func (s *Service) Stop(ctx context.Context) error {
	err := s.svc.Stop(ctx)
	s.tracker.Close()
	return err
}

func (s *Service) handleSingle(ctx context.Context, req *svc.Request) (any, error) {
	var in api.SpecanSettings
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := s.rbw(&in); err != nil {
		return nil, err
	}
	p, err := newPlan(in)
	if err != nil {
		return nil, err
	}
	if err := curves.CheckLabels(in.Save, in.Name, in.Tags); err != nil {
		return nil, err
	}
	dspPlan, err := s.cfg.Plans.Plan(spectrum.Settings{Length: regmap.ScopeBufferLen, Window: p.window, Decimation: p.dec})
	if err != nil {
		return nil, rperr.Errorf(rperr.EInternal, "plan: %s", rperr.ErrorMessage(err))
	}
	board := req.Board()
	if in.Save {
		req.Detach() // the saved spectrum is found later by its id
	}
	a, err := s.tracker.Start(ctx, board, in.ID)
	if err != nil {
		return nil, err
	}
	defer a.End()
	p.applied.ID = a.ID
	an := dspPlan.NewAnalyzer()
	defer an.Release()

	sp, err := s.run(a, board, p, an)
	if err != nil {
		sp.Settings, sp.Requested = p.applied, api.Unix(req.Received)
		_ = s.tracker.PublishFailure(board, sp, err)
		return nil, err
	}
	sp.Requested = api.Unix(req.Received)
	s.fill(&sp, p, an)
	var saved []byte
	if p.applied.Save {
		sp.Curve = curves.NewID()
		if saved, err = wire.Msgpack.Marshal(sp); err != nil {
			return nil, rperr.Errorf(rperr.EInternal, "specan: encoding the spectrum: %v", err)
		}
		if err := s.saver.Save(ctx, saved, sp.Curve, p.applied.Name, p.applied.Tags); err != nil {
			_ = s.tracker.PublishFailure(board, sp, err)
			return nil, err
		}
	}
	done := func() { _ = s.tracker.Publish(board, "done", sp) }
	if saved != nil && req.Codec == wire.Msgpack {
		return svc.ReplyFirst{Reply: svc.Raw{Data: saved, Header: wire.Msgpack.Header()}, Then: done}, nil // the bytes stored
	}
	return svc.ReplyFirst{Reply: sp, Then: done}, nil
}

// rbw turns PyRPL's rbw into the decimation it picks, with the window
// asked for.
func (s *Service) rbw(in *api.SpecanSettings) error {
	if in.RBW == 0 {
		return nil
	}
	if in.Span != 0 || in.Decimation != 0 {
		return rperr.Invalidf("rbw, span, decimation: give one of them (rbw %v Hz, span %v Hz, decimation %d)", in.RBW, in.Span, in.Decimation)
	}
	w := DefaultWindow
	if in.Window != "" {
		var err error
		if w, err = spectrum.ParseWindow(in.Window); err != nil {
			return rperr.Invalidf("window: %q; allowed: %s", in.Window, joinWindows())
		}
	}
	dspPlan, err := s.cfg.Plans.Plan(spectrum.Settings{Length: regmap.ScopeBufferLen, Window: w, Decimation: 1})
	if err != nil {
		return rperr.Errorf(rperr.EInternal, "plan: %s", rperr.ErrorMessage(err))
	}
	if in.Decimation, err = RBWDecimation(in.RBW, dspPlan.ENBW()); err != nil {
		return err
	}
	in.RBW = 0
	return nil
}

// fill writes the averaged spectra, converted, into sp.
func (s *Service) fill(sp *api.Spectrum, p plan, an *spectrum.Analyzer) {
	dp := an.Plan()
	sp.Settings = p.applied
	sp.Frequencies = dp.Frequencies(nil)
	sp.Ch1 = dp.Convert(nil, an.Mean(nil, spectrum.Ch1), p.unit)
	sp.Ch2 = dp.Convert(nil, an.Mean(nil, spectrum.Ch2), p.unit)
	sp.RBW, sp.ENBW = dp.RBW(), dp.ENBW()
	sp.Traces = an.Count()
	if p.applied.Cross {
		g := crossScale(p.unit, sp.RBW)
		sp.CrossRe = an.Mean(nil, spectrum.CrossRe)
		sp.CrossIm = an.Mean(nil, spectrum.CrossIm)
		for k := range sp.CrossRe {
			sp.CrossRe[k] *= g
			sp.CrossIm[k] *= g
		}
		sp.CrossUnit = string(crossUnit(p.unit))
	}
}

// errDetail wraps a scope error so the requester sees where it came from,
// keeping its code.
func errDetail(id string, done, total int, err error) error {
	return rperr.Errorf(rperr.ErrorCode(err), "spectrum %s: scope trace %d of %d: %s", id, done+1, total, rperr.ErrorMessage(err))
}
