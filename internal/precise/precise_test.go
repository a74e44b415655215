package precise

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestUntilNeverEarly(t *testing.T) {
	for _, d := range []time.Duration{0, 10 * time.Microsecond, 300 * time.Microsecond, 3 * time.Millisecond} {
		for range 20 {
			t0 := time.Now()
			if err := Sleep(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			if got := time.Since(t0); got < d {
				t.Fatalf("Sleep(%v) returned after %v", d, got)
			}
		}
	}
}

func TestUntilSpinNeverEarly(t *testing.T) {
	for _, d := range []time.Duration{0, 10 * time.Microsecond, 300 * time.Microsecond, 3 * time.Millisecond} {
		for range 20 {
			at := time.Now().Add(d)
			if err := UntilSpin(context.Background(), at, 100*time.Microsecond); err != nil {
				t.Fatal(err)
			}
			if early := time.Until(at); early > 0 {
				t.Fatalf("UntilSpin %v ahead returned %v early", d, early)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(5*time.Millisecond, cancel)
	if err := UntilSpin(ctx, time.Now().Add(time.Hour), 100*time.Microsecond); !errors.Is(err, context.Canceled) {
		t.Fatalf("UntilSpin cancelled: %v, want context.Canceled", err)
	}
}

func TestSleepCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(5*time.Millisecond, cancel)
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep cancelled: %v, want context.Canceled", err)
	}
	if err := Sleep(ctx, time.Microsecond); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep with an ended context: %v, want context.Canceled", err)
	}
}

func TestNearContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(5*time.Millisecond, cancel)
	t0 := time.Now()
	if err := NearContext(ctx, t0.Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Fatalf("NearContext cancelled: %v, want context.Canceled", err)
	}
	if waited := time.Since(t0); waited > time.Second {
		t.Fatalf("NearContext noticed its cancel after %v", waited)
	}
}

// BenchmarkLateness reports how late a 100 us pause ends, p50 and p90 in
// microseconds, for Until, Near and time.Sleep side by side.
func BenchmarkLateness(b *testing.B) {
	const d = 100 * time.Microsecond
	for _, c := range []struct {
		name  string
		pause func(time.Time)
	}{
		{"Until", func(t time.Time) { Until(context.Background(), t) }},
		{"Near", Near},
		{"UntilSpin 100us", func(t time.Time) { UntilSpin(context.Background(), t, 100*time.Microsecond) }},
		{"time.Sleep", func(t time.Time) { time.Sleep(time.Until(t)) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var late []float64
			for b.Loop() {
				t := time.Now().Add(d)
				c.pause(t)
				late = append(late, float64(time.Since(t).Nanoseconds())/1e3)
			}
			slices.Sort(late)
			b.ReportMetric(late[len(late)/2], "p50-late-us")
			b.ReportMetric(late[len(late)*9/10], "p90-late-us")
		})
	}
}
