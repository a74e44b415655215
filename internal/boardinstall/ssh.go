package boardinstall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// maxTyped is how many passwords a login asks for, as OpenSSH does.
const maxTyped = 3

// PasswordEnv is read for the SSH password when no terminal can prompt.
const PasswordEnv = "RPBUS_SSH_PASSWORD"

// handshakeTimeout bounds connecting and logging in, a typed password
// included (OpenSSH's server gives 120 s).
const handshakeTimeout = 2 * time.Minute

// Target is where to log in: user@host:port.
type Target struct {
	User string
	Host string
	Port int
}

// ParseTarget reads USER@HOST, USER@HOST:PORT or USER@[IPV6]:PORT.
func ParseTarget(s string) (Target, error) {
	user, hostport, ok := strings.Cut(s, "@")
	if !ok || user == "" || hostport == "" {
		return Target{}, fmt.Errorf("--ssh %q: want USER@HOST or USER@HOST:PORT, e.g. root@192.168.1.100", s)
	}
	t := Target{User: user, Host: hostport, Port: 22}
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return Target{}, fmt.Errorf("--ssh %q: port %q is not 1..65535", s, p)
		}
		t.Host, t.Port = h, port
	} else if strings.Count(hostport, ":") == 1 {
		return Target{}, fmt.Errorf("--ssh %q: %v", s, err)
	}
	t.Host = strings.TrimSuffix(strings.TrimPrefix(t.Host, "["), "]")
	if t.Host == "" {
		return Target{}, fmt.Errorf("--ssh %q: no host", s)
	}
	return t, nil
}

// Addr is host:port.
func (t Target) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

func (t Target) String() string { return t.User + "@" + t.Addr() }

// Loopback tells whether the host is this machine.
func (t Target) Loopback() bool { return isLoopback(t.Host) }

// Prompter asks the user; nil, or a method returning ErrNoTerminal, when
// there is nobody to ask.
type Prompter interface {
	// Password reads a secret without echo.
	Password(prompt string) (string, error)
	// Line reads one line of text.
	Line(prompt string) (string, error)
}

// ErrNoTerminal is returned by a Prompter that cannot ask.
var ErrNoTerminal = errors.New("no terminal to ask")

// SSHOptions say how to log in and which host keys to trust.
type SSHOptions struct {
	// Identities are private key files; empty means ~/.ssh/id_ed25519,
	// id_ecdsa and id_rsa, those that exist.
	Identities []string
	// KnownHosts is the file host keys are checked against and added to;
	// empty means ~/.ssh/known_hosts (and /etc/ssh/ssh_known_hosts is read too).
	KnownHosts string
	// AcceptNewHostKey adds the key of a host never met before to
	// KnownHosts without asking (OpenSSH's StrictHostKeyChecking=accept-new).
	// A key that differs from a known one is never accepted.
	AcceptNewHostKey bool
	// NoAgent skips the SSH agent of SSH_AUTH_SOCK.
	NoAgent bool
	// Password, when not empty, is tried before prompting; the CLI fills it
	// from RPBUS_SSH_PASSWORD.
	Password string
	Prompt   Prompter
	// Log gets the lines a user should see (a host key added, the key used).
	Log io.Writer
}

// Remote is a logged-in SSH connection to the board.
type Remote struct {
	Target Target
	client *ssh.Client
	// HostKey is the board's key fingerprint, Auth how we logged in.
	HostKey string
	Auth    string
}

// Dial connects and logs in.
func Dial(ctx context.Context, t Target, o SSHOptions) (*Remote, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	hk, err := newHostKeys(t, o)
	if err != nil {
		return nil, err
	}
	auth := newAuth(t, o)
	defer auth.close()
	cfg := &ssh.ClientConfig{
		User:              t.User,
		Auth:              auth.methods(),
		HostKeyCallback:   hk.check,
		HostKeyAlgorithms: hk.algorithms,
		Timeout:           20 * time.Second,
	}
	conn, err := (&net.Dialer{Timeout: cfg.Timeout}).DialContext(ctx, "tcp", t.Addr())
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w (is the board on, and is this its address?)", t, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, t.Addr(), cfg)
	if err != nil {
		conn.Close()
		if hk.err != nil {
			return nil, hk.err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if hk.fingerprint != "" { // the host key was accepted: the login failed
			detail := ""
			if !errors.Is(err, ErrNoTerminal) && !strings.Contains(err.Error(), "unable to authenticate") {
				detail = " [" + err.Error() + "]"
			}
			return nil, fmt.Errorf("ssh %s: login refused (tried %s)%s%s", t, auth.tried(), auth.hint(), detail)
		}
		return nil, fmt.Errorf("ssh %s: %w", t, err)
	}
	_ = conn.SetDeadline(time.Time{})
	if hk.added != "" {
		fmt.Fprintln(o.Log, hk.added)
	}
	used := auth.used
	if used == "" {
		used = "a key of " + strings.Join(auth.names, ", ")
	}
	return &Remote{Target: t, client: ssh.NewClient(c, chans, reqs), HostKey: hk.fingerprint, Auth: used}, nil
}

// Close ends the connection.
func (r *Remote) Close() error { return r.client.Close() }

// hostKeys checks the board's key against known_hosts.
type hostKeys struct {
	t           Target
	o           SSHOptions
	file        string // where new keys go
	callback    ssh.HostKeyCallback
	algorithms  []string
	fingerprint string
	added       string
	err         error // the clear error of a refused key
}

func newHostKeys(t Target, o SSHOptions) (*hostKeys, error) {
	h := &hostKeys{t: t, o: o, file: o.KnownHosts}
	if h.file == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("ssh: no home directory for known_hosts (%v): pass --known-hosts FILE", err)
		}
		h.file = filepath.Join(home, ".ssh", "known_hosts")
	}
	files := []string{}
	for _, f := range []string{h.file, "/etc/ssh/ssh_known_hosts"} {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	cb, err := knownhosts.New(files...)
	if err != nil {
		return nil, fmt.Errorf("ssh: reading known hosts: %w", err)
	}
	h.callback = cb
	// Ask only for the key types known_hosts holds for this host, so a
	// server offering a second type is not taken for a changed key.
	var ke *knownhosts.KeyError
	if err := cb(knownhosts.Normalize(t.Addr()), probeAddr(t), probeKey{}); errors.As(err, &ke) {
		for _, k := range ke.Want {
			h.algorithms = append(h.algorithms, algorithmsFor(k.Key.Type())...)
		}
	}
	return h, nil
}

func (h *hostKeys) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	h.fingerprint = key.Type() + " " + ssh.FingerprintSHA256(key)
	err := h.callback(hostname, remote, key)
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		h.err = fmt.Errorf("ssh %s: the host key %s is marked revoked in %s: refusing to connect", h.t, h.fingerprint, re.Revoked.Filename)
		return h.err
	case errors.As(err, &ke) && len(ke.Want) > 0:
		h.err = fmt.Errorf("ssh %s: the host key has CHANGED: the board offers %s, but %s:%d holds another key for it. "+
			"Someone may be in the middle, or the board got a new SD card or OS. If you know why it changed, remove the old key "+
			"(ssh-keygen -R %s -f %s) and connect again", h.t, h.fingerprint, ke.Want[0].Filename, ke.Want[0].Line, knownhosts.Normalize(h.t.Addr()), ke.Want[0].Filename)
		return h.err
	case errors.As(err, &ke):
		return h.firstContact(hostname, key)
	default:
		h.err = fmt.Errorf("ssh %s: checking the host key: %w", h.t, err)
		return h.err
	}
}

// firstContact decides on a host never met, as OpenSSH does: accept with
// --accept-new-host-key, else ask on a terminal, else refuse and say how.
func (h *hostKeys) firstContact(hostname string, key ssh.PublicKey) error {
	name := knownhosts.Normalize(hostname)
	if !h.o.AcceptNewHostKey {
		refuse := fmt.Errorf("ssh %s: unknown host: %s is not in %s. Its key fingerprint is %s. "+
			"Compare it with the board's own (on the board: ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub), "+
			"then accept it with --accept-new-host-key, or log in once with ssh %s",
			h.t, name, h.file, h.fingerprint, keyFileType(key), h.sshCommand())
		if h.o.Prompt == nil {
			h.err = refuse
			return refuse
		}
		q := fmt.Sprintf("The authenticity of host '%s' can't be established.\n%s key fingerprint is %s.\n"+
			"Are you sure you want to continue connecting (yes/no/[fingerprint])? ", name, keyFileType(key), ssh.FingerprintSHA256(key))
		for {
			ans, err := h.o.Prompt.Line(q)
			if errors.Is(err, ErrNoTerminal) {
				h.err = refuse
				return refuse
			}
			if err != nil {
				h.err = fmt.Errorf("ssh %s: host key question: %w", h.t, err)
				return h.err
			}
			ans = strings.TrimSpace(ans)
			if ans == "yes" || ans == ssh.FingerprintSHA256(key) {
				break
			}
			if ans == "no" || ans == "" {
				h.err = fmt.Errorf("ssh %s: host key not accepted", h.t)
				return h.err
			}
			q = "Please type 'yes', 'no' or the fingerprint: "
		}
	}
	if err := os.MkdirAll(filepath.Dir(h.file), 0o700); err != nil {
		h.err = fmt.Errorf("ssh: adding the host key: %w", err)
		return h.err
	}
	f, err := os.OpenFile(h.file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		_, err = fmt.Fprintln(f, knownhosts.Line([]string{name}, key))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		h.err = fmt.Errorf("ssh: adding the host key to %s: %w", h.file, err)
		return h.err
	}
	h.added = fmt.Sprintf("ssh: permanently added '%s' (%s) to %s", name, h.fingerprint, h.file)
	return nil
}

func (h *hostKeys) sshCommand() string {
	if h.t.Port == 22 {
		return h.t.User + "@" + h.t.Host
	}
	return fmt.Sprintf("-p %d %s@%s", h.t.Port, h.t.User, h.t.Host)
}

// keyFileType names a key the way OpenSSH's host key files do.
func keyFileType(k ssh.PublicKey) string {
	switch t := k.Type(); {
	case t == ssh.KeyAlgoED25519:
		return "ed25519"
	case strings.HasPrefix(t, "ecdsa"):
		return "ecdsa"
	case t == ssh.KeyAlgoRSA:
		return "rsa"
	default:
		return t
	}
}

// algorithmsFor lists the host key algorithms that verify a key type.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// probeKey matches no known key, so the known_hosts callback lists the
// keys it holds for a host.
type probeKey struct{}

func (probeKey) Type() string                        { return "rpbus-probe" }
func (probeKey) Marshal() []byte                     { return []byte("rpbus-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe") }

func probeAddr(t Target) net.Addr {
	return &net.TCPAddr{IP: net.IPv4zero, Port: t.Port}
}

// authMethods gathers the ways to log in and remembers which were tried.
type authMethods struct {
	t             Target
	o             SSHOptions
	signers       []ssh.Signer
	names         []string // one per signer: a file or "agent"
	agentConn     net.Conn
	keyNote       string // why keys were not offered
	triedPassword bool
	typed         int // passwords typed, over both password methods
	used          string
}

func newAuth(t Target, o SSHOptions) *authMethods {
	a := &authMethods{t: t, o: o}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" && !o.NoAgent {
		if c, err := net.Dial("unix", sock); err == nil {
			a.agentConn = c
			if ss, err := agent.NewClient(c).Signers(); err == nil {
				for _, s := range ss {
					a.signers = append(a.signers, s)
					a.names = append(a.names, "agent key "+ssh.FingerprintSHA256(s.PublicKey()))
				}
			}
		}
	}
	files := o.Identities
	explicit := len(files) > 0
	if !explicit {
		if home, err := os.UserHomeDir(); err == nil {
			for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
				files = append(files, filepath.Join(home, ".ssh", n))
			}
		}
	}
	for _, f := range files {
		s, err := a.loadKey(f, explicit)
		if err != nil {
			a.keyNote += "; " + err.Error()
			continue
		}
		if s != nil {
			a.signers = append(a.signers, s)
			a.names = append(a.names, f)
		}
	}
	return a
}

// loadKey reads a private key, asking for its passphrase on a terminal.
// A default key file that does not exist is skipped silently.
func (a *authMethods) loadKey(file string, explicit bool) (ssh.Signer, error) {
	pem, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key %s: %v", file, err)
	}
	s, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if a.o.Prompt == nil {
			return nil, fmt.Errorf("key %s has a passphrase and there is no terminal to ask it (add it to ssh-agent)", file)
		}
		pass, perr := a.o.Prompt.Password(fmt.Sprintf("Enter passphrase for key '%s': ", file))
		if perr != nil {
			return nil, fmt.Errorf("key %s has a passphrase: %v (add it to ssh-agent)", file, perr)
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(pass))
	}
	if err != nil {
		return nil, fmt.Errorf("key %s: %v", file, err)
	}
	return s, nil
}

func (a *authMethods) methods() []ssh.AuthMethod {
	var m []ssh.AuthMethod
	if len(a.signers) > 0 {
		m = append(m, ssh.PublicKeys(a.signers...))
	}
	tries := 1
	if a.o.Prompt != nil {
		tries = maxTyped
	}
	m = append(m,
		ssh.RetryableAuthMethod(ssh.PasswordCallback(a.password), tries),
		ssh.RetryableAuthMethod(ssh.KeyboardInteractive(a.keyboardInteractive), tries))
	return m
}

// password gives RPBUS_SSH_PASSWORD once, then asks on the terminal.
func (a *authMethods) password() (string, error) {
	if a.o.Password != "" && !a.triedPassword {
		a.triedPassword = true
		a.used = "password"
		return a.o.Password, nil
	}
	a.triedPassword = true
	if a.o.Prompt == nil || a.typed >= maxTyped {
		return "", ErrNoTerminal
	}
	p, err := a.o.Prompt.Password(fmt.Sprintf("%s@%s's password: ", a.t.User, a.t.Host))
	if err != nil {
		return "", err
	}
	a.typed++
	a.used = "password"
	return p, nil
}

// keyboardInteractive answers a server that asks for the password this
// way (PAM): one question with echo off is the password.
func (a *authMethods) keyboardInteractive(_, _ string, questions []string, echos []bool) ([]string, error) {
	answers := make([]string, len(questions))
	for i := range questions {
		if echos[i] {
			if a.o.Prompt == nil {
				return nil, ErrNoTerminal
			}
			ans, err := a.o.Prompt.Line(questions[i])
			if err != nil {
				return nil, err
			}
			answers[i] = ans
			continue
		}
		p, err := a.password()
		if err != nil {
			return nil, err
		}
		answers[i] = p
	}
	return answers, nil
}

// tried says what was offered, for a refused login.
func (a *authMethods) tried() string {
	var parts []string
	if len(a.names) > 0 {
		parts = append(parts, "keys "+strings.Join(a.names, ", "))
	} else {
		parts = append(parts, "no keys")
	}
	switch {
	case a.o.Password != "" && a.typed > 0:
		parts = append(parts, "the password of "+PasswordEnv+" and a typed one")
	case a.o.Password != "":
		parts = append(parts, "the password of "+PasswordEnv)
	case a.typed > 0:
		parts = append(parts, "a typed password")
	default:
		parts = append(parts, "no password")
	}
	return strings.Join(parts, "; ") + a.keyNote
}

func (a *authMethods) hint() string {
	switch {
	case a.o.Password != "" || a.typed > 0:
		return ": wrong password? (a new Red Pitaya's is root)"
	case a.o.Prompt == nil:
		return ": no terminal to ask a password; set " + PasswordEnv + " or pass --identity KEY"
	}
	return ""
}

func (a *authMethods) close() {
	if a.agentConn != nil {
		a.agentConn.Close()
	}
}

// isLoopback tells whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Run runs a POSIX sh script on the board and returns its standard
// output; a failure carries the exit status and standard error.
func (r *Remote) Run(ctx context.Context, script string) (string, error) {
	var out, errb bytes.Buffer
	err := r.stream(ctx, script, nil, &out, &errb)
	if err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		var ee *ssh.ExitError
		if errors.As(err, &ee) && msg != "" {
			return out.String(), &RemoteError{Status: ee.ExitStatus(), Msg: msg}
		}
		if errors.As(err, &ee) {
			return out.String(), &RemoteError{Status: ee.ExitStatus(), Msg: "exit status " + strconv.Itoa(ee.ExitStatus())}
		}
		return out.String(), err
	}
	return out.String(), nil
}

// RemoteError is a command that failed on the board.
type RemoteError struct {
	Status int
	Msg    string
}

func (e *RemoteError) Error() string { return e.Msg }

// Stream runs a script with its output copied to stdout and stderr until
// it ends or ctx does. The two are written one at a time, so they may be
// one writer.
func (r *Remote) Stream(ctx context.Context, script string, stdout, stderr io.Writer) error {
	var mu sync.Mutex
	return r.stream(ctx, script, nil, &lockedWriter{&mu, stdout}, &lockedWriter{&mu, stderr})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Write stores data at path on the board with the given mode.
func (r *Remote) Write(ctx context.Context, path string, mode os.FileMode, data io.Reader) error {
	tmp := path + ".part"
	script := fmt.Sprintf("umask 077 && cat > %s && chmod %o %s && mv -f %s %s", shq(tmp), mode.Perm(), shq(tmp), shq(tmp), shq(path))
	var errb bytes.Buffer
	if err := r.stream(ctx, script, data, io.Discard, &errb); err != nil {
		r.Run(context.Background(), "rm -f "+shq(tmp)) //nolint:errcheck // best effort
		if msg := strings.TrimSpace(errb.String()); msg != "" {
			return fmt.Errorf("writing %s: %s", path, msg)
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func (r *Remote) stream(ctx context.Context, script string, stdin io.Reader, stdout, stderr io.Writer) error {
	s, err := r.client.NewSession()
	if err != nil {
		return fmt.Errorf("ssh %s: new session: %w", r.Target, err)
	}
	defer s.Close()
	s.Stdin, s.Stdout, s.Stderr = stdin, stdout, stderr
	stop := context.AfterFunc(ctx, func() {
		_ = s.Signal(ssh.SIGTERM)
		s.Close()
	})
	defer stop()
	err = s.Run("sh -c " + shq(script))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// shq quotes s for a POSIX shell.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
