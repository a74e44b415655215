package main

import (
	"flag"
	"log/slog"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/svc"
)

const defaultNATS = "nats://127.0.0.1:4222"

// natsFlags are the connection flags every networked command has.
type natsFlags struct {
	url   string
	creds string
	user  string
	pass  string
	inbox string
	tlsCA string
}

func (n *natsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.url, "nats", defaultNATS, "NATS server URL(s), comma separated (env RPBUS_NATS or RPBUS_NATS_URL)")
	fs.StringVar(&n.creds, "creds", "", "NATS credentials file")
	fs.StringVar(&n.user, "user", "", "NATS user")
	fs.StringVar(&n.pass, "password", "", "NATS password")
	fs.StringVar(&n.tlsCA, "tls-ca", "", "PEM file of the CA that signed the NATS server's certificate (deploy/tls/)")
	fs.StringVar(&n.inbox, "inbox-prefix", "", "subject prefix of this connection's replies (default _INBOX_<user> with --user, else _INBOX): deploy/'s users may read only their own")
}

// inboxPrefix is the prefix of the connection's reply subjects: the flag,
// or _INBOX_<user> for a user whose name is a subject token, which is
// the prefix deploy/'s accounts let that user read.
func (n *natsFlags) inboxPrefix() string {
	if n.inbox != "" || n.user == "" || !subjectToken.MatchString(n.user) {
		return n.inbox
	}
	return "_INBOX_" + n.user
}

var subjectToken = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// authOptions are the credentials, the inbox prefix and the TLS trust of n.
func (n *natsFlags) authOptions() []nats.Option {
	var opts []nats.Option
	if n.creds != "" {
		opts = append(opts, nats.UserCredentials(n.creds))
	}
	if n.user != "" {
		opts = append(opts, nats.UserInfo(n.user, n.pass))
	}
	if p := n.inboxPrefix(); p != "" {
		opts = append(opts, nats.CustomInboxPrefix(p))
	}
	if n.tlsCA != "" {
		opts = append(opts, nats.RootCAs(n.tlsCA))
	}
	return opts
}

var natsAliases = map[string][]string{"nats": {"RPBUS_NATS_URL"}}

// connect dials NATS and keeps reconnecting for ever: a service outlives
// a server restart or a cluster node going away.
func (n *natsFlags) connect(name string) (*nats.Conn, error) {
	return n.connectTo(n.url, name)
}

// connectTo dials url with the credentials of n.
func (n *natsFlags) connectTo(url, name string) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(5 * time.Second),
	}
	opts = append(opts, svc.ConnectionLog(slog.Default(), name)...)
	return nats.Connect(url, append(opts, n.authOptions()...)...)
}
