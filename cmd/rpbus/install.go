package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/term"

	"github.com/rpbus/rpbus/internal/boardinstall"
)

func init() {
	register("board", "install the bridge on a Red Pitaya over SSH, and its status, logs, uninstall", func(stdout, stderr io.Writer) command {
		return &boardCmd{stdout: stdout, stderr: stderr}
	})
}

// boardVerbs are the verbs of `rpbus board` and what they do.
var boardVerbs = map[string]string{
	"install":   "copy rpbus and PyRPL's bitstream to the board, start the bridge there, wait until it answers on the bus",
	"status":    "what is installed, whether the bridge runs, its last log lines, whether it answers on the bus",
	"logs":      "the bridge's log on the board (-n lines, -f to follow)",
	"uninstall": "stop the bridge and remove everything the install put on the board",
}

// boardCmd is `rpbus board VERB`: the bridge on the board itself, over SSH.
type boardCmd struct {
	stdout, stderr io.Writer
	verb           string

	ssh, knownHosts  string
	identities       []string
	acceptNewHostKey bool
	noAgent          bool

	board, natsURL, checkNATS string
	creds, user, pass         string
	bitstream, python, binary string
	prefix, manager           string
	devMem, memFile           string
	bridgeArgs                []string
	wait                      time.Duration
	lines                     int
	follow                    bool

	cfg boardinstall.Config
}

func (c *boardCmd) ParseFlags(args []string) error {
	if len(args) == 0 || boardVerbs[args[0]] == "" {
		var b strings.Builder
		b.WriteString("rpbus board needs a verb:\n")
		for _, v := range []string{"install", "status", "logs", "uninstall"} {
			fmt.Fprintf(&b, "  rpbus board %-9s --ssh root@HOST  %s\n", v, boardVerbs[v])
		}
		b.WriteString("`rpbus board VERB -h` lists its flags; docs/board.md walks through a first install")
		return usageError{b.String()}
	}
	c.verb = args[0]
	fs := flag.NewFlagSet("rpbus board "+c.verb, flag.ContinueOnError)
	fs.StringVar(&c.ssh, "ssh", "", "the board's login, USER@HOST[:PORT] (a new Red Pitaya: root@rp-XXXXXX.local, password root); "+
		"the password is asked on the terminal, or read from "+boardinstall.PasswordEnv)
	fs.Func("identity", "private key file to log in with (repeatable; default: the SSH agent and ~/.ssh/id_ed25519, id_ecdsa, id_rsa)", func(s string) error {
		c.identities = append(c.identities, s)
		return nil
	})
	fs.StringVar(&c.knownHosts, "known-hosts", "", "known_hosts file the board's host key is checked against (default ~/.ssh/known_hosts)")
	fs.BoolVar(&c.acceptNewHostKey, "accept-new-host-key", false, "trust and remember the host key of a board met for the first time without asking (a changed key is still refused)")
	fs.BoolVar(&c.noAgent, "no-agent", false, "do not use the SSH agent of SSH_AUTH_SOCK")
	fs.StringVar(&c.prefix, "prefix", boardinstall.DefaultPrefix, "install folder on the board")
	fs.StringVar(&c.checkNATS, "check-nats", "", "the NATS URL this PC asks rp.<board>.hw.info on, when it differs from --nats (NATS on the board, a leaf node)")
	fs.StringVar(&c.creds, "creds", "", "NATS credentials file; install copies it to the board for the bridge")
	fs.StringVar(&c.user, "user", "", "NATS user (install gives it to the bridge in its URL)")
	fs.StringVar(&c.pass, "password", "", "NATS password (not the SSH one)")
	switch c.verb {
	case "install":
		fs.StringVar(&c.board, "board", "", "board name: the second token of its subjects, rp.<board>... (required)")
		fs.StringVar(&c.natsURL, "nats", "", "the NATS URL the board reaches, e.g. nats://192.168.1.10:4222 for this PC running rpbus up (required)")
		fs.StringVar(&c.bitstream, "bitstream", "", "PyRPL's FPGA design, fpga/red_pitaya.bin (default: found in the PyRPL package that Python finds)")
		fs.StringVar(&c.python, "python", "", "the Python whose PyRPL package has the bitstream (default python3, then python)")
		fs.StringVar(&c.binary, "binary", "", "rpbus binary for the board (default: this one when it runs there, else built with Go for the board's architecture)")
		fs.StringVar(&c.manager, "service-manager", boardinstall.ManagerAuto, "auto, systemd (a unit that restarts on failure and starts at boot) or plain (a supervisor loop in the background)")
		fs.StringVar(&c.devMem, "dev-mem", "/dev/mem", "the register device the board must have")
		fs.StringVar(&c.memFile, "mem-file", "", "dry run: the bridge maps this plain file on the board instead of the FPGA")
		fs.Func("bridge-arg", "one more flag for rpbus hwbridge on the board, e.g. --bridge-arg=--fpga-loader=fpgautil (repeatable)", func(s string) error {
			c.bridgeArgs = append(c.bridgeArgs, s)
			return nil
		})
		fs.DurationVar(&c.wait, "wait", boardinstall.DefaultWait, "how long to wait for the new bridge to answer on the bus")
	case "status":
		fs.StringVar(&c.natsURL, "nats", "", "the NATS URL this PC checks the bridge on (default: the one it was installed with)")
	case "logs":
		fs.IntVar(&c.lines, "n", 100, "how many lines")
		fs.BoolVar(&c.follow, "f", false, "keep printing new lines until interrupted")
	}
	if err := parseWithEnv(fs, args[1:], nil); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("rpbus board %s: unexpected %q", c.verb, strings.Join(fs.Args(), " "))}
	}
	if c.ssh == "" {
		return usageError{fmt.Sprintf("rpbus board %s needs --ssh USER@HOST, e.g. --ssh root@192.168.1.100", c.verb)}
	}
	t, err := boardinstall.ParseTarget(c.ssh)
	if err != nil {
		return usageError{err.Error()}
	}
	if c.verb == "install" && (c.board == "" || c.natsURL == "") {
		return usageError{"rpbus board install needs --board NAME and --nats URL (the URL the board reaches your NATS server at, e.g. nats://192.168.1.10:4222)"}
	}
	c.cfg = boardinstall.Config{
		Target: t,
		SSH: boardinstall.SSHOptions{
			Identities: c.identities, KnownHosts: c.knownHosts, AcceptNewHostKey: c.acceptNewHostKey,
			NoAgent: c.noAgent, Password: os.Getenv(boardinstall.PasswordEnv),
		},
		Board: c.board, NATS: withUser(c.natsURL, c.user, c.pass), CheckNATS: c.checkNATS, Creds: c.creds,
		Bitstream: c.bitstream, Python: c.python, Binary: c.binary,
		Prefix: c.prefix, Manager: c.manager, DevMem: c.devMem, MemFile: c.memFile, BridgeArgs: c.bridgeArgs, Wait: c.wait,
		Progress: c.stdout,
	}
	if c.creds != "" {
		c.cfg.NATSOptions = append(c.cfg.NATSOptions, nats.UserCredentials(c.creds))
	}
	if c.user != "" {
		c.cfg.NATSOptions = append(c.cfg.NATSOptions, nats.UserInfo(c.user, c.pass))
	}
	return nil
}

func (c *boardCmd) Run(ctx context.Context) error {
	c.cfg.SSH.Prompt = terminalPrompt(ctx)
	switch c.verb {
	case "install":
		return boardinstall.Install(ctx, c.cfg)
	case "status":
		return boardinstall.Status(ctx, c.cfg, c.stdout)
	case "logs":
		return boardinstall.Logs(ctx, c.cfg, c.lines, c.follow, c.stdout, c.stderr)
	default:
		return boardinstall.Uninstall(ctx, c.cfg)
	}
}

func (c *boardCmd) Close() error { return nil }

// withUser puts a NATS user and password into each URL that has none,
// percent-encoded so the URL goes unquoted into the board's files.
func withUser(urls, user, pass string) string {
	if user == "" || urls == "" {
		return urls
	}
	parts := strings.Split(urls, ",")
	for i, s := range parts {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.User != nil || u.Host == "" {
			continue
		}
		userinfo := percentEncode(user)
		if pass != "" {
			userinfo += ":" + percentEncode(pass)
		}
		parts[i] = u.Scheme + "://" + userinfo + "@" + u.Host + u.EscapedPath()
	}
	return strings.Join(parts, ",")
}

// percentEncode escapes every byte but letters, digits and . _ ~ -.
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("._~-", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// ttyPrompt asks on the terminal: passwords without echo. Ctrl-C (the
// end of ctx) ends a question with the terminal as it was.
type ttyPrompt struct {
	ctx context.Context
	fd  int
	in  *bufio.Reader
}

// terminalPrompt is nil when standard input is not a terminal, so the
// install never waits on a question nobody sees.
func terminalPrompt(ctx context.Context) boardinstall.Prompter {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil
	}
	return &ttyPrompt{ctx: ctx, fd: fd, in: bufio.NewReader(os.Stdin)}
}

func (p *ttyPrompt) Password(prompt string) (string, error) {
	return p.ask(prompt, func() (string, error) {
		b, err := term.ReadPassword(p.fd)
		fmt.Fprintln(os.Stderr)
		return string(b), err
	})
}

func (p *ttyPrompt) Line(prompt string) (string, error) {
	return p.ask(prompt, func() (string, error) {
		s, err := p.in.ReadString('\n')
		if err == io.EOF && s != "" {
			err = nil
		}
		return strings.TrimRight(s, "\r\n"), err
	})
}

// ask reads an answer unless ctx ends first; the read then stays
// pending until the process exits.
func (p *ttyPrompt) ask(prompt string, read func() (string, error)) (string, error) {
	state, err := term.GetState(p.fd)
	if err != nil {
		return "", err
	}
	fmt.Fprint(os.Stderr, prompt)
	type answer struct {
		s   string
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		s, err := read()
		ch <- answer{s, err}
	}()
	select {
	case a := <-ch:
		return a.s, a.err
	case <-p.ctx.Done():
		_ = term.Restore(p.fd, state)
		fmt.Fprintln(os.Stderr)
		return "", p.ctx.Err()
	}
}
