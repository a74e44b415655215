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

// Waiter is implemented by backends that can wait for a register condition
// more cheaply or more precisely than polling it: the simulated board knows
// when its scope or network-analyzer point will be done and sleeps until
// then. WaitFor returns true as soon as Read(addr)&mask == value, false when
// timeout passes first, and ctx.Err() when ctx ends first.
type Waiter interface {
	WaitFor(ctx context.Context, addr, mask, value uint32, timeout time.Duration) (bool, error)
}
