package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// Register operations of an hw.txn transaction.
const (
	OpRead  = "read"  // read N words at Addr
	OpWrite = "write" // write Words at Addr
	OpWait  = "wait"  // wait until word(Addr) & Mask == Value, for at most Timeout seconds
)

// Limits of one transaction, so one request cannot hold a module for long
// or build a reply larger than a NATS message.
const (
	MaxOpWords     = 65535  // words one read or write may move (the monitor protocol's limit)
	MaxTxnOps      = 16384  // operations per transaction
	MaxTxnWords    = 131072 // words read plus written per transaction (512 KiB)
	MaxWaitTimeout = 3600.0 // seconds one wait may last
	DefaultWait    = 1.0    // seconds a wait lasts when Timeout is 0
	// MaxTxnID bounds a transaction id: an instrument's acquisition id (at
	// most 128 characters) with its name before it and a trace number after.
	MaxTxnID = 192
)

// CheckFields refuses what a transaction carries that its operations do
// not take (a read's words, a write's count, a wait's width, ...) and an
// id longer than MaxTxnID: a requester who wrote them meant something
// the bridge would not do.
func (t Txn) CheckFields() error {
	if len(t.ID) > MaxTxnID {
		return rperr.Invalidf("id: %d characters, at most %d", len(t.ID), MaxTxnID)
	}
	for i, o := range t.Ops {
		var stray string
		switch o.Op {
		case OpRead:
			stray = firstSet([]string{"words", "mask", "value", "timeout", "earliest"},
				len(o.Words) > 0, o.Mask != 0, o.Value != 0, o.Timeout != 0, o.Earliest != 0)
		case OpWrite:
			stray = firstSet([]string{"n", "width", "mask", "value", "timeout", "earliest"},
				o.N != 0, o.Width != 0, o.Mask != 0, o.Value != 0, o.Timeout != 0, o.Earliest != 0)
		case OpWait:
			stray = firstSet([]string{"n", "width", "words", "after"}, o.N != 0, o.Width != 0, len(o.Words) > 0, o.After != 0)
		}
		if stray != "" {
			return rperr.Invalidf("ops[%d].%s: a %s takes no %s", i, stray, o.Op, stray)
		}
	}
	return nil
}

func firstSet(names []string, set ...bool) string {
	for i, s := range set {
		if s {
			return names[i]
		}
	}
	return ""
}

// Addr is an absolute register address. JSON accepts a number or a string
// such as "0x40100000", so shell users can write addresses in hex.
type Addr uint32

func (a *Addr) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil || s == "" || s[0] == '+' {
			return fmt.Errorf("address %q: want a number or a hex string like \"0x40100000\", without spaces", truncate(s))
		}
		*a = Addr(v)
		return nil
	}
	var v uint32
	if err := wire.JSON.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("%s is outside 0..4294967295 (or not a number): want an address, or a hex string like \"0x40100000\"", truncate(string(b)))
	}
	*a = Addr(v)
	return nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

func (a Addr) String() string { return fmt.Sprintf("0x%08x", uint32(a)) }

// Op is one register operation.
type Op struct {
	Op      string   `json:"op"`
	Addr    Addr     `json:"addr"`
	N       int      `json:"n,omitempty"`       // read: word count, 1..65535
	Width   int      `json:"width,omitempty"`   // read: 32 (default), or 16 for the low half of each word (halves the reply for 14-bit data)
	Words   wire.U32 `json:"words,omitempty"`   // write: the words
	Mask    uint32   `json:"mask,omitempty"`    // wait
	Value   uint32   `json:"value,omitempty"`   // wait
	Timeout float64  `json:"timeout,omitempty"` // wait: seconds, default 1
	// Earliest is a wait's hint: the seconds, counted from when the op
	// before the wait was sent to the board, before which the condition
	// cannot hold (a trace's or an NA point's duration after the write
	// that starts it). A polled backend sleeps through what is left of it
	// when the wait begins instead of polling.
	Earliest float64 `json:"earliest,omitempty"`
	// After times a read or a write: it is sent to the board no sooner
	// than this many seconds after the op before it was sent, as a
	// board-side clock would time it, without a poll. A remote board's
	// bridge also holds it until that long after the op before it took
	// effect, by the board's own clock (docs/protocol.md). A network
	// analyzer reads a point's sums
	// its duration after the write that started it and checks their busy
	// bit, instead of polling for it.
	After float64 `json:"after,omitempty"`
}

// Read, Read16, Write and Wait build operations.
func Read(addr uint32, n int) Op { return Op{Op: OpRead, Addr: Addr(addr), N: n} }

// Read16 reads n words and returns the low 16 bits of each (in Halves).
func Read16(addr uint32, n int) Op { return Op{Op: OpRead, Addr: Addr(addr), N: n, Width: 16} }
func Write(addr uint32, words ...uint32) Op {
	return Op{Op: OpWrite, Addr: Addr(addr), Words: words}
}
func Wait(addr, mask, value uint32, timeoutSeconds float64) Op {
	return Op{Op: OpWait, Addr: Addr(addr), Mask: mask, Value: value, Timeout: timeoutSeconds}
}

// WaitAfter is Wait with the hint that the condition cannot hold before
// earliestSeconds have passed (see Op.Earliest).
func WaitAfter(addr, mask, value uint32, earliestSeconds, timeoutSeconds float64) Op {
	o := Wait(addr, mask, value, timeoutSeconds)
	o.Earliest = earliestSeconds
	return o
}

// Delayed returns o sent afterSeconds after the op before it (see
// Op.After).
func Delayed(afterSeconds float64, o Op) Op {
	o.After = afterSeconds
	return o
}

// Txn is the body of rp.<board>.hw.txn: operations run in order, atomically
// with respect to other transactions on the same FPGA modules.
type Txn struct {
	// ID, when set, lets rp.<board>.hw.cancel end the transaction while it
	// waits for its modules or in a wait op (it then answers 499).
	ID  string `json:"id,omitempty"`
	Ops []Op   `json:"ops"`
	// Stream asks for a long read's first words in part messages sent to
	// the reply subject while the board is still read (see StreamPart);
	// the reply then holds the rest. The board's readout then overlaps
	// their way to the requester: on a real board a trace's 64 KiB cross
	// the LAN while the next words are read, not after the last. Only a
	// requester that takes several messages on its reply subject may set
	// it; a bridge whose backend reads remotely (monitor) answers as
	// without it. It travels as the StreamHeader, not in the body, so a
	// bridge from before it (whose decoder refuses unknown fields) answers
	// the whole reply instead of a 400.
	Stream bool `json:"-"`
}

// StreamHeader, set to "1" on an hw.txn request, is Txn.Stream.
const StreamHeader = "Rpbus-Stream"

// A streamed read (Txn.Stream) of more than StreamPart words sends all
// but its last StreamTail words in parts of at most StreamPart, each as
// soon as the board has read it; its reply holds the last StreamTail.
// 8192 words take 1.6 ms of the Zynq's bus, and the last 1024 (2 KiB)
// are all that still travel once the board has read its last word.
const (
	StreamPart = 8192
	StreamTail = 1024
)

// StreamCuts returns where the parts of a streamed read of n words end
// (each the word count read so far), none when it is not split.
func StreamCuts(n int) []int {
	if n <= StreamPart {
		return nil
	}
	var cuts []int
	for k := StreamPart; k < n-StreamTail; k += StreamPart {
		cuts = append(cuts, k)
	}
	return append(cuts, n-StreamTail)
}

// PartHeader names a part message of a streamed read: its value is
// "<op index>,<first word>", and the body is the words in little-endian
// order, 2 bytes each for a read of width 16, else 4.
const PartHeader = "Rpbus-Part"

// PartValue is the PartHeader value of the part of ops[op] that starts at
// word first.
func PartValue(op, first int) string { return strconv.Itoa(op) + "," + strconv.Itoa(first) }

// ParsePart reads a PartHeader value.
func ParsePart(v string) (op, first int, err error) {
	a, b, ok := strings.Cut(v, ",")
	if ok {
		op, err = strconv.Atoi(a)
		if err == nil {
			first, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || op < 0 || first < 0 {
		return 0, 0, fmt.Errorf("%s %q: want <op index>,<first word>", PartHeader, v)
	}
	return op, first, nil
}

// TxnCancel is the body of rp.<board>.hw.cancel.
type TxnCancel struct {
	ID string `json:"id"`
}

// TxnCancelReply answers hw.cancel: whether a transaction with that id was
// queued or running.
type TxnCancelReply struct {
	ID        string `json:"id"`
	Cancelled bool   `json:"cancelled"`
}

// OpResult is the result of one operation, at the same index as its op.
type OpResult struct {
	Words  wire.U32 `json:"words,omitempty"`  // read: the words
	Halves wire.U16 `json:"halves,omitempty"` // read with width 16: the low 16 bits of each word
	Waited float64  `json:"waited,omitempty"` // wait: seconds waited
	// Parts is, for a streamed read (Txn.Stream), how many part messages
	// carried its first words before the reply; Words or Halves then hold
	// the words after them.
	Parts int `json:"parts,omitempty"`
}

// TxnReply answers hw.txn.
type TxnReply struct {
	Results []OpResult `json:"results"`
	Modules []string   `json:"modules"` // the FPGA modules the transaction held
	Started float64    `json:"started"` // when it got its modules, Unix seconds (the bridge's clock)
	Elapsed float64    `json:"elapsed"` // seconds from then to the end of its last op
}

// TxnHeldReply answers rp.<board>.hw.held (body TxnCancel): whether the
// bridge holds the transaction with that id, queued for its modules or
// running. A requester still waiting for a transaction the bridge does
// not hold learns that the bridge lost it (it restarted).
type TxnHeldReply struct {
	ID   string `json:"id"`
	Held bool   `json:"held"`
}

// HWInfo answers rp.<board>.hw.info.
type HWInfo struct {
	Board       string    `json:"board"`
	Backend     string    `json:"backend"`             // sim, monitor or devmem
	Address     string    `json:"address,omitempty"`   // monitor: the board's host:port; devmem: the mapped device or file
	Clock       float64   `json:"clock"`               // Hz
	Bitstream   string    `json:"bitstream"`           // what the FPGA runs
	Samples     int       `json:"scope_samples"`       // per scope channel
	Decimations []uint32  `json:"decimations"`         // allowed scope decimations
	Modules     []string  `json:"modules"`             // FPGA modules a transaction can hold
	Signals     []string  `json:"signals"`             // what an input select can choose
	Generators  []string  `json:"generators"`          // asg0, asg1
	Version     string    `json:"version"`             // rpbus version
	Model       any       `json:"sim_model,omitempty"` // sim: the analog model's configuration
	OS          string    `json:"os,omitempty"`        // devmem: the board's operating system
	Design      *HWDesign `json:"design,omitempty"`    // the FPGA design the bridge found, and how it was loaded
	Liveness
}

// Liveness is what hw.info finds of the board itself, beyond the bridge
// answering: whether a read of its FPGA's ID register came back, checked
// at each hw.info; and which bridge answered.
type Liveness struct {
	Reachable  bool    `json:"reachable"`
	BoardError string  `json:"board_error,omitempty"` // why not
	ReadTime   float64 `json:"read_time,omitempty"`   // s the check's read took
	// Instance identifies the running bridge; it changes when the bridge
	// restarts.
	Instance string `json:"instance,omitempty"`
}

// HWDesign is the FPGA design a bridge checked before serving (hw.info
// answers 503, saying what to load, while the FPGA runs anything else).
type HWDesign struct {
	Name      string `json:"name"`                // "PyRPL"
	Signature string `json:"signature"`           // the registers that identified it
	DNA       string `json:"dna,omitempty"`       // the Zynq's device DNA, hex: unique per chip
	Loader    string `json:"loader,omitempty"`    // devmem: "xdevcfg /dev/xdevcfg", "fpgautil PATH", or "none" (serving the design already loaded)
	Bitstream string `json:"bitstream,omitempty"` // the file --bitstream loaded
	SHA256    string `json:"sha256,omitempty"`    // its SHA-256, hex
}
