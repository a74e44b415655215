package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/client"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/svc"
)

const defaultNATS = "nats://127.0.0.1:4222"

// natsFlags are the connection flags every networked command has.
type natsFlags struct {
	url   string
	creds credFlags
	inbox string
	tlsCA string
}

// credFlags are the credentials flags: the clients' and the services'
// connections, and the in-process ones of `rpbus up`.
type credFlags struct{ c client.Credentials }

func (f *credFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.c.User, "user", "", "NATS user (with --password)")
	fs.StringVar(&f.c.Password, "password", "", "NATS password")
	fs.StringVar(&f.c.Token, "token", "", "NATS token")
	fs.StringVar(&f.c.CredsFile, "creds", "", "NATS credentials file (user JWT and nkey seed)")
	fs.StringVar(&f.c.NkeyFile, "nkey", "", "NATS nkey seed file")
}

func (n *natsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.url, "nats", defaultNATS, "NATS server URL(s), comma separated (env RPBUS_NATS or RPBUS_NATS_URL)")
	n.creds.register(fs)
	fs.StringVar(&n.inbox, "inbox-prefix", "", "subject prefix of this connection's replies (default _INBOX_<user> with --user, else _INBOX): deploy/'s users may read only their own")
	fs.StringVar(&n.tlsCA, "tls-ca", "", "PEM file of the CA that signed the NATS server's certificate (deploy/tls/)")
}

// inboxPrefix is the prefix of the connection's reply subjects: the flag,
// or _INBOX_<user> for a user whose name is a subject token, which is
// the prefix deploy/'s accounts let that user read.
func (n *natsFlags) inboxPrefix() string {
	if user := n.creds.c.User; n.inbox == "" && user != "" && subjectToken.MatchString(user) {
		return "_INBOX_" + user
	}
	return n.inbox
}

var subjectToken = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// options are the connection's inbox prefix and TLS trust, beside its
// credentials.
func (n *natsFlags) options() []nats.Option {
	var opts []nats.Option
	if p := n.inboxPrefix(); p != "" {
		opts = append(opts, nats.CustomInboxPrefix(p))
	}
	if n.tlsCA != "" {
		opts = append(opts, nats.RootCAs(n.tlsCA))
	}
	return opts
}

var natsAliases = map[string][]string{"nats": {"RPBUS_NATS_URL"}}

// dial dials NATS once for a one-shot client command: a failure says
// within client.DialTimeout what was tried and why.
func (n *natsFlags) dial(name string) (*nats.Conn, error) {
	return n.connectTo(n.url, name)
}

// connectTo is dial to url.
func (n *natsFlags) connectTo(url, name string) (*nats.Conn, error) {
	return client.Dial(url, n.creds.c, append(n.options(), nats.Name(name))...)
}

// connect dials NATS for a service (see connectService), saying on
// stderr how the connection fares.
func (n *natsFlags) connect(name string) (*nats.Conn, error) {
	return n.connectService(name, stderrLog)
}

// stderrLog is where services say how their connection fares.
var stderrLog io.Writer = os.Stderr

// serviceRetry is how often a service retries a server that is not there.
const serviceRetry = 250 * time.Millisecond

// connectService dials NATS for a service, which outlives a server
// restart or a cluster node going away: it reconnects for ever. A server
// that refuses or does not answer the first attempt is retried (compose
// may start it later), saying so on log, and again whenever the reason
// changes; one that rejects the credentials or the TLS setup is an error
// at once.
func (n *natsFlags) connectService(name string, log io.Writer) (*nats.Conn, error) {
	keep := append(append(n.options(), svc.ConnectionLog(slog.Default(), name)...),
		nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(serviceRetry),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				fmt.Fprintf(log, "%s: NATS connection closed: %s\n", name, client.Reason(n.creds.c, err, err))
			}
		}),
	)
	nc, err := client.Dial(n.url, n.creds.c, keep...)
	if err == nil || !client.Transient(err) {
		return nc, err
	}
	said := rperr.ErrorMessage(err)
	fmt.Fprintf(log, "%s: %s; retrying every %v\n", name, said, serviceRetry)
	copts, _ := n.creds.c.Options() // Dial has checked them
	var mu sync.Mutex
	opts := append(append(copts, keep...),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(client.DialTimeout),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			msg := rperr.ErrorMessage(client.ConnectError(n.url, n.creds.c, err, err))
			mu.Lock()
			defer mu.Unlock()
			if msg != said {
				said = msg
				fmt.Fprintf(log, "%s: %s\n", name, msg)
			}
		}),
		nats.ConnectHandler(func(nc *nats.Conn) {
			fmt.Fprintf(log, "%s: connected to NATS at %s\n", name, nc.ConnectedUrlRedacted())
		}),
	)
	return nats.Connect(n.url, opts...)
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
