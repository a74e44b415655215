package sshdtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/rpbus/rpbus/internal/logtest"
)

// OptOutEnv, set to 1, skips tests that need sshd where it is missing.
const OptOutEnv = "RPBUS_TEST_NO_SSHD"

// Server is a running sshd.
type Server struct {
	Host string // 127.0.0.1
	Port int
	User string // who may log in: the user running the test
	// Identity is a private key file the server accepts; HostKey is the
	// server's public key; KnownHosts a known_hosts file that holds it.
	Identity   string
	HostKey    ssh.PublicKey
	KnownHosts string
	Dir        string

	cmd *exec.Cmd
	log *logtest.Buffer
}

// Target is USER@127.0.0.1:PORT.
func (s *Server) Target() string { return fmt.Sprintf("%s@%s:%d", s.User, s.Host, s.Port) }

// Log is what sshd printed so far.
func (s *Server) Log() string { return s.log.String() }

// Option changes the server's configuration.
type Option func(*config)

type config struct{ auth string }

// KeyboardInteractive makes the server ask passwords through PAM's
// keyboard-interactive conversation, as Ubuntu's sshd (a Red Pitaya's)
// may, instead of the password method.
func KeyboardInteractive() Option {
	return func(c *config) {
		c.auth = "UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\n"
	}
}

// Start starts sshd and stops it when the test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	sshd, err := exec.LookPath("/usr/sbin/sshd")
	if err != nil {
		if sshd, err = exec.LookPath("sshd"); err != nil {
			if os.Getenv(OptOutEnv) == "1" {
				tb.Skipf("sshd not found and %s=1: skipping", OptOutEnv)
			}
			tb.Fatalf("sshdtest: no sshd (install openssh-server: scripts/setup does), or set %s=1 to skip: %v", OptOutEnv, err)
		}
	}
	if sshd, err = filepath.Abs(sshd); err != nil { // sshd re-executes itself: it wants an absolute path
		tb.Fatal(err)
	}
	u, err := user.Current()
	if err != nil {
		tb.Fatalf("sshdtest: %v", err)
	}
	if os.Geteuid() == 0 {
		// Debian's init makes the privilege separation folder; without
		// it a root sshd refuses to start.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			tb.Fatalf("sshdtest: %v", err)
		}
	}
	c := config{auth: "UsePAM no\nKbdInteractiveAuthentication no\nPasswordAuthentication yes\n"}
	for _, o := range opts {
		o(&c)
	}
	dir := tb.TempDir()
	s := &Server{Host: "127.0.0.1", User: u.Username, Dir: dir}
	hostPub := WriteKey(tb, filepath.Join(dir, "host_ed25519"))
	s.HostKey = hostPub
	s.Identity = filepath.Join(dir, "id_ed25519")
	clientPub := WriteKey(tb, s.Identity)
	must(tb, os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600))

	for attempt := 0; ; attempt++ {
		s.Port = freePort(tb)
		cfg := filepath.Join(dir, "sshd_config")
		must(tb, os.WriteFile(cfg, []byte(fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
StrictModes no
PubkeyAuthentication yes
%sPermitRootLogin yes
AllowUsers %s
LogLevel INFO
`, s.Port, filepath.Join(dir, "host_ed25519"), filepath.Join(dir, "sshd.pid"), filepath.Join(dir, "authorized_keys"), c.auth, s.User)), 0o600))
		s.log = &logtest.Buffer{}
		s.cmd = exec.Command(sshd, "-D", "-e", "-f", cfg)
		s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
		if err := s.cmd.Start(); err != nil {
			tb.Fatalf("sshdtest: starting %s: %v", sshd, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- s.cmd.Wait() }()
		if s.ready(exited) {
			tb.Cleanup(func() {
				_ = s.cmd.Process.Kill()
				<-exited
				if tb.Failed() {
					tb.Logf("sshd log:\n%s", s.log.String())
				}
			})
			break
		}
		_ = s.cmd.Process.Kill()
		<-exited
		if attempt == 3 || !strings.Contains(s.log.String(), "Address already in use") {
			tb.Fatalf("sshdtest: sshd did not start:\n%s", s.log.String())
		}
	}
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))}, hostPub)
	must(tb, os.WriteFile(s.KnownHosts, []byte(line+"\n"), 0o600))
	return s
}

// ready waits until sshd accepts connections, or exits.
func (s *Server) ready(exited chan error) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), time.Second)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// WriteKey writes a new ed25519 private key in OpenSSH's format, mode
// 0600 as sshd and ssh demand, and returns its public key.
func WriteKey(tb testing.TB, file string) ssh.PublicKey {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	must(tb, err)
	block, err := ssh.MarshalPrivateKey(priv, "rpbus test key")
	must(tb, err)
	must(tb, os.WriteFile(file, pem.EncodeToMemory(block), 0o600))
	sp, err := ssh.NewPublicKey(pub)
	must(tb, err)
	must(tb, os.WriteFile(file+".pub", ssh.MarshalAuthorizedKey(sp), 0o644))
	return sp
}

func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(tb, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("sshdtest: %v", err)
	}
}
