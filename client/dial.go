package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/rperr"
)

// DialTimeout bounds one connection attempt: a failure is reported within
// it.
const DialTimeout = 2 * time.Second

// Credentials say whom a connection logs in as: a user and password, a
// token, a credentials file (a user JWT and its nkey seed, as `nsc`
// writes them) or an nkey seed file; at most one kind. The zero value
// connects without credentials.
type Credentials struct {
	User      string
	Password  string
	Token     string
	CredsFile string
	NkeyFile  string
}

// Options are the nats.go options that present c.
func (c Credentials) Options() ([]nats.Option, error) {
	kinds := 0
	for _, given := range []bool{c.User != "" || c.Password != "", c.Token != "", c.CredsFile != "", c.NkeyFile != ""} {
		if given {
			kinds++
		}
	}
	if kinds > 1 {
		return nil, rperr.Invalidf("credentials: give one of user and password, token, creds file, nkey file")
	}
	switch {
	case c.Password != "" && c.User == "":
		return nil, rperr.Invalidf("credentials: a password needs a user")
	case c.User != "":
		return []nats.Option{nats.UserInfo(c.User, c.Password)}, nil
	case c.Token != "":
		return []nats.Option{nats.Token(c.Token)}, nil
	case c.CredsFile != "":
		return []nats.Option{nats.UserCredentials(c.CredsFile)}, nil
	case c.NkeyFile != "":
		opt, err := nats.NkeyOptionFromSeed(c.NkeyFile)
		if err != nil {
			return nil, rperr.Invalidf("credentials: nkey file %s: %v", c.NkeyFile, err)
		}
		return []nats.Option{opt}, nil
	}
	return nil, nil
}

// Empty reports whether c gives no credentials.
func (c Credentials) Empty() bool { return c == Credentials{} }

// String says whom c logs in as, without secrets.
func (c Credentials) String() string {
	switch {
	case c.User != "":
		return fmt.Sprintf("as user %q", c.User)
	case c.Token != "":
		return "with a token"
	case c.CredsFile != "":
		return "with credentials file " + c.CredsFile
	case c.NkeyFile != "":
		return "with nkey file " + c.NkeyFile
	}
	return "without credentials"
}

// Dial connects to the NATS server(s) at servers (comma separated URLs)
// once, each attempt bounded by DialTimeout, with creds and then opts
// (which may add a name, reconnect settings, TLS). When no server accepts
// the connection, the error (code unavailable) says what was tried and
// why it failed: connection refused, no answer, authorization or TLS.
func Dial(servers string, creds Credentials, opts ...nats.Option) (*nats.Conn, error) {
	copts, err := creds.Options()
	if err != nil {
		return nil, err
	}
	rec := &dialRecorder{}
	all := append([]nats.Option{nats.Timeout(DialTimeout), nats.SetCustomDialer(rec)}, copts...)
	nc, err := nats.Connect(servers, append(all, opts...)...)
	if err != nil {
		return nil, ConnectError(servers, creds, err, rec.last())
	}
	return nc, nil
}

// dialRecorder dials TCP as nats.go would and keeps the last failure,
// which nats.go reports only as "no servers available".
type dialRecorder struct {
	mu  sync.Mutex
	err error
}

func (d *dialRecorder) Dial(network, address string) (net.Conn, error) {
	c, err := net.DialTimeout(network, address, DialTimeout)
	if err != nil {
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
	}
	return c, err
}

func (d *dialRecorder) last() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// ConnectError explains a failed connection to servers made with creds:
// err is nats.go's error, dialErr the last TCP dial's (or nil).
func ConnectError(servers string, creds Credentials, err, dialErr error) error {
	return rperr.Errorf(rperr.EUnavailable, "cannot connect to NATS at %s %s: %s", redact(servers), creds, Reason(creds, err, dialErr))
}

// Reason says in a few words why a connection failed.
func Reason(creds Credentials, err, dialErr error) string {
	var netErr net.Error
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recHeader tls.RecordHeaderError
	var dnsErr *net.DNSError
	msg := strings.ToLower(err.Error())
	switch {
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked),
		errors.Is(err, nats.ErrAccountAuthExpired), strings.Contains(msg, "authorization violation"), strings.Contains(msg, "authentication"):
		if creds.Empty() {
			return "authorization required: the server wants credentials (--user and --password, --token, --creds or --nkey)"
		}
		return "authorization failed: the server rejected the credentials (" + err.Error() + ")"
	case errors.Is(err, nats.ErrSecureConnRequired):
		return "TLS required: the server only takes TLS connections (use a tls:// URL and trust its certificate)"
	case errors.Is(err, nats.ErrSecureConnWanted):
		return "TLS unavailable: the URL asks for TLS but the server offers none (use nats://)"
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalid), errors.As(err, &recHeader),
		strings.Contains(msg, "tls:"), strings.Contains(msg, "x509:"):
		return "TLS failed: " + strings.TrimPrefix(err.Error(), "nats: ")
	case dialErr != nil && errors.Is(dialErr, syscall.ECONNREFUSED):
		return reasonRefused + ": nothing listens there (is `rpbus up` or a nats-server running?)"
	case dialErr != nil && errors.As(dialErr, &dnsErr):
		return reasonUnknownHost + ": " + dnsErr.Error()
	case dialErr != nil && errors.As(dialErr, &netErr) && netErr.Timeout(), errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, nats.ErrTimeout):
		return fmt.Sprintf("%s %v (a wrong address, a firewall, or not a NATS server)", reasonNoAnswer, DialTimeout)
	case dialErr != nil:
		return dialErr.Error()
	}
	return strings.TrimPrefix(err.Error(), "nats: ")
}

// The reasons a later attempt may overcome without the user changing
// anything.
const (
	reasonRefused     = "connection refused"
	reasonNoAnswer    = "no answer within"
	reasonUnknownHost = "unknown host"
)

// Transient reports whether a connection failure that Dial or
// ConnectError explained may pass by itself: nothing listened yet, no
// answer, an unknown host. Authorization and TLS failures do not.
func Transient(err error) bool {
	if rperr.ErrorCode(err) != rperr.EUnavailable {
		return false
	}
	msg := rperr.ErrorMessage(err)
	for _, r := range []string{reasonRefused, reasonNoAnswer, reasonUnknownHost} {
		if strings.Contains(msg, ": "+r) {
			return true
		}
	}
	return false
}

// redact drops passwords and tokens from URLs.
func redact(servers string) string {
	parts := strings.Split(servers, ",")
	for i, s := range parts {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.User == nil {
			continue
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		} else {
			u.User = url.User("xxxxx") // a token
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
