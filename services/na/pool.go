package na

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// NumIQ is the number of IQ modules a sweep can borrow (iq0..iq2).
const NumIQ = 3

// The claim marker lives in the IQ module's quadrature_factor register
// (g3, 18 bits), which a sweep does not use (its output_signal is
// output_direct): bit 17 set means "held by an NA", bits 0..16 are the
// holder instance's tag.
const (
	MarkerAddrOffset = regmap.IQQuadratureFactor
	MarkerHeld       = 1 << 17
	markerMask       = 1<<18 - 1
	tagMask          = MarkerHeld - 1
)

// pollInterval is how often a request waiting in line retries modules
// held by other instances (a release here wakes it at once).
const pollInterval = 20 * time.Millisecond

// casTimeout is the wait op's timeout in a claim: one read is enough.
const casTimeout = 1e-6

func iqBase(k int) uint32 { return regmap.Slot(regmap.SlotIQ0 + k) }

// aliveSubject is where the instance with tag answers while it runs. It
// has three tokens so that acq's _RPBUS.<module>.*.* never matches it.
func aliveSubject(tag uint32) string { return fmt.Sprintf("_RPBUS.na-holder.%05x", tag) }

// claim is one borrowed IQ module.
type claim struct {
	k     int
	saved uint32 // the marker register's value before the claim
	// then are the results of the ops that went with the claim (setup),
	// sent is when the claiming transaction went out.
	then []api.OpResult
	sent time.Time
}

// thenOps are ops for module k that go in the claim's own transaction,
// behind the marker's write: they run only once the module is ours, and
// cost no round trip of their own.
type thenOps func(k int) []api.Op

// boardPool is one board's IQ modules as this instance sees them.
type boardPool struct {
	held    [NumIQ]bool
	queue   []*int        // waiting requests, first in line first
	changed chan struct{} // closed and replaced whenever held, queue or releasing change
	// releasing counts modules being given back after their sweep's
	// reply; a claim waits for them, so that sweeps one after another
	// keep to one module rather than spilling onto the next.
	releasing int
	pace      *pacer // the margin of open-loop sweeps
}

// pool borrows IQ modules per board. Within the instance requests wait in
// line (FIFO); across instances the marker register's check-and-set (one
// bridge transaction: wait for the free marker, then write ours) keeps two
// instances off one module.
type pool struct {
	nc  *nats.Conn
	c   *client.Client
	tag uint32

	mu     sync.Mutex
	boards map[string]*boardPool
}

func (p *pool) board(name string) *boardPool {
	bp := p.boards[name]
	if bp == nil {
		bp = &boardPool{changed: make(chan struct{}), pace: newPacer()}
		p.boards[name] = bp
	}
	return bp
}

// pacer returns board's open-loop margin.
func (p *pool) pacer(board string) *pacer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.board(board).pace
}

func (bp *boardPool) notify() {
	close(bp.changed)
	bp.changed = make(chan struct{})
}

// acquire borrows a free IQ module of board for the caller, waiting in
// line until one is free or ctx ends; with noWait it answers 409 at once.
func (p *pool) acquire(ctx context.Context, board string, noWait bool, then thenOps) (claim, error) {
	ticket := new(int)
	p.mu.Lock()
	bp := p.board(board)
	if !noWait {
		bp.queue = append(bp.queue, ticket)
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		for i, t := range bp.queue {
			if t == ticket {
				bp.queue = append(bp.queue[:i], bp.queue[i+1:]...)
				bp.notify()
				break
			}
		}
		p.mu.Unlock()
	}()
	for {
		p.mu.Lock()
		first := noWait || (len(bp.queue) > 0 && bp.queue[0] == ticket)
		changed := bp.changed
		releasing := bp.releasing > 0
		p.mu.Unlock()
		if releasing {
			// This instance's own module comes back within a transaction.
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return claim{}, ctx.Err()
			}
		}
		var holders []string
		if first {
			c, ok, hs, err := p.tryAll(ctx, board, bp, then)
			if err != nil || ok {
				return c, err
			}
			holders = hs
		}
		if noWait {
			return claim{}, rperr.Errorf(rperr.EBusy, "no IQ module free on board %s (%s) and no_wait is set", board, strings.Join(holders, ", "))
		}
		t := time.NewTimer(pollInterval)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return claim{}, ctx.Err()
		}
		t.Stop()
	}
}

// tryAll tries to claim each module this instance does not hold, and
// says who holds the others.
func (p *pool) tryAll(ctx context.Context, board string, bp *boardPool, then thenOps) (claim, bool, []string, error) {
	var holders []string
	for k := 0; k < NumIQ; k++ {
		p.mu.Lock()
		if bp.held[k] {
			p.mu.Unlock()
			holders = append(holders, fmt.Sprintf("iq%d: a sweep of this instance", k))
			continue
		}
		bp.held[k] = true
		p.mu.Unlock()
		c, holder, err := p.claimModule(ctx, board, k, then)
		if err == nil && holder == "" {
			return c, true, nil, nil
		}
		p.mu.Lock()
		bp.held[k] = false
		p.mu.Unlock()
		if err != nil {
			return claim{}, false, nil, err
		}
		holders = append(holders, fmt.Sprintf("iq%d: %s", k, holder))
	}
	return claim{}, false, holders, nil
}

// claimModule checks and sets iq k's marker. It returns the holder's
// description when another holds the module. A marker left by an
// instance that no longer answers on its alive subject (it crashed) is
// taken over.
func (p *pool) claimModule(ctx context.Context, board string, k int, then thenOps) (claim, string, error) {
	b := p.c.Board(board)
	addr := iqBase(k) + MarkerAddrOffset
	ours := MarkerHeld | p.tag
	var more []api.Op
	if then != nil {
		more = then(k)
	}
	cctx, cancel := context.WithTimeout(ctx, client.DefaultTimeout)
	defer cancel()
	sent := time.Now()
	r, err := b.HW.Txn(cctx, append([]api.Op{api.Wait(addr, MarkerHeld, 0, casTimeout), api.Read(addr, 1), api.Write(addr, ours)}, more...)...)
	if err == nil {
		return claim{k: k, saved: r.Results[1].Words[0], then: r.Results[3:], sent: sent}, "", nil
	}
	if rperr.ErrorCode(err) != rperr.ETimeout || cctx.Err() != nil {
		if len(more) > 0 {
			p.abandon(board, k)
		}
		return claim{}, "", err
	}
	// Held: by whom?
	w, err := b.HW.Read(cctx, addr, 1)
	if err != nil {
		return claim{}, "", err
	}
	marker := w[0] & markerMask
	if marker&MarkerHeld == 0 {
		return claim{}, "released just now", nil
	}
	tag := marker & tagMask
	if tag != p.tag && p.alive(cctx, tag) {
		return claim{}, fmt.Sprintf("NA instance %05x", tag), nil
	}
	// Stale: its holder is gone (or is this instance, which does not hold
	// it, after a failed release). Take it over if the marker is unchanged.
	sent = time.Now()
	r, err = b.HW.Txn(cctx, append([]api.Op{api.Wait(addr, markerMask, marker, casTimeout), api.Write(addr, ours)}, more...)...)
	if err != nil {
		if rperr.ErrorCode(err) == rperr.ETimeout && cctx.Err() == nil {
			return claim{}, "taken over by another instance just now", nil
		}
		if len(more) > 0 {
			p.abandon(board, k)
		}
		return claim{}, "", err
	}
	return claim{k: k, then: r.Results[2:], sent: sent}, "", nil
}

// alive reports whether the instance with tag answers; any doubt counts
// as alive, so a module is never taken from a live sweep.
func (p *pool) alive(ctx context.Context, tag uint32) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := p.nc.RequestWithContext(ctx, aliveSubject(tag), nil)
	return !errors.Is(err, nats.ErrNoResponders)
}

// abandon undoes a claim whose transaction failed part way, when its
// marker may be ours and the ops behind it may have turned the output on
// (see giveBack; the marker's old value went down with the claim, so it
// is cleared). Best effort: a bridge that failed the claim may fail this
// too.
func (p *pool) abandon(board string, k int) { _ = p.giveBack(board, k, 0) }

// release gives module c back (giveBack) and tells this instance's
// waiting claims. It runs even after the sweep's context ended. later
// says the release was announced with releaseLater.
func (p *pool) release(board string, c claim, later bool) error {
	err := p.giveBack(board, c.k, c.saved)
	p.mu.Lock()
	bp := p.board(board)
	bp.held[c.k] = false
	if later {
		bp.releasing--
	}
	bp.notify()
	p.mu.Unlock()
	return err
}

// giveBack turns iq k's output off and writes saved to its marker
// register, in one transaction, if the marker is still ours: one that
// another instance took over (it found this one gone) is theirs, output
// and all.
func (p *pool) giveBack(board string, k int, saved uint32) error {
	ctx, cancel := context.WithTimeout(context.Background(), client.DefaultTimeout)
	defer cancel()
	base := iqBase(k)
	addr := base + MarkerAddrOffset
	ops := append([]api.Op{api.Wait(addr, markerMask, MarkerHeld|p.tag, casTimeout)}, silenceOps(base)...)
	_, err := p.c.Board(board).HW.Txn(ctx, append(ops, api.Write(addr, saved))...)
	return err
}

// releaseLater announces that c's module will be given back after the
// sweep's reply (release with later set): until then the board's claims
// wait for it.
func (p *pool) releaseLater(board string) {
	p.mu.Lock()
	p.board(board).releasing++
	p.mu.Unlock()
}
