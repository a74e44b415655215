package boardinstall_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/rpbus/rpbus/internal/boardinstall"
	"github.com/rpbus/rpbus/internal/natstest"
	"github.com/rpbus/rpbus/internal/sshdtest"
	"github.com/rpbus/rpbus/natsserver"
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
	xdevcfg   string // a file standing in for /dev/xdevcfg
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
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", built, "github.com/rpbus/rpbus/cmd/rpbus")
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
	// The bridge makes the file, reading as PyRPL's design does.
	r.memFile = filepath.Join(dir, "fpga.mem")
	// The loader of Red Pitaya OS 1.x writes the design to this device.
	r.xdevcfg = filepath.Join(dir, "xdevcfg")
	must(t, os.WriteFile(r.xdevcfg, nil, 0o644))
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
		BridgeArgs: []string{"--xdevcfg=" + r.xdevcfg},
		Wait:       20 * time.Second,
		Progress:   progress,
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
	if pids := processes(r.prefix + "/bin/"); len(pids) > 0 {
		r.t.Fatalf("%s: processes of the install still run: %v", what, pids)
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

func TestInstallLifecycle(t *testing.T) {
	r := newRig(t)
	var progress bytes.Buffer
	cfg := r.config(&progress)
	cfg.Bitstream = ""
	cfg.Python = "python3"
	t.Setenv("PYTHONPATH", r.pyrpl)
	cfg.SSH.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	cfg.SSH.AcceptNewHostKey = true

	out, err := r.install(cfg)
	if err != nil {
		t.Fatalf("install: %v\nprogress:\n%s", err, out)
	}
	t.Logf("install:\n%s", out)
	for i, want := range []string{"[1/9] bitstream: " + r.bitstream + " (PyRPL, found by", "ssh: permanently added", "[9/9] bus: rp.lab1.hw.info answered", "installed: board lab1"} {
		if !strings.Contains(out, want) {
			t.Fatalf("progress line %d: want %q in\n%s", i, want, out)
		}
	}
	if data, err := os.ReadFile(cfg.SSH.KnownHosts); err != nil || !strings.Contains(string(data), r.sshd.HostKey.Type()) {
		t.Fatalf("host key not remembered: %q %v", data, err)
	}
	// The files landed, the secrets readable by root only.
	for rel, mode := range map[string]os.FileMode{
		"bin/rpbus": 0o755, "bin/rpbus-hwbridge": 0o755, "fpga/red_pitaya.bin": 0o644, "etc/hwbridge.env": 0o600, "install.json": 0o644,
	} {
		st, err := os.Stat(filepath.Join(r.prefix, rel))
		if err != nil || st.Mode().Perm() != mode {
			t.Fatalf("%s: %v, mode %v want %v", rel, err, st.Mode().Perm(), mode)
		}
	}
	same(t, r.binary, filepath.Join(r.prefix, "bin/rpbus"))
	same(t, r.bitstream, r.xdevcfg) // the bridge loaded the design it was given
	same(t, r.bitstream, filepath.Join(r.prefix, "fpga/red_pitaya.bin"))
	if info, err := r.answers(); err != nil || !strings.Contains(info, `"backend":"devmem"`) {
		t.Fatalf("hw.info: %s %v", info, err)
	}
	cfg.SSH.AcceptNewHostKey = false // known now

	var status bytes.Buffer
	if err := boardinstall.Status(context.Background(), cfg, &status); err != nil {
		t.Fatalf("status: %v\n%s", err, status.String())
	}
	for _, want := range []string{"board:     lab1 on", "rpbus-hwbridge: running (pid", "bus:       rp.lab1.hw.info answered"} {
		if !strings.Contains(status.String(), want) {
			t.Fatalf("status: want %q in\n%s", want, status.String())
		}
	}
	var logs bytes.Buffer
	if err := boardinstall.Logs(context.Background(), cfg, 20, false, &logs, &logs); err != nil || !strings.Contains(logs.String(), `hwbridge: board "lab1" on backend devmem`) {
		t.Fatalf("logs: %v\n%s", err, logs.String())
	}

	// The supervisor restarts a bridge that dies.
	pid := bridgePID(t, r.prefix)
	must(t, syscall.Kill(pid, syscall.SIGKILL))
	natstest.WaitFor(t, 20*time.Second, "the bridge restarted", func() bool {
		p := bridgePID(t, r.prefix)
		_, err := r.answers()
		return p != 0 && p != pid && err == nil
	})

	// A second install replaces the first and leaves no copy behind.
	progress.Reset()
	if out, err := r.install(cfg); err != nil || !strings.Contains(out, "replacing the install of board lab1") {
		t.Fatalf("reinstall: %v\n%s", err, out)
	}
	if _, err := os.Stat(r.prefix + ".previous"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("previous install left: %v", err)
	}

	// A reinstall whose bridge finds no PyRPL design (a register space of
	// zeros) answers 503: the previous install comes back.
	bad := cfg
	bad.MemFile = filepath.Join(t.TempDir(), "zeros.mem")
	must(t, os.WriteFile(bad.MemFile, make([]byte, 5<<20), 0o644))
	out, err = r.install(bad)
	if err == nil || !strings.Contains(err.Error(), "step 9/9, bus: the bridge answers rp.lab1.hw.info with an error") ||
		!strings.Contains(err.Error(), "the previous install (rpbus") {
		t.Fatalf("failed reinstall: %v\n%s", err, out)
	}
	t.Logf("failed reinstall: %v", err)
	natstest.WaitFor(t, 20*time.Second, "the previous bridge answering again", func() bool { _, err := r.answers(); return err == nil })
	same(t, r.bitstream, filepath.Join(r.prefix, "fpga/red_pitaya.bin"))
	if data, err := os.ReadFile(filepath.Join(r.prefix, "install.json")); err != nil || !strings.Contains(string(data), r.memFile) {
		t.Fatalf("install.json after the rollback is not the previous one: %s %v", data, err)
	}

	progress.Reset()
	if err := boardinstall.Uninstall(context.Background(), cfg); err != nil {
		t.Fatalf("uninstall: %v\n%s", err, progress.String())
	}
	t.Logf("uninstall:\n%s", progress.String())
	r.nothingInstalled("uninstall")
	if _, err := r.answers(); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("hw.info after uninstall: %v", err)
	}
	progress.Reset()
	if err := boardinstall.Uninstall(context.Background(), cfg); err != nil || !strings.Contains(progress.String(), "nothing to uninstall") {
		t.Fatalf("second uninstall: %v\n%s", err, progress.String())
	}
	if err := boardinstall.Status(context.Background(), cfg, &status); !errors.Is(err, boardinstall.ErrNotInstalled) {
		t.Fatalf("status after uninstall: %v", err)
	}
}

// bridgePID is the pid of the running bridge of the install, or 0.
func bridgePID(t *testing.T, prefix string) int {
	pids := processes(prefix + "/bin/rpbus hwbridge")
	if len(pids) > 1 {
		t.Fatalf("%d bridges run: %v", len(pids), pids)
	}
	if len(pids) == 0 {
		return 0
	}
	return pids[0]
}

// processes lists the pids whose command line holds s.
func processes(s string) []int {
	var pids []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err == nil && strings.Contains(strings.ReplaceAll(string(cmdline), "\x00", " "), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func same(t *testing.T, a, b string) {
	t.Helper()
	da, err := os.ReadFile(a)
	must(t, err)
	db, err := os.ReadFile(b)
	must(t, err)
	if !bytes.Equal(da, db) {
		t.Fatalf("%s and %s differ", a, b)
	}
}

// TestLeafTopology installs the bridge against a NATS leaf node "on the
// board", joined to a hub "on the PC", with the two configurations of
// docs/board.md as written there (listeners moved to free loopback
// ports), and checks it from the hub with --check-nats.
func TestLeafTopology(t *testing.T) {
	doc, err := os.ReadFile("../../docs/board.md")
	must(t, err)
	hubPort, clientPort := freePort(t), freePort(t)
	dir := t.TempDir()
	conf := func(name string, old, new []string) string {
		start := strings.Index(string(doc), "```text\n# "+name)
		if start < 0 {
			t.Fatalf("docs/board.md has no %s block", name)
		}
		block := string(doc)[start+len("```text\n"):]
		block = block[:strings.Index(block, "```")]
		for i := range old {
			if !strings.Contains(block, old[i]) {
				t.Fatalf("%s in docs/board.md lacks %q", name, old[i])
			}
			block = strings.ReplaceAll(block, old[i], new[i])
		}
		f := filepath.Join(dir, name)
		must(t, os.WriteFile(f, []byte(block), 0o644))
		return f
	}
	hubConf := conf("hub.conf", []string{"0.0.0.0:7422"}, []string{"127.0.0.1:" + hubPort})
	leafConf := conf("leaf.conf", []string{"127.0.0.1:4222", "192.168.1.10:7422"}, []string{"127.0.0.1:" + clientPort, "127.0.0.1:" + hubPort})
	// As rpbus up starts them, with --listen on a free loopback port for the hub.
	hub, err := natsserver.Start(natsserver.Options{ConfigFile: hubConf, Listen: "127.0.0.1:0"})
	must(t, err)
	t.Cleanup(hub.Shutdown)
	leaf, err := natsserver.Start(natsserver.Options{ConfigFile: leafConf})
	must(t, err)
	t.Cleanup(leaf.Shutdown)
	natstest.WaitFor(t, 10*time.Second, "the leaf link", func() bool { return hub.NumLeafNodes() == 1 })

	r := newRig(t)
	cfg := r.config(&bytes.Buffer{})
	cfg.NATS, cfg.CheckNATS = leaf.ClientURL(), hub.ClientURL()
	out, err := r.install(cfg)
	if err != nil || !strings.Contains(out, "[2/9] nats: this PC reaches "+hub.ClientURL()) || !strings.Contains(out, "reaches 127.0.0.1:"+clientPort) {
		t.Fatalf("install through a leaf node: %v\n%s", err, out)
	}
	if err := boardinstall.Uninstall(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	r.nothingInstalled("uninstall")
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// scripted answers questions as a user at the terminal would.
type scripted struct {
	answers []string
	asked   []string
}

func (s *scripted) next(prompt string) (string, error) {
	s.asked = append(s.asked, prompt)
	if len(s.answers) == 0 {
		return "", errors.New("no more answers")
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a, nil
}

func (s *scripted) Password(prompt string) (string, error) { return s.next(prompt) }
func (s *scripted) Line(prompt string) (string, error)     { return s.next(prompt) }

// TestTerminalQuestions: a host met for the first time is accepted only
// on "yes" (or its fingerprint), as OpenSSH asks; a typed password is
// asked three times.
func TestTerminalQuestions(t *testing.T) {
	sshd := sshdtest.Start(t)
	target, err := boardinstall.ParseTarget(sshd.Target())
	must(t, err)
	ctx := context.Background()

	kh := filepath.Join(t.TempDir(), "known_hosts")
	no := &scripted{answers: []string{"no"}}
	_, err = boardinstall.Dial(ctx, target, boardinstall.SSHOptions{Identities: []string{sshd.Identity}, KnownHosts: kh, NoAgent: true, Prompt: no})
	if err == nil || !strings.Contains(err.Error(), "host key not accepted") || len(no.asked) != 1 ||
		!strings.Contains(no.asked[0], "The authenticity of host '[127.0.0.1]:") || !strings.Contains(no.asked[0], "(yes/no/[fingerprint])?") {
		t.Fatalf("answer no: %v, asked %q", err, no.asked)
	}
	if _, err := os.Stat(kh); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("known_hosts written after no: %v", err)
	}

	yes := &scripted{answers: []string{"perhaps", "yes"}}
	var log bytes.Buffer
	r, err := boardinstall.Dial(ctx, target, boardinstall.SSHOptions{Identities: []string{sshd.Identity}, KnownHosts: kh, NoAgent: true, Prompt: yes, Log: &log})
	if err != nil || len(yes.asked) != 2 || !strings.Contains(yes.asked[1], "Please type 'yes', 'no' or the fingerprint") {
		t.Fatalf("answer yes: %v, asked %q", err, yes.asked)
	}
	r.Close()
	if !strings.Contains(log.String(), "ssh: permanently added '[127.0.0.1]:") {
		t.Fatalf("log: %q", log.String())
	}
	// Known now: no question.
	quiet := &scripted{}
	r, err = boardinstall.Dial(ctx, target, boardinstall.SSHOptions{Identities: []string{sshd.Identity}, KnownHosts: kh, NoAgent: true, Prompt: quiet})
	if err != nil || len(quiet.asked) != 0 {
		t.Fatalf("known host: %v, asked %q", err, quiet.asked)
	}
	r.Close()

	typed := &scripted{answers: []string{"a", "b", "c"}}
	_, err = boardinstall.Dial(ctx, target, boardinstall.SSHOptions{Identities: []string{}, KnownHosts: kh, NoAgent: true, Prompt: typed})
	if err == nil || !strings.Contains(err.Error(), "a typed password): wrong password?") || len(typed.asked) != 3 ||
		typed.asked[0] != sshd.User+"@127.0.0.1's password: " {
		t.Fatalf("typed passwords: %v, asked %q", err, typed.asked)
	}

	// PAM asks through keyboard-interactive: the same password answers it.
	pam := sshdtest.Start(t, sshdtest.KeyboardInteractive())
	target, err = boardinstall.ParseTarget(pam.Target())
	must(t, err)
	typed = &scripted{answers: []string{"a", "b", "c", "d"}}
	_, err = boardinstall.Dial(ctx, target, boardinstall.SSHOptions{KnownHosts: pam.KnownHosts, NoAgent: true, Prompt: typed})
	if err == nil || !strings.Contains(err.Error(), "a typed password): wrong password?") || len(typed.asked) != 3 {
		t.Fatalf("keyboard-interactive: %v, asked %q\n%s", err, typed.asked, pam.Log())
	}
	// sshd logs each failure after answering it: wait for the three.
	for deadline := time.Now().Add(10 * time.Second); strings.Count(pam.Log(), "PAM: Authentication failure") < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not ask through PAM:\n%s", pam.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
