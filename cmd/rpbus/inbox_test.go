package main

import "testing"

// A user's replies come under _INBOX_<user>, the prefix deploy/'s
// accounts let it read, unless --inbox-prefix says otherwise.
func TestInboxPrefixFollowsUser(t *testing.T) {
	for _, c := range []struct {
		flags natsFlags
		want  string
	}{
		{natsFlags{}, ""},
		{natsFlags{user: "operator"}, "_INBOX_operator"},
		{natsFlags{user: "operator", inbox: "_INBOX_lab7"}, "_INBOX_lab7"},
		{natsFlags{user: "a.b"}, ""}, // not a subject token: the default
		{natsFlags{creds: "x.creds"}, ""},
	} {
		if got := c.flags.inboxPrefix(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.flags, got, c.want)
		}
	}
}
