package api

import (
	"testing"
	"time"
)

func TestUnixRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		time.Unix(0, 0),
		time.Date(2026, 12, 7, 12, 0, 0, 123456000, time.UTC),
	} {
		s := Unix(tm)
		if got := UnixTime(s); got.Sub(tm).Abs() > time.Microsecond {
			t.Errorf("UnixTime(Unix(%v)) = %v", tm, got)
		}
	}
	if got := Unix(time.Unix(1_800_000_000, 500_000_000)); got != 1_800_000_000.5 {
		t.Errorf("Unix = %v, want 1800000000.5", got)
	}
}
