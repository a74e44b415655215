package rperr

import (
	"context"
	"fmt"
	"testing"
)

func TestErrorCode(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{Invalidf("duration: must be in 0..8.6 s"), EInvalid},
		{fmt.Errorf("wrapped: %w", Errorf(EBusy, "iq0 held")), EBusy},
		{context.DeadlineExceeded, ETimeout},
		{fmt.Errorf("x: %w", context.Canceled), ECancelled},
		{fmt.Errorf("plain"), EInternal},
	}
	for _, tt := range tests {
		if got := ErrorCode(tt.err); got != tt.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestStatusRoundTrip(t *testing.T) {
	for _, c := range codeTable {
		if got := CodeOf(Status(c.code)); got != c.code {
			t.Errorf("CodeOf(Status(%q)) = %q", c.code, got)
		}
	}
	if Status("nonsense") != 500 || CodeOf(418) != EInternal {
		t.Error("unknown codes must map to internal/500")
	}
}
