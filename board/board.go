package board

import (
	"context"
	"time"
)

// FPGA is a board's register space, 32-bit words at absolute addresses
// (0x40000000 and up). Implementations must be safe for concurrent use;
// the hardware bridge serialises access per FPGA module itself, so an
// implementation need only keep each single call consistent.
type FPGA interface {
	// Read fills dst with len(dst) consecutive words starting at addr.
	Read(addr uint32, dst []uint32) error
	// Write stores src at len(src) consecutive words starting at addr.
	Write(addr uint32, src []uint32) error
	// Close releases the backend.
	Close() error
}

// HalfReader is implemented by backends that can read the low halves of
// consecutive words straight into 16-bit values (the scope's 14-bit
// samples) without going through a buffer of whole words.
type HalfReader interface {
	ReadHalves(addr uint32, dst []uint16) error
}

// PartReader is implemented by backends that hand over a long read's
// words while the rest is still read, so that a bridge can send them on
// (api.Txn.Stream). ReadHalvesParts reads as ReadHalves does and calls
// got(n) as soon as the first n words of dst are read, for each n of
// cuts (increasing, above 0, below len(dst)); an error from got ends the
// read. The simulated board keeps the bus as one access, its words
// coming while got runs. A backend without it (devmem, whose CPU both
// reads and sends) is read a part at a time by the bridge.
type PartReader interface {
	ReadHalvesParts(addr uint32, dst []uint16, cuts []int, got func(n int) error) error
}

// Cond is a register condition a transaction waits for: the word at Addr,
// masked with Mask, equals Value.
type Cond struct {
	Addr, Mask, Value uint32
	// Earliest is how long after the wait begins the condition can first
	// hold, when the caller knows it (a trace's acquisition time, a
	// network-analyzer point's duration); 0 means unknown. A backend may
	// sleep until then instead of polling.
	Earliest time.Duration
	// Timeout ends the wait unmet.
	Timeout time.Duration
}

// Waiter is implemented by backends that can wait for a register condition
// more cheaply or more precisely than Poll: the simulated board knows when
// its scope or network-analyzer point will be done and sleeps until then.
// WaitFor returns true as soon as the condition holds, false when
// c.Timeout passes first, and ctx.Err() when ctx ends first.
type Waiter interface {
	WaitFor(ctx context.Context, c Cond) (bool, error)
}

// Access is one read or write of a Batch.
type Access struct {
	Addr  uint32
	Write bool
	// Words are the words to store (a write) or the buffer a read fills.
	Words []uint32
	// After, when positive, holds the access back until this long after
	// the access before it was sent (the first: after Batch was called),
	// and a remote backend also until this long after the access before
	// it took effect as far as its answer shows: a board-side clock's
	// timing, kept by the bridge's.
	After time.Duration
}

// Batcher is implemented by backends for which a run of accesses costs
// less sent together than one by one: a remote board can take a whole
// run in about one round trip instead of one per access.
type Batcher interface {
	// Batch performs run in order, with the effect of the same sequence
	// of Read and Write calls, each sent no sooner than its After. When an access fails it returns its index
	// in run and the error: the accesses before it took effect, the ones
	// after it may or may not have.
	Batch(run []Access) (failed int, err error)
}
