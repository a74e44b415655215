package boardinstall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/services/hwbridge"
	"github.com/rpbus/rpbus/wire"
)

// Config is one board and how to reach it. Install uses every field;
// status, logs and uninstall use the SSH ones, Prefix and the NATS check.
type Config struct {
	Target Target
	SSH    SSHOptions

	Board string
	// NATS is the URL (or comma-separated URLs) the bridge on the board
	// connects to; a user and password ride in it (percent-encoded).
	NATS string
	// CheckNATS is the URL this PC asks rp.<board>.hw.info on; empty
	// means NATS. NATSOptions carry this PC's credentials.
	CheckNATS   string
	NATSOptions []nats.Option
	// Creds is a NATS credentials file on this PC, copied to the board.
	Creds string

	Bitstream string // empty: PyRPL's, found by Python
	Python    string // the Python that finds PyRPL; empty: python3, then python
	Binary    string // empty: this rpbus when it runs on the board, else a build
	SourceDir string // where to look for the rpbus module to build from; empty: "."

	Prefix  string // empty: DefaultPrefix
	Manager string // auto, systemd or plain; empty: auto
	DevMem  string // the register device checked on the board; empty: /dev/mem
	MemFile string // a plain file the bridge maps instead (dry runs)
	// BridgeArgs are more flags for rpbus hwbridge on the board, e.g.
	// --fpga-loader=fpgautil.
	BridgeArgs []string
	Wait       time.Duration

	// Progress gets a line per step.
	Progress io.Writer
}

// DefaultWait bounds how long an install waits for hw.info.
const DefaultWait = 90 * time.Second

// rollbackTimeout bounds the undo of a failed install.
const rollbackTimeout = 2 * time.Minute

var boardName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// safeArg is what a bridge flag may hold: it goes unquoted into a systemd
// unit.
var safeArg = regexp.MustCompile(`^-[A-Za-z0-9._+/=:,@-]+$`)

// safeURL is what an environment file line can hold unquoted in both
// systemd and sh.
var safeURL = regexp.MustCompile(`^[A-Za-z0-9._~%:/@,+\[\]-]+$`)

func (c *Config) defaults() {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Manager == "" {
		c.Manager = ManagerAuto
	}
	if c.DevMem == "" {
		c.DevMem = "/dev/mem"
	}
	if c.Wait <= 0 {
		c.Wait = DefaultWait
	}
	if c.SourceDir == "" {
		c.SourceDir = "."
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.SSH.Log == nil {
		c.SSH.Log = c.Progress
	}
}

// validate checks what needs no board.
func (c *Config) validate() error {
	if !boardName.MatchString(c.Board) {
		return fmt.Errorf("--board %q: want 1..64 letters, digits, - or _ (it is the second token of every subject, rp.<board>...)", c.Board)
	}
	if err := checkPrefix(c.Prefix); err != nil {
		return err
	}
	if err := checkPath("--dev-mem", c.DevMem); err != nil {
		return err
	}
	if c.MemFile != "" {
		if err := checkPath("--mem-file", c.MemFile); err != nil {
			return err
		}
	}
	for _, a := range c.BridgeArgs {
		if !safeArg.MatchString(a) {
			return fmt.Errorf("--bridge-arg %q: want a flag of letters, digits and . _ + / = : , @ -, e.g. --fpga-loader=fpgautil", a)
		}
	}
	if c.Manager != ManagerAuto {
		if _, err := managerFor(c.Manager); err != nil {
			return err
		}
	}
	if c.NATS == "" {
		return errors.New("--nats: give the URL the board reaches this PC's NATS server at, e.g. nats://192.168.1.10:4222")
	}
	if !safeURL.MatchString(c.NATS) {
		return fmt.Errorf("--nats %q: percent-encode characters other than letters, digits and . _ ~ %% : / @ , + - [ ]", redact(c.NATS))
	}
	hosts, err := natsHosts(c.NATS)
	if err != nil {
		return err
	}
	if c.CheckNATS == "" && !c.Target.Loopback() {
		for _, h := range hosts {
			if host, _, _ := net.SplitHostPort(h); isLoopback(host) {
				return fmt.Errorf("--nats %s: the bridge on the board connects to this URL, and there %s is the board itself. "+
					"Give this PC's address as the board sees it (e.g. nats://192.168.1.10:4222), or, when NATS runs on the board, "+
					"--check-nats with the URL this PC reaches it at", redact(c.NATS), host)
			}
		}
	}
	return nil
}

// natsHosts lists host:port of each URL, with NATS's default ports.
func natsHosts(urls string) ([]string, error) {
	var hosts []string
	for _, s := range strings.Split(urls, ",") {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "://") {
			s = "nats://" + s
		}
		u, err := url.Parse(s)
		if err != nil || u.Hostname() == "" {
			return nil, fmt.Errorf("--nats %q: not a URL like nats://HOST:4222", redact(s))
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"ws": "80", "wss": "443"}[u.Scheme]
			if port == "" {
				port = "4222"
			}
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return nil, fmt.Errorf("--nats %q: scheme %q, want nats, tls, ws or wss", redact(s), u.Scheme)
		}
		hosts = append(hosts, net.JoinHostPort(u.Hostname(), port))
	}
	return hosts, nil
}

// redact removes passwords from NATS URLs.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, s := range parts {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				parts[i] = u.Redacted()
			}
		}
	}
	return strings.Join(parts, ",")
}

// stripUser removes users and passwords from NATS URLs.
func stripUser(urls string) string {
	parts := strings.Split(urls, ",")
	for i, s := range parts {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil && u.User != nil {
			u.User = nil
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// StepError is a failed step of an install or uninstall.
type StepError struct {
	Op       string // install, uninstall
	N, Total int
	Step     string
	Err      error
	Rollback string // what the rollback did, or what is left to fix by hand
	Log      string // the bridge's last log lines, when it ran
}

func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "board %s failed at step %d/%d, %s: %v", e.Op, e.N, e.Total, e.Step, e.Err)
	if e.Log != "" {
		fmt.Fprintf(&b, "\nthe bridge's log on the board:\n%s", indent(e.Log))
	}
	if e.Rollback != "" {
		fmt.Fprintf(&b, "\n%s", e.Rollback)
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return strings.Join(lines, "\n")
}

// steps numbers and prints the steps of an operation.
type steps struct {
	op    string
	n     int
	total int
	out   io.Writer
}

// do runs one step; f returns the line to print.
func (s *steps) do(name string, f func() (string, error)) error {
	s.n++
	line, err := f()
	if err != nil {
		return &StepError{Op: s.op, N: s.n, Total: s.total, Step: name, Err: err}
	}
	fmt.Fprintf(s.out, "[%d/%d] %s: %s\n", s.n, s.total, name, line)
	return nil
}

// note prints a line under the current step, for slow ones.
func (s *steps) note(format string, args ...any) {
	fmt.Fprintf(s.out, "      "+format+"\n", args...)
}

// undo is one change to the board and how to take it back.
type undo struct {
	what string
	f    func(ctx context.Context) error
}

// installer is one run of Install.
type installer struct {
	cfg   Config
	st    steps
	l     layout
	r     *Remote
	nc    *nats.Conn
	undos []undo

	bitstream, binary Artifact
	board             boardState
	mgr               manager
	rec               Record
	prev              *Record
	prevMgr           manager
	answeredBefore    string
	exitsAtStart      int // the manager's count of the bridge's exits right after the start
	tmp               string
}

// Install puts the bridge on the board and starts it; see the package
// comment. On failure the board is left as it was and the error is a
// *StepError.
func Install(ctx context.Context, cfg Config) (err error) {
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	in := &installer{cfg: cfg, l: layout{cfg.Prefix}, st: steps{op: "install", total: 9, out: cfg.Progress}}
	defer in.close()
	defer func() {
		var se *StepError
		if errors.As(err, &se) {
			se.Rollback = in.rollback()
		}
	}()
	for _, s := range []struct {
		name string
		f    func(context.Context) (string, error)
	}{
		{"bitstream", in.findBitstream},
		{"nats", in.connectNATS},
		{"ssh", in.dial},
		{"board", in.inspect},
		{"binary", in.chooseBinary},
		{"copy", in.stage},
		{"check", in.check},
		{"service", in.start},
		{"bus", in.waitInfo},
	} {
		if err := in.st.do(s.name, func() (string, error) { return s.f(ctx) }); err != nil {
			var se *StepError
			if errors.As(err, &se) && (s.name == "service" || s.name == "bus") {
				se.Log = in.logTail()
			}
			return err
		}
	}
	in.finish(ctx)
	return nil
}

func (in *installer) close() {
	if in.nc != nil {
		in.nc.Close()
	}
	if in.r != nil {
		in.r.Close()
	}
	if in.tmp != "" {
		os.RemoveAll(in.tmp)
	}
}

// rollback runs the undos in reverse and says what it did.
func (in *installer) rollback() string {
	if len(in.undos) == 0 {
		return "nothing was changed on the board"
	}
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	var failed []string
	for i := len(in.undos) - 1; i >= 0; i-- {
		u := in.undos[i]
		if err := u.f(ctx); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", u.what, err))
		}
	}
	in.undos = nil
	if len(failed) > 0 {
		return "rolled back INCOMPLETELY; fix by hand on the board:\n" + indent(strings.Join(failed, "\n"))
	}
	if in.prev != nil {
		return fmt.Sprintf("rolled back: the previous install (rpbus %s of %s) is back in %s and running",
			in.prev.Version, in.prev.Installed.Format(time.DateTime), in.l.prefix)
	}
	return "rolled back: nothing of this install is left on the board"
}

func (in *installer) push(what string, f func(ctx context.Context) error) {
	in.undos = append(in.undos, undo{what, f})
}

func (in *installer) findBitstream(ctx context.Context) (string, error) {
	a, err := FindBitstream(ctx, in.cfg.Bitstream, in.cfg.Python)
	if err != nil {
		return "", err
	}
	in.bitstream = a
	return fmt.Sprintf("%s, %s, sha256 %s", a.Source, size(a.Size), a.SHA256[:16]), nil
}

func (in *installer) checkURL() string {
	if in.cfg.CheckNATS != "" {
		return in.cfg.CheckNATS
	}
	return in.cfg.NATS
}

func (in *installer) connectNATS(ctx context.Context) (string, error) {
	url := in.checkURL()
	opts := append([]nats.Option{nats.Name("rpbus-board-install"), nats.Timeout(5 * time.Second)}, in.cfg.NATSOptions...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return "", fmt.Errorf("this PC cannot connect to %s: %w (is the NATS server running? `rpbus up` runs one)", redact(url), err)
	}
	in.nc = nc
	line := "this PC reaches " + redact(nc.ConnectedUrlRedacted())
	if info, err := askInfo(ctx, nc, in.cfg.Board, 2*time.Second); err == nil {
		in.answeredBefore = describeInfo(info)
		line += fmt.Sprintf("; rp.%s.hw.info answers already (%s)", in.cfg.Board, in.answeredBefore)
	}
	return line, nil
}

func (in *installer) dial(ctx context.Context) (string, error) {
	r, err := Dial(ctx, in.cfg.Target, in.cfg.SSH)
	if err != nil {
		return "", err
	}
	in.r = r
	return fmt.Sprintf("%s, host key %s, logged in with %s", r.Target, r.HostKey, r.Auth), nil
}

// boardState is what the board told about itself before the install.
type boardState struct {
	arch, os, manager  string
	uid                string
	dev, devRW         bool
	unit, staged, prev bool
	prefix             bool
	record             *Record
	stagedRecord       bool
}

func inspectScript(l layout, dev string) string {
	return fmt.Sprintf(`echo "arch=$(uname -m)"
if [ -f /root/.version ]; then echo "os=Red Pitaya OS $(head -n 1 /root/.version)"; elif [ -f /etc/os-release ]; then . /etc/os-release; echo "os=$PRETTY_NAME"; fi
echo "uid=$(id -u)"
echo "manager=$(%s)"
[ -e %[2]s ] && echo dev=yes
[ -r %[2]s ] && [ -w %[2]s ] && echo devrw=yes
[ -f %[3]s ] && echo unit=yes
[ -e %[4]s ] && echo staged=yes
[ -f %[4]s/install.json ] && echo stagedrecord=yes
[ -e %[5]s ] && echo prev=yes
[ -e %[6]s ] && echo prefix=yes
if [ -f %[7]s ]; then echo record; cat %[7]s; fi
true`, detectScript, shq(dev), shq(l.unit()), shq(l.staged()), shq(l.previous()), shq(l.prefix), shq(l.record()))
}

func readBoard(ctx context.Context, r *Remote, l layout, dev string) (boardState, error) {
	out, err := r.Run(ctx, inspectScript(l, dev))
	if err != nil {
		return boardState{}, fmt.Errorf("asking the board about itself: %w", err)
	}
	var b boardState
	head, rec, hasRec := strings.Cut(out, "record\n")
	strs := map[string]*string{"arch": &b.arch, "os": &b.os, "uid": &b.uid, "manager": &b.manager}
	flags := map[string]*bool{"dev": &b.dev, "devrw": &b.devRW, "unit": &b.unit, "staged": &b.staged,
		"stagedrecord": &b.stagedRecord, "prev": &b.prev, "prefix": &b.prefix}
	for _, line := range strings.Split(head, "\n") {
		k, v, _ := strings.Cut(line, "=")
		if p, ok := strs[k]; ok {
			*p = v
		} else if p, ok := flags[k]; ok {
			*p = true
		}
	}
	if hasRec {
		var r Record
		if err := json.Unmarshal([]byte(rec), &r); err != nil {
			return b, fmt.Errorf("%s is not an rpbus install record: %v", l.record(), err)
		}
		b.record = &r
	}
	return b, nil
}

func (in *installer) inspect(ctx context.Context) (string, error) {
	b, err := readBoard(ctx, in.r, in.l, in.cfg.DevMem)
	if err != nil {
		return "", err
	}
	in.board = b
	checked := in.cfg.DevMem + " present"
	if in.cfg.MemFile != "" {
		checked = "--mem-file " + in.cfg.MemFile
	}
	switch {
	case in.cfg.MemFile != "":
		// The bridge makes a missing one, reading as PyRPL's design does.
		f := shq(in.cfg.MemFile)
		if _, err := in.r.Run(ctx, fmt.Sprintf(`if [ -e %[1]s ]; then [ -r %[1]s ] && [ -w %[1]s ]; else [ -w "$(dirname %[1]s)" ]; fi`, f)); err != nil {
			return "", fmt.Errorf("--mem-file %s: the bridge can neither read and write it nor make it on the board", in.cfg.MemFile)
		}
		checked += " (dry run)"
	case !b.dev:
		return "", fmt.Errorf("the board has no %s: the devmem backend maps the FPGA's registers from it. Is %s a Red Pitaya running its own Linux?",
			in.cfg.DevMem, in.cfg.Target.Host)
	case !b.devRW:
		return "", fmt.Errorf("user %s (uid %s) cannot read and write %s on the board: log in as root (--ssh root@%s)",
			in.cfg.Target.User, b.uid, in.cfg.DevMem, in.cfg.Target.Host)
	}
	name := in.cfg.Manager
	if name == ManagerAuto {
		name = b.manager
	}
	if name == ManagerSystemd && b.manager != ManagerSystemd {
		return "", errors.New("--service-manager systemd: the board does not run systemd; use --service-manager plain")
	}
	if name == ManagerSystemd && b.uid != "0" {
		return "", fmt.Errorf("writing a systemd unit needs root: log in as root (--ssh root@%s) or use --service-manager plain", in.cfg.Target.Host)
	}
	in.mgr, _ = managerFor(name)
	switch {
	case b.prev:
		return "", fmt.Errorf("%s is left from an interrupted install: look at it, then remove it or move it back to %s", in.l.previous(), in.l.prefix)
	case b.staged && !b.stagedRecord:
		return "", fmt.Errorf("%s exists and is not an rpbus install: remove it or choose another --prefix", in.l.staged())
	case b.prefix && b.record == nil:
		return "", fmt.Errorf("%s exists and is not an rpbus install (no install.json): remove it or choose another --prefix", in.l.prefix)
	case b.unit && (b.record == nil || b.record.Unit == ""):
		return "", fmt.Errorf("%s exists but not from an install under %s: uninstall that one first (rpbus board uninstall --prefix ...)", in.l.unit(), in.l.prefix)
	}
	if b.record != nil {
		in.prev = b.record
		if in.prevMgr, err = managerFor(b.record.Manager); err != nil {
			return "", fmt.Errorf("%s: %v", in.l.record(), err)
		}
	}
	if b.staged {
		// Left by an install that was killed: it was never started.
		if _, err := in.r.Run(ctx, "rm -rf "+shq(in.l.staged())); err != nil {
			return "", err
		}
		in.st.note("removed %s, left by an interrupted install", in.l.staged())
	}
	if in.answeredBefore != "" && in.prev == nil {
		return "", fmt.Errorf("another bridge already answers rp.%s.hw.info on this bus (%s): stop it, or install under another --board name",
			in.cfg.Board, in.answeredBefore)
	}
	line := fmt.Sprintf("%s, %s, uid %s, %s, %s", orUnknown(b.os), b.arch, b.uid, name, checked)
	if in.prev != nil {
		line += fmt.Sprintf("; replacing the install of board %s, rpbus %s of %s", in.prev.Board, in.prev.Version, in.prev.Installed.Format(time.DateTime))
	}
	return line, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown OS"
	}
	return s
}

func (in *installer) chooseBinary(ctx context.Context) (string, error) {
	p, err := PlatformFor(in.board.arch)
	if err != nil {
		return "", err
	}
	if in.cfg.Binary == "" && !p.runs() {
		in.st.note("building rpbus for %s with the local Go toolchain ...", p)
	}
	if in.tmp, err = os.MkdirTemp("", "rpbus-install-"); err != nil {
		return "", err
	}
	a, err := Binary(ctx, in.cfg.Binary, p, in.cfg.SourceDir, in.tmp)
	if err != nil {
		return "", err
	}
	in.binary = a
	return fmt.Sprintf("%s, %s, sha256 %s", a.Source, size(a.Size), a.SHA256[:16]), nil
}

// stage writes every file under PREFIX.new.
func (in *installer) stage(ctx context.Context) (string, error) {
	cfg := in.cfg
	bitName := filepath.Base(in.bitstream.Local)
	if !safePath.MatchString("/" + bitName) {
		bitName = PyRPLBitstream
	}
	in.bitstream.Path = in.l.fpga(bitName)
	in.binary.Path = in.l.binary()
	rec := Record{
		Format: 1, Board: cfg.Board, NATS: stripUser(cfg.NATS), Manager: managerName(in.mgr), Prefix: in.l.prefix,
		Command:   append(bridgeCommand(in.l, cfg.Board, in.bitstream.Path, cfg.MemFile), cfg.BridgeArgs...),
		Bitstream: in.bitstream, Binary: in.binary, Version: hwbridge.Version, Installed: time.Now().UTC().Truncate(time.Second),
		Host: BoardInfo{Arch: in.board.arch, OS: in.board.os},
	}
	if rec.Manager == ManagerSystemd {
		rec.Unit = in.l.unit()
	}
	env := "RPBUS_NATS=" + cfg.NATS + "\n"
	files := []file{{rel: "etc/hwbridge.env", mode: 0o600}}
	if cfg.Creds != "" {
		creds, err := os.ReadFile(cfg.Creds)
		if err != nil {
			return "", fmt.Errorf("--creds: %w", err)
		}
		files = append(files, file{rel: "etc/nats.creds", mode: 0o600, data: creds})
		env += "RPBUS_CREDS=" + in.l.creds() + "\n"
	}
	files[0].data = []byte(env)
	files = append(files, in.mgr.prefixFiles(rec)...)
	rec.Files = []string{"bin/rpbus", "fpga/" + bitName}
	for _, f := range files {
		rec.Files = append(rec.Files, f.rel)
	}
	rec.Files = append(rec.Files, "install.json")
	in.rec = rec

	staged := in.l.staged()
	mk := "umask 022 && mkdir -p"
	for _, d := range dirs {
		mk += " " + shq(staged+"/"+d)
	}
	in.push("remove "+staged, func(ctx context.Context) error {
		_, err := in.r.Run(ctx, "rm -rf "+shq(staged))
		return err
	})
	if _, err := in.r.Run(ctx, mk); err != nil {
		return "", err
	}
	total := in.binary.Size + in.bitstream.Size
	in.st.note("copying %s to %s:%s ...", size(total), in.cfg.Target.Host, staged)
	if err := in.upload(ctx, staged+"/bin/rpbus", 0o755, in.binary); err != nil {
		return "", err
	}
	if err := in.upload(ctx, staged+"/fpga/"+bitName, 0o644, in.bitstream); err != nil {
		return "", err
	}
	files = append(files, file{rel: "install.json", mode: 0o644, data: rec.marshal()})
	for _, f := range files {
		if err := in.r.Write(ctx, staged+"/"+f.rel, os.FileMode(f.mode), bytes.NewReader(f.data)); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%s to %s (%s)", size(total), staged, strings.Join(rec.Files, ", ")), nil
}

// upload copies a local file and checks what landed.
func (in *installer) upload(ctx context.Context, remote string, mode os.FileMode, a Artifact) error {
	f, err := os.Open(a.Local)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := in.r.Write(ctx, remote, mode, f); err != nil {
		return err
	}
	out, err := in.r.Run(ctx, "wc -c < "+shq(remote))
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(out); got != fmt.Sprint(a.Size) {
		return fmt.Errorf("%s on the board has %s bytes, want %d (disk full?)", remote, got, a.Size)
	}
	return nil
}

// check runs the staged binary on the board: it must start there and
// reach the NATS server.
func (in *installer) check(ctx context.Context) (string, error) {
	hosts, _ := natsHosts(in.cfg.NATS)
	bin := in.l.staged() + "/bin/rpbus"
	var errs []string
	for _, h := range hosts {
		out, err := in.r.Run(ctx, fmt.Sprintf("%s health --tcp %s --timeout 5s 2>&1", shq(bin), shq(h)))
		if err == nil {
			return fmt.Sprintf("rpbus runs on the board and reaches %s", h), nil
		}
		var re *RemoteError
		if errors.As(err, &re) && (re.Status == 126 || re.Status == 127 || strings.Contains(re.Msg, "format error")) {
			return "", fmt.Errorf("the rpbus binary does not run on the board: %s", re.Msg)
		}
		errs = append(errs, strings.TrimSpace(out+" "+err.Error()))
	}
	return "", fmt.Errorf("the board cannot reach the NATS server at %s: %s. Check the address as the board sees it, and the PC's firewall (port %s)",
		strings.Join(hosts, ", "), strings.Join(errs, "; "), portOf(hosts[0]))
}

func portOf(hostport string) string {
	_, p, _ := net.SplitHostPort(hostport)
	return p
}

// start stops a previous install, moves the new one in and starts it.
// Each undo is pushed once its change is made, so a rollback takes back
// exactly what happened, newest first.
func (in *installer) start(ctx context.Context) (string, error) {
	l, r, rec := in.l, in.r, in.rec
	var err error
	mv := func(from, to string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := r.Run(ctx, fmt.Sprintf("mv %s %s", shq(from), shq(to)))
			return err
		}
	}
	if in.prev != nil {
		prev, prevMgr := *in.prev, in.prevMgr
		in.push("restart the previous install", func(ctx context.Context) error { return prevMgr.start(ctx, r, prev) })
		if err := prevMgr.remove(ctx, r, prev); err != nil {
			return "", fmt.Errorf("stopping the previous install: %w", err)
		}
		if in.answeredBefore != "" {
			if info, err := askInfo(ctx, in.nc, in.cfg.Board, time.Second); err == nil {
				return "", fmt.Errorf("rp.%s.hw.info still answers with the previous install stopped (%s): another bridge serves this board name; stop it, or install under another --board name",
					in.cfg.Board, describeInfo(info))
			}
		}
		if err := mv(l.prefix, l.previous())(ctx); err != nil {
			return "", err
		}
		in.push("move "+l.previous()+" back to "+l.prefix, mv(l.previous(), l.prefix))
	}
	if err := mv(l.staged(), l.prefix)(ctx); err != nil {
		return "", err
	}
	in.push("stop the new bridge and remove "+l.prefix, func(ctx context.Context) error {
		if err := in.mgr.remove(ctx, r, rec); err != nil {
			return err
		}
		_, err := r.Run(ctx, "rm -rf "+shq(l.prefix))
		return err
	})
	if err := in.mgr.start(ctx, r, rec); err != nil {
		return "", err
	}
	if rec.Manager == ManagerSystemd { // the plain supervisor's log is new: 0
		if in.exitsAtStart, err = in.mgr.exits(ctx, r, rec); err != nil {
			in.exitsAtStart = -1
		}
	}
	if rec.Manager == ManagerSystemd {
		return fmt.Sprintf("systemd unit %s enabled and started (restarts on failure, starts at boot)", rec.Unit), nil
	}
	return fmt.Sprintf("%s started (restarts the bridge when it exits; nothing starts it at boot)", l.supervisor()), nil
}

// waitInfo waits until the new bridge answers on the bus.
func (in *installer) waitInfo(ctx context.Context) (string, error) {
	start := time.Now()
	deadline := start.Add(in.cfg.Wait)
	in.st.note("waiting up to %v for rp.%s.hw.info on %s ...", in.cfg.Wait, in.cfg.Board, redact(in.checkURL()))
	var last error
	nextCheck := start.Add(time.Second)
	for time.Now().Before(deadline) {
		if time.Now().After(nextCheck) {
			// A bridge that exits will not answer: say so now, not at the deadline.
			if n, err := in.mgr.exits(ctx, in.r, in.rec); err == nil && in.exitsAtStart >= 0 && n > in.exitsAtStart {
				return "", fmt.Errorf("the bridge exited %d time(s) since it was started and has not answered rp.%s.hw.info", n-in.exitsAtStart, in.cfg.Board)
			}
			nextCheck = time.Now().Add(2 * time.Second)
		}
		info, err := askInfo(ctx, in.nc, in.cfg.Board, 2*time.Second)
		if err == nil {
			if info.Backend != "devmem" {
				return "", fmt.Errorf("rp.%s.hw.info answers with backend %q, not the devmem bridge just installed: another bridge serves this board name", in.cfg.Board, info.Backend)
			}
			if d := info.Design; d != nil && d.SHA256 != "" && d.SHA256 != in.bitstream.SHA256 {
				return "", fmt.Errorf("rp.%s.hw.info reports the design of sha256 %s loaded, not the bitstream just installed (%s): another bridge serves this board name",
					in.cfg.Board, short(d.SHA256), short(in.bitstream.SHA256))
			}
			return fmt.Sprintf("rp.%s.hw.info answered %.1f s after the start: %s", in.cfg.Board, time.Since(start).Seconds(), describeInfo(info)), nil
		}
		var se *serviceError
		if errors.As(err, &se) {
			return "", fmt.Errorf("the bridge answers rp.%s.hw.info with an error: %v", in.cfg.Board, se.err)
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		last = err
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("no answer to rp.%s.hw.info within %v (last: %v): the bridge did not start or cannot reach %s",
		in.cfg.Board, in.cfg.Wait, last, redact(in.cfg.NATS))
}

// logTail is the bridge's last log lines, for a failed start.
func (in *installer) logTail() string {
	if in.r == nil || in.mgr == nil || in.rec.Prefix == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := in.r.Run(ctx, in.mgr.logs(in.rec, 30, false)+" 2>&1")
	if err != nil {
		return ""
	}
	return out
}

// finish drops the previous install once the new one answers.
func (in *installer) finish(ctx context.Context) {
	in.undos = nil
	if in.prev != nil {
		if _, err := in.r.Run(ctx, "rm -rf "+shq(in.l.previous())); err != nil {
			fmt.Fprintf(in.cfg.Progress, "warning: could not remove %s: %v\n", in.l.previous(), err)
		}
	}
	fmt.Fprintf(in.cfg.Progress, "installed: board %s on %s under %s (%s)\n", in.cfg.Board, in.cfg.Target, in.l.prefix, in.rec.Manager)
}

// serviceError is an error reply from the service.
type serviceError struct{ err error }

func (e *serviceError) Error() string { return e.err.Error() }

// askInfo requests rp.<board>.hw.info once.
func askInfo(ctx context.Context, nc *nats.Conn, board string, timeout time.Duration) (api.HWInfo, error) {
	var info api.HWInfo
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	msg, err := nc.RequestWithContext(ctx, api.Subject(board, "hw", "info"), []byte("{}"))
	if err != nil {
		return info, err
	}
	if err := wire.ErrorFromMsg(msg); err != nil {
		return info, &serviceError{err}
	}
	if err := wire.CodecOf(msg.Header).Unmarshal(msg.Data, &info); err != nil {
		return info, &serviceError{fmt.Errorf("decoding the reply: %v", err)}
	}
	return info, nil
}

func describeInfo(i api.HWInfo) string {
	s := "backend " + i.Backend
	if i.Address != "" {
		s += " on " + i.Address
	}
	if d := i.Design; d != nil {
		s += ", design " + d.Name
		if d.Loader != "" {
			s += " loaded by " + d.Loader
		}
		if d.SHA256 != "" {
			s += " (sha256 " + short(d.SHA256) + ")"
		}
	} else if i.Bitstream != "" {
		s += ", bitstream " + i.Bitstream
	}
	if i.OS != "" {
		s += ", " + i.OS
	}
	return s + ", rpbus " + i.Version
}

func managerName(m manager) string {
	if _, ok := m.(systemd); ok {
		return ManagerSystemd
	}
	return ManagerPlain
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
