package boardinstall_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/rpbus/rpbus/internal/boardinstall"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/sshdtest"
)

// rig is one board (the sshd on loopback), one NATS server and the files
// an install takes.
type rig struct {
	t         *testing.T
	sshd      *sshdtest.Server
	natsURL   string
	nc        *nats.Conn
	binary    string // rpbus for this machine, the "board"
	bitstream string
	pyrpl     string // PYTHONPATH holding a pyrpl package with fpga/red_pitaya.bin
	memFile   string
	prefix    string
}

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// rpbusBinary builds rpbus once for the whole test binary.
func rpbusBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rpbus-bin-")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "rpbus")
		cmd := exec.Command("go", "build", "-o", built, "github.com/rpbus/rpbus/cmd/rpbus")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building rpbus: %v", buildErr)
	}
	return built
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ns := natstest.Server(t)
	r := &rig{t: t, sshd: sshdtest.Start(t), natsURL: ns.ClientURL(), binary: rpbusBinary(t)}
	r.nc = natstest.Connect(t, ns)
	dir := t.TempDir()
	r.pyrpl = filepath.Join(dir, "site")
	must(t, os.MkdirAll(filepath.Join(r.pyrpl, "pyrpl", "fpga"), 0o755))
	must(t, os.WriteFile(filepath.Join(r.pyrpl, "pyrpl", "__init__.py"), nil, 0o644))
	r.bitstream = filepath.Join(r.pyrpl, "pyrpl", "fpga", boardinstall.PyRPLBitstream)
	// Not PyRPL's design (never in this repository): bytes of the size of one.
	must(t, os.WriteFile(r.bitstream, bytes.Repeat([]byte{0xAA, 0x99, 0x55, 0x66}, 2083740/4), 0o644))
	r.memFile = filepath.Join(dir, "fpga.mem")
	must(t, os.WriteFile(r.memFile, make([]byte, 4<<20), 0o644))
	r.prefix = filepath.Join(dir, "opt", "rpbus")
	t.Cleanup(func() {
		// A failed test may leave a supervisor running: stop it.
		_ = exec.Command(filepath.Join(r.prefix, "bin", "rpbus-hwbridge"), "stop").Run()
	})
	return r
}

// config is a good install of board "lab1"; tests change what they test.
func (r *rig) config(progress *bytes.Buffer) boardinstall.Config {
	t, err := boardinstall.ParseTarget(r.sshd.Target())
	must(r.t, err)
	return boardinstall.Config{
		Target: t,
		SSH: boardinstall.SSHOptions{
			Identities: []string{r.sshd.Identity}, KnownHosts: r.sshd.KnownHosts, NoAgent: true,
		},
		Board: "lab1", NATS: r.natsURL,
		Bitstream: r.bitstream, Binary: r.binary,
		Prefix: r.prefix, Manager: boardinstall.ManagerPlain, MemFile: r.memFile,
		Wait:     20 * time.Second,
		Progress: progress,
	}
}

func (r *rig) install(cfg boardinstall.Config) (string, error) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if cfg.Progress == nil {
		cfg.Progress = &bytes.Buffer{}
	}
	err := boardinstall.Install(ctx, cfg)
	return cfg.Progress.(*bytes.Buffer).String(), err
}

// nothingInstalled checks that no file and no process of an install is left.
func (r *rig) nothingInstalled(what string) {
	r.t.Helper()
	for _, p := range []string{r.prefix, r.prefix + ".new", r.prefix + ".previous"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			r.t.Fatalf("%s: %s is left on the board (%v)", what, p, err)
		}
	}
	if out, _ := exec.Command("pgrep", "-f", r.prefix+"/bin/").Output(); len(out) > 0 {
		r.t.Fatalf("%s: processes of the install still run: %s", what, out)
	}
}

func (r *rig) answers() (string, error) {
	msg, err := r.nc.Request("rp.lab1.hw.info", []byte("{}"), 3*time.Second)
	if err != nil {
		return "", err
	}
	if e := msg.Header.Get("Nats-Service-Error"); e != "" {
		return "", errors.New(e)
	}
	return string(msg.Data), nil
}

func TestInstallRefusals(t *testing.T) {
	r := newRig(t)
	cases := []struct {
		name string
		edit func(*testing.T, *boardinstall.Config)
		want string
	}{
		{"no bitstream", func(t *testing.T, c *boardinstall.Config) {
			c.Bitstream, c.Python = "", "python3"
			t.Setenv("PYTHONPATH", "")
		}, "no bitstream: --bitstream not given, and no PyRPL package"},
		{"bitstream is not a file", func(t *testing.T, c *boardinstall.Config) { c.Bitstream = t.TempDir() }, "is not a file with data"},
		{"unknown host key", func(t *testing.T, c *boardinstall.Config) {
			c.SSH.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
		}, "unknown host: [127.0.0.1]:"},
		{"changed host key", func(t *testing.T, c *boardinstall.Config) {
			c.SSH.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
			other := sshdtest.WriteKey(t, filepath.Join(t.TempDir(), "other_host_key"))
			line := knownhosts.Line([]string{knownhosts.Normalize(c.Target.Addr())}, other)
			must(t, os.WriteFile(c.SSH.KnownHosts, []byte(line+"\n"), 0o600))
		}, "the host key has CHANGED"},
		{"wrong password", func(t *testing.T, c *boardinstall.Config) {
			key := filepath.Join(t.TempDir(), "id_ed25519")
			sshdtest.WriteKey(t, key) // a key this board does not know
			c.SSH.Identities = []string{key}
			c.SSH.Password = "not-the-password"
		}, "login refused (tried keys"},
		{"no /dev/mem", func(t *testing.T, c *boardinstall.Config) {
			c.MemFile, c.DevMem = "", filepath.Join(t.TempDir(), "mem")
		}, "the board has no"},
		{"NATS on loopback for a remote board", func(t *testing.T, c *boardinstall.Config) {
			c.Target.Host = "192.0.2.1"
		}, "is the board itself"},
		{"board name", func(t *testing.T, c *boardinstall.Config) { c.Board = "lab.1" }, "--board \"lab.1\""},
		{"prefix", func(t *testing.T, c *boardinstall.Config) { c.Prefix = "/usr" }, "is a system folder"},
		{"binary for another machine", func(t *testing.T, c *boardinstall.Config) {
			c.Binary = r.bitstream
		}, "is not a Linux executable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := r.config(&bytes.Buffer{})
			tc.edit(t, &cfg)
			out, err := r.install(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("install: %v, want an error with %q; progress:\n%s", err, tc.want, out)
			}
			t.Logf("%v", err)
			r.nothingInstalled(tc.name)
		})
	}
	// The refused host key was not added.
	if data, err := os.ReadFile(r.sshd.KnownHosts); err != nil || strings.Count(string(data), "\n") != 1 {
		t.Fatalf("known_hosts changed: %q %v", data, err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
