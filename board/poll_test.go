package board_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board"
)

// word is a one-register FPGA that records when it was read.
type word struct {
	mu    sync.Mutex
	v     uint32
	reads []time.Time
}

func (w *word) Read(_ uint32, dst []uint32) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reads = append(w.reads, time.Now())
	dst[0] = w.v
	return nil
}

func (w *word) Write(_ uint32, src []uint32) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.v = src[0]
	return nil
}

func (w *word) Close() error { return nil }

func (w *word) readTimes() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.reads...)
}

func TestPollHint(t *testing.T) {
	w := &word{}
	const earliest = 20 * time.Millisecond
	start := time.Now()
	time.AfterFunc(earliest+5*time.Millisecond, func() { w.Write(0, []uint32{0x3}) })
	ok, err := board.Poll(context.Background(), w, board.Cond{Mask: 0x1, Value: 0x1, Earliest: earliest, Timeout: 10 * time.Second})
	if !ok || err != nil {
		t.Fatalf("Poll: %v %v", ok, err)
	}
	reads := w.readTimes()
	if first := reads[0].Sub(start); first < earliest {
		t.Fatalf("first read %v after the start, before the hint %v", first, earliest)
	}
}

func TestPollTimeoutAndCancel(t *testing.T) {
	w := &word{}
	ok, err := board.Poll(context.Background(), w, board.Cond{Mask: 1, Value: 1, Timeout: 30 * time.Millisecond})
	if ok || err != nil {
		t.Fatalf("Poll past its timeout: %v %v, want false, nil", ok, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	ok, err = board.Poll(ctx, w, board.Cond{Mask: 1, Value: 1, Earliest: time.Hour, Timeout: 2 * time.Hour})
	if ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("Poll cancelled: %v %v, want false, context.Canceled", ok, err)
	}
}

// Past its prediction a wait backs off to an eighth of the time since
// (at most 1 ms): a condition that never comes costs tens of reads, not
// one every 20 us.
func TestPollBacksOffPastThePrediction(t *testing.T) {
	w := &word{}
	const earliest, timeout = 10 * time.Millisecond, 60 * time.Millisecond
	ok, err := board.Poll(context.Background(), w, board.Cond{Mask: 1, Value: 1, Earliest: earliest, Timeout: timeout})
	if ok || err != nil {
		t.Fatalf("Poll: %v %v, want false, nil", ok, err)
	}
	reads := w.readTimes()
	// 20 us steps for the first 160 us, then 9/8 growth to 1 ms steps
	// (8 ms past the prediction), then 1 ms steps: about 90 reads.
	if len(reads) > 200 {
		t.Fatalf("%d reads in the %v past the prediction", len(reads), timeout-earliest)
	}
}
