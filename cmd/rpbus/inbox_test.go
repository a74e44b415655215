package main

import (
	"testing"

	"github.com/rpbus/rpbus/client"
)

func user(name string) credFlags { return credFlags{client.Credentials{User: name}} }

// A user's replies come under _INBOX_<user>, the prefix deploy/'s
// accounts let it read, unless --inbox-prefix says otherwise.
func TestInboxPrefixFollowsUser(t *testing.T) {
	for _, c := range []struct {
		flags natsFlags
		want  string
	}{
		{natsFlags{}, ""},
		{natsFlags{creds: user("operator")}, "_INBOX_operator"},
		{natsFlags{creds: user("operator"), inbox: "_INBOX_lab7"}, "_INBOX_lab7"},
		{natsFlags{creds: user("a.b")}, ""}, // not a subject token: the default
		{natsFlags{creds: credFlags{client.Credentials{CredsFile: "x.creds"}}}, ""},
	} {
		if got := c.flags.inboxPrefix(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.flags, got, c.want)
		}
	}
}
