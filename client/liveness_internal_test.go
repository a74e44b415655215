package client

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// watchUntil runs watch with p and reports when gone was called (zero if
// not within limit) and with what.
func watchUntil(t *testing.T, p probe, limit time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	stop := watch(p, func(err error) { done <- err })
	defer stop()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(limit):
		return 0, nil
	}
}

// A dependency that is gone (no responders) ends the call after two
// checks; one that is only slow to answer does not.
func TestWatchTellsGoneFromSlow(t *testing.T) {
	t.Parallel()
	gone := errors.New("no instance answers")
	after, err := watchUntil(t, func(context.Context) error { return gone }, 5*time.Second)
	if !errors.Is(err, gone) || after > probeAfter+probeEvery+time.Second {
		t.Errorf("gone dependency: noticed after %v with %v, want after two checks (about %v)", after, err, probeAfter+probeEvery)
	}

	var checks atomic.Int32
	slowThenFine := func(context.Context) error {
		if checks.Add(1) <= 4 {
			return silence{errors.New("no answer within the probe timeout")}
		}
		return nil
	}
	if after, err := watchUntil(t, slowThenFine, 5*time.Second); after != 0 {
		t.Errorf("a dependency silent for 4 checks, then answering, was taken for gone after %v: %v", after, err)
	}
}

// Silence that lasts ends the call, about probeSilence after it began.
func TestWatchEndsLastingSilence(t *testing.T) {
	t.Parallel()
	hung := silence{errors.New("no answer within the probe timeout")}
	after, err := watchUntil(t, func(context.Context) error { return hung }, probeSilence+5*time.Second)
	if !errors.Is(err, hung) {
		t.Fatalf("a hung dependency was not noticed within %v", probeSilence+5*time.Second)
	}
	if lo, hi := probeSilence-probeTimeout, probeSilence+2*probeEvery+probeAfter; after < lo || after > hi {
		t.Errorf("a hung dependency was noticed after %v, want %v-%v", after, lo, hi)
	}
}
