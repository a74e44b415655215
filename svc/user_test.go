package svc

import (
	"context"
	"testing"
)

func TestUserOf(t *testing.T) {
	for reply, want := range map[string]string{
		"_INBOX_alice.abc.1":   "alice",
		"_INBOX_lab-2_x.abc.1": "lab-2_x",
		"_INBOX.abc.1":         "",
		"_INBOXalice.abc.1":    "",
		"_INBOX_alice":         "", // not an inbox reply subject
		"reply.to.somewhere":   "",
		"":                     "",
	} {
		if got := userOf(reply); got != want {
			t.Errorf("userOf(%q) = %q, want %q", reply, got, want)
		}
	}
	if got := UserOf(WithUser(context.Background(), "bob")); got != "bob" {
		t.Errorf("UserOf(WithUser(bob)) = %q", got)
	}
	if got := UserOf(context.Background()); got != "" {
		t.Errorf("UserOf(Background) = %q", got)
	}
}
