package hwbridge

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/rpbus/rpbus/acq"
	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/internal/precise"
	"github.com/rpbus/rpbus/regmap"
	"github.com/rpbus/rpbus/rperr"
)

// executor runs transactions on one FPGA with per-module locks.
type executor struct {
	fpga board.FPGA

	locks *moduleLocks

	mu      sync.Mutex
	running map[string]context.CancelFunc // transactions with an id, queued or running
	early   *acq.Precancels               // cancels that arrived before their transaction
}

func newExecutor(f board.FPGA) *executor {
	return &executor{fpga: f, locks: newModuleLocks(), running: map[string]context.CancelFunc{}, early: acq.NewDefaultPrecancels()}
}

// plan validates t and returns the sorted modules it touches.
func plan(t api.Txn) ([]string, error) {
	if len(t.Ops) == 0 {
		return nil, rperr.Invalidf("ops: a transaction needs 1..%d operations, got none", api.MaxTxnOps)
	}
	if len(t.Ops) > api.MaxTxnOps {
		return nil, rperr.Invalidf("ops: %d operations, at most %d per transaction", len(t.Ops), api.MaxTxnOps)
	}
	if err := t.CheckFields(); err != nil {
		return nil, err
	}
	var modules []string
	words := 0
	for i, op := range t.Ops {
		n := 1
		if err := checkSeconds(i, "after", op.After); err != nil {
			return nil, err
		}
		switch op.Op {
		case api.OpRead:
			n = op.N
			if n < 1 || n > api.MaxOpWords {
				return nil, rperr.Invalidf("ops[%d].n: read count %d is outside 1..%d", i, n, api.MaxOpWords)
			}
			if op.Width != 0 && op.Width != 16 && op.Width != 32 {
				return nil, rperr.Invalidf("ops[%d].width: %d, want 32 (the default) or 16", i, op.Width)
			}
			words += n
		case api.OpWrite:
			n = len(op.Words)
			if n < 1 || n > api.MaxOpWords {
				return nil, rperr.Invalidf("ops[%d].words: %d words, a write takes 1..%d", i, n, api.MaxOpWords)
			}
			words += n
		case api.OpWait:
			if err := checkSeconds(i, "timeout", op.Timeout); err != nil {
				return nil, err
			}
			if err := checkSeconds(i, "earliest", op.Earliest); err != nil {
				return nil, err
			}
		default:
			return nil, rperr.Invalidf("ops[%d].op: unknown operation %q, want read, write or wait", i, op.Op)
		}
		if words > api.MaxTxnWords {
			return nil, rperr.Invalidf("ops: the transaction moves more than %d words; split it", api.MaxTxnWords)
		}
		if err := regmap.CheckRange(uint32(op.Addr), n); err != nil {
			return nil, rperr.Invalidf("ops[%d].addr: %s", i, rperr.ErrorMessage(err))
		}
		m, err := regmap.Module(uint32(op.Addr))
		if err != nil {
			return nil, rperr.Invalidf("ops[%d].addr: %s", i, rperr.ErrorMessage(err))
		}
		if !slices.Contains(modules, m) {
			modules = append(modules, m)
		}
	}
	slices.Sort(modules)
	return modules, nil
}

// track registers a transaction's id so cancel can reach it.
func (e *executor) track(ctx context.Context, id string) (context.Context, func(), error) {
	if id == "" {
		return ctx, func() {}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.running[id]; dup {
		cancel()
		return nil, nil, rperr.Invalidf("id: transaction %q is already running", id)
	}
	e.running[id] = cancel
	if e.early.Take(id) {
		cancel()
	}
	return ctx, func() {
		e.mu.Lock()
		delete(e.running, id)
		e.mu.Unlock()
		cancel()
	}, nil
}

// held says whether a transaction with this id is queued or running.
func (e *executor) held(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.running[id]
	return ok
}

// cancel ends the transaction with this id; it answers 499. An id not
// (yet) known is remembered for acq.PrecancelTTL, so a cancel that overtakes
// its transaction still takes effect when the transaction arrives.
func (e *executor) cancel(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.running[id]
	if ok {
		c()
		return true
	}
	e.early.Add(id)
	return false
}

// wordBufs and halfBufs recycle read buffers of transactions answered
// over NATS: a 16384-word read would otherwise allocate 64 KiB per trace.
var (
	wordBufs = sync.Pool{New: func() any { return new([]uint32) }}
	halfBufs = sync.Pool{New: func() any { return new([]uint16) }}
)

// pooledReply is a TxnReply whose read buffers go back to the pools once
// svc has sent it.
type pooledReply struct {
	api.TxnReply
	bufs  []*[]uint32
	halfs []*[]uint16
	// send, when set, sends a part of a streamed read (api.Txn.Stream) to
	// the requester: ops[op]'s words from first on, little-endian.
	send    func(op, first int, data []byte) error
	scratch []byte
}

func (r *pooledReply) Release() {
	for _, b := range r.bufs {
		wordBufs.Put(b)
	}
	for _, b := range r.halfs {
		halfBufs.Put(b)
	}
	r.bufs, r.halfs = nil, nil
}

// words returns a buffer of n words, from the pool when there is one.
func (r *pooledReply) words(n int) []uint32 {
	if r == nil {
		return make([]uint32, n)
	}
	b := wordBufs.Get().(*[]uint32)
	if cap(*b) < n {
		*b = make([]uint32, n)
	}
	r.bufs = append(r.bufs, b)
	return (*b)[:n]
}

// halves returns a buffer of n half words, from the pool when there is one.
func (r *pooledReply) halves(n int) []uint16 {
	if r == nil {
		return make([]uint16, n)
	}
	b := halfBufs.Get().(*[]uint16)
	if cap(*b) < n {
		*b = make([]uint16, n)
	}
	r.halfs = append(r.halfs, b)
	return (*b)[:n]
}

// run executes a valid transaction once its turn comes. With pool set,
// read buffers come from wordBufs and are listed in the returned
// pooledReply. The reads and writes between two waits go to the backend
// as one run (see access); a wait's hint counts from when the op before
// it was sent, so the time the run's answers took to come back is not
// slept again.
func (e *executor) run(ctx context.Context, t api.Txn, modules []string, tn *turn, pool *pooledReply) (api.TxnReply, error) {
	if err := e.locks.wait(ctx, tn); err != nil {
		return api.TxnReply{}, err
	}
	defer e.locks.leave(tn)
	start := time.Now()
	results := make([]api.OpResult, len(t.Ops))
	issued := start // when the op before ops[i] was sent to the board
	for i := 0; i < len(t.Ops); {
		if err := ctx.Err(); err != nil {
			return api.TxnReply{}, rperr.Errorf(rperr.ECancelled, "transaction cancelled before ops[%d]", i)
		}
		op := t.Ops[i]
		if op.Op != api.OpWait {
			j := runEnd(t.Ops, i)
			if err := e.access(ctx, t.Ops[i:j], results[i:j], i, pool, &issued); err != nil {
				return api.TxnReply{}, err
			}
			i = j
			continue
		}
		timeout := op.Timeout
		if timeout == 0 {
			timeout = api.DefaultWait
		}
		var earliest time.Duration
		if op.Earliest > 0 {
			// Already past: still a hint, so the wait polls without
			// backing off.
			earliest = max(seconds(op.Earliest)-time.Since(issued), time.Nanosecond)
		}
		t0 := time.Now()
		ok, err := e.wait(ctx, board.Cond{Addr: uint32(op.Addr), Mask: op.Mask, Value: op.Value,
			Earliest: earliest, Timeout: seconds(timeout)})
		if err != nil {
			return api.TxnReply{}, opError(i, op, err)
		}
		if !ok {
			return api.TxnReply{}, rperr.Errorf(rperr.ETimeout, "ops[%d]: word at %v & %#x did not become %#x within %g s", i, op.Addr, op.Mask, op.Value, timeout)
		}
		issued = time.Now()
		results[i].Waited = issued.Sub(t0).Seconds()
		i++
	}
	return api.TxnReply{Results: results, Modules: modules, Started: api.Unix(start), Elapsed: time.Since(start).Seconds()}, nil
}

// maxRunSleep bounds the time the timed ops (Op.After) of one run may
// hold it: a backend's Batch cannot be cancelled, so a longer run is cut
// there and the bridge sleeps to its next part itself, where a cancel
// reaches it. The cut costs a round trip on a remote board, a quarter of
// a percent of the run's time at the LAN's 125 us each way.
const maxRunSleep = 100 * time.Millisecond

// runEnd returns where the run of reads and writes that starts at
// ops[i] ends: at the next wait, or where its timed ops would hold it
// longer than maxRunSleep.
func runEnd(ops []api.Op, i int) int {
	var slept time.Duration
	j := i + 1
	for ; j < len(ops) && ops[j].Op != api.OpWait; j++ {
		slept += seconds(ops[j].After)
		if slept > maxRunSleep {
			break
		}
	}
	return j
}

// access performs ops, a run of reads and writes that starts at ops[first]
// of the transaction, into results: as one Batch when the backend is a
// board.Batcher (a remote board: one round trip for the run, its timed
// ops sent when their time comes without waiting for answers), else one
// op at a time, each timed one after a sleep. The run's first op is timed
// from issued, which is set to when the last op was sent (no sooner than
// that, for a Batch).
func (e *executor) access(ctx context.Context, ops []api.Op, results []api.OpResult, first int, pool *pooledReply, issued *time.Time) error {
	b, ok := e.fpga.(board.Batcher)
	if !ok {
		for k, op := range ops {
			if err := e.sleep(ctx, *issued, op, first+k); err != nil {
				return err
			}
			*issued = time.Now()
			if err := e.single(first+k, op, &results[k], pool); err != nil {
				return opError(first+k, op, err)
			}
		}
		return nil
	}
	if err := e.sleep(ctx, *issued, ops[0], first); err != nil {
		return err
	}
	run := make([]board.Access, len(ops))
	var timed time.Duration
	for k, op := range ops {
		run[k] = board.Access{Addr: uint32(op.Addr), Write: op.Op == api.OpWrite, Words: op.Words}
		if k > 0 {
			run[k].After = seconds(op.After)
			timed += run[k].After
		}
		if op.Op == api.OpRead {
			run[k].Words = pool.words(op.N)
		}
	}
	*issued = time.Now()
	k, err := b.Batch(run)
	*issued = issued.Add(timed)
	if err != nil {
		return opError(first+k, ops[k], err)
	}
	for k, op := range ops {
		switch {
		case op.Op != api.OpRead:
		case op.Width == 16:
			halves := pool.halves(op.N)
			for n, w := range run[k].Words {
				halves[n] = uint16(w)
			}
			results[k].Halves = halves
		default:
			results[k].Words = run[k].Words
		}
	}
	return nil
}

// sleep waits until op (ops[i]) is due: op.After past last, when the op
// before it was sent.
func (e *executor) sleep(ctx context.Context, last time.Time, op api.Op, i int) error {
	if err := ctx.Err(); err != nil {
		return rperr.Errorf(rperr.ECancelled, "transaction cancelled before ops[%d]", i)
	}
	if op.After <= 0 {
		return nil
	}
	if err := precise.Until(ctx, last.Add(seconds(op.After))); err != nil {
		return rperr.Errorf(rperr.ECancelled, "transaction cancelled before ops[%d]", i)
	}
	return nil
}

// single performs one read or write, ops[i]; a long read is streamed
// when the requester asked for it (see stream).
func (e *executor) single(i int, op api.Op, res *api.OpResult, pool *pooledReply) error {
	addr := uint32(op.Addr)
	if op.Op == api.OpWrite {
		return e.fpga.Write(addr, op.Words)
	}
	cuts := streamCuts(pool, op.N)
	if op.Width == 16 {
		halves := pool.halves(op.N)
		pr, parts := e.fpga.(board.PartReader)
		n, err := stream(pool, i, halves, cuts, func(got func(int) error) error {
			if parts {
				return pr.ReadHalvesParts(addr, halves, cuts, got)
			}
			return readInParts(halves, cuts, got, func(first int, dst []uint16) error { return e.readHalves(addr+4*uint32(first), dst, pool) })
		})
		res.Halves, res.Parts = halves[n:], len(cuts)
		return err
	}
	words := pool.words(op.N)
	n, err := stream(pool, i, words, cuts, func(got func(int) error) error {
		return readInParts(words, cuts, got, func(first int, dst []uint32) error { return e.fpga.Read(addr+4*uint32(first), dst) })
	})
	res.Words, res.Parts = words[n:], len(cuts)
	return err
}

// streamCuts is where a read of n words is cut into parts: none unless the
// requester streams (pool.send), else api.StreamCuts.
func streamCuts(pool *pooledReply, n int) []int {
	if pool == nil || pool.send == nil {
		return nil
	}
	return api.StreamCuts(n)
}

// stream reads buf with read, which calls got(n) once the first n words
// are read, for each n of cuts; each such part goes out as soon as it is
// read, while the board reads the next. It returns the words sent; the
// reply carries the rest of buf.
func stream[W uint16 | uint32](pool *pooledReply, op int, buf []W, cuts []int, read func(got func(n int) error) error) (int, error) {
	sent := 0
	err := read(func(n int) error {
		if err := pool.send(op, sent, partBody(pool, buf[sent:n])); err != nil {
			return rperr.Errorf(rperr.EUnavailable, "sending words %d.. to the requester: %v", sent, err)
		}
		sent = n
		return nil
	})
	if err == nil && len(cuts) > 0 && sent != cuts[len(cuts)-1] {
		err = rperr.Errorf(rperr.EInternal, "the backend handed over %d of %d words in parts", sent, cuts[len(cuts)-1])
	}
	return sent, err
}

// partBody is words as a part carries them (api.PartBody): their own
// memory on a little-endian host (scratch then merely points at it),
// else converted in pool's scratch buffer.
func partBody[W uint16 | uint32](pool *pooledReply, words []W) []byte {
	pool.scratch = api.PartBody(words, pool.scratch)
	return pool.scratch
}

// readInParts reads buf a part at a time with read, calling got(n) after
// the first n words, for each n of cuts: for a backend that cannot read in
// parts itself (board.PartReader).
func readInParts[W uint16 | uint32](buf []W, cuts []int, got func(n int) error, read func(first int, dst []W) error) error {
	n := 0
	for k := 0; k <= len(cuts); k++ {
		end := len(buf)
		if k < len(cuts) {
			end = cuts[k]
		}
		if err := read(n, buf[n:end]); err != nil {
			return err
		}
		if n = end; k < len(cuts) {
			if err := got(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// readHalves reads len(dst) words keeping their low halves: straight
// into dst with a board.HalfReader backend, else through a buffer of
// words.
func (e *executor) readHalves(addr uint32, dst []uint16, pool *pooledReply) error {
	if hr, ok := e.fpga.(board.HalfReader); ok {
		return hr.ReadHalves(addr, dst)
	}
	words := pool.words(len(dst))
	if err := e.fpga.Read(addr, words); err != nil {
		return err
	}
	for k, w := range words {
		dst[k] = uint16(w)
	}
	return nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func opError(i int, op api.Op, err error) error {
	code := rperr.ErrorCode(err)
	if code == rperr.EInternal {
		code = rperr.EUnavailable // the backend failed: the board, not the request
	}
	return rperr.Errorf(code, "ops[%d] (%s at %v): %s", i, op.Op, op.Addr, rperr.ErrorMessage(err))
}

// wait blocks until the condition holds: backends that know when it will
// (board.Waiter) wait themselves, others are polled (board.Poll).
func (e *executor) wait(ctx context.Context, c board.Cond) (bool, error) {
	var ok bool
	var err error
	if w, is := e.fpga.(board.Waiter); is {
		ok, err = w.WaitFor(ctx, c)
	} else {
		ok, err = board.Poll(ctx, e.fpga, c)
	}
	if err != nil && ctx.Err() != nil {
		return false, rperr.Errorf(rperr.ECancelled, "wait cancelled")
	}
	return ok, err
}

// queued is a valid transaction with its place in the module queues.
type queued struct {
	txn     api.Txn
	modules []string
	turn    *turn
}

// enqueue validates t and queues it for its modules.
func (e *executor) enqueue(t api.Txn) (*queued, error) {
	modules, err := plan(t)
	if err != nil {
		return nil, err
	}
	return &queued{txn: t, modules: modules, turn: e.locks.queue(modules)}, nil
}

// execute runs a queued transaction; pool, when not nil, lends the read
// buffers (see run).
func (e *executor) execute(ctx context.Context, q *queued, pool *pooledReply) (api.TxnReply, error) {
	ctx, done, err := e.track(ctx, q.txn.ID)
	if err != nil {
		e.locks.leave(q.turn)
		return api.TxnReply{}, err
	}
	defer done()
	return e.run(ctx, q.txn, q.modules, q.turn, pool)
}

// checkSeconds refuses a time field of ops[i] outside 0..MaxWaitTimeout.
func checkSeconds(i int, name string, v float64) error {
	if v < 0 || v > api.MaxWaitTimeout || math.IsNaN(v) {
		return rperr.Invalidf("ops[%d].%s: %g s is outside 0..%g s", i, name, v, api.MaxWaitTimeout)
	}
	return nil
}
