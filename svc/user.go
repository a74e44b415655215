package svc

import (
	"context"
	"strings"
)

// userInboxPrefix begins the reply subjects of a client that has a user:
// deploy/'s accounts let each user subscribe only under _INBOX_<user>,
// so that prefix says who asked (docs/security.md).
const userInboxPrefix = "_INBOX_"

type userKey struct{}

// User returns the user r came from, as its reply subject names it
// (_INBOX_<user>.<id>.<token>), or "" for a reply subject without one
// (the shared _INBOX prefix of a client without a user).
func (r *Request) User() string { return userOf(r.msg.Reply) }

func userOf(reply string) string {
	first, _, ok := strings.Cut(reply, ".")
	if !ok || !strings.HasPrefix(first, userInboxPrefix) {
		return ""
	}
	return first[len(userInboxPrefix):]
}

// WithUser returns ctx carrying user as its requester's user, for work
// that outlives the request (a continuous run's saves).
func WithUser(ctx context.Context, user string) context.Context {
	if user == "" {
		return ctx
	}
	return context.WithValue(ctx, userKey{}, user)
}

// UserOf returns the requester's user that ctx carries: every request's
// context carries its Request.User.
func UserOf(ctx context.Context) string {
	u, _ := ctx.Value(userKey{}).(string)
	return u
}
