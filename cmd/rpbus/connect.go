package main

import (
	"flag"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

const defaultNATS = "nats://127.0.0.1:4222"

// natsFlags are the connection flags every networked command has.
type natsFlags struct {
	url   string
	creds string
	user  string
	pass  string
}

func (n *natsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.url, "nats", defaultNATS, "NATS server URL(s), comma separated (env RPBUS_NATS or RPBUS_NATS_URL)")
	fs.StringVar(&n.creds, "creds", "", "NATS credentials file")
	fs.StringVar(&n.user, "user", "", "NATS user")
	fs.StringVar(&n.pass, "password", "", "NATS password")
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
	if n.creds != "" {
		opts = append(opts, nats.UserCredentials(n.creds))
	}
	if n.user != "" {
		opts = append(opts, nats.UserInfo(n.user, n.pass))
	}
	return nats.Connect(url, opts...)
}

// shown is the URL list for logs: a password in it is replaced by xxxxx
// (rpbus board install puts the NATS user and password in the URL).
func (n *natsFlags) shown() string {
	parts := strings.Split(n.url, ",")
	for i, s := range parts {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
