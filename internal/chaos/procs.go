package chaos

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rpbus/rpbus/deploy"
)

// proc is a child process: a NATS node, the simboard, a bridge or an
// instrument service, each `rpbus <subcommand>`.
type proc struct {
	name string
	args []string
	env  []string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	killed  bool     // ended by the suite, not on its own
	crashes []string // how it ended on its own
	stderr  *tail
}

// tail keeps the last lines a process wrote, for a crash report.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, strings.Split(strings.TrimRight(string(p), "\n"), "\n")...)
	if len(t.lines) > 20 {
		t.lines = t.lines[len(t.lines)-20:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// start runs the process; ready, when not empty, is a line prefix on
// stdout to wait for (30 s at most).
func (p *proc) start(exe, ready string) error {
	cmd := exec.Command(exe, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	if p.stderr == nil {
		p.stderr = &tail{}
	}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.killed = cmd, done, false
	p.mu.Unlock()
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		found := false
		for sc.Scan() {
			if !found && ready != "" && strings.Contains(sc.Text(), ready) {
				found = true
				close(seen)
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		if !p.killed {
			p.crashes = append(p.crashes, fmt.Sprintf("%s exited on its own (%v): %s", p.name, err, p.stderr))
		}
		p.mu.Unlock()
		close(done)
	}()
	if ready == "" {
		return nil
	}
	select {
	case <-seen:
		return nil
	case <-done:
		return fmt.Errorf("%s exited before it was ready: %s", p.name, p.stderr)
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s not ready in 30 s: %s", p.name, p.stderr)
	}
}

// kill ends the process at once, as kill -9 does, and waits for it.
func (p *proc) kill() {
	p.signal(syscall.SIGKILL)
}

// stop ends it as a SIGTERM does (requests in flight answered).
func (p *proc) stop() {
	p.signal(syscall.SIGTERM)
}

func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.killed = true
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// crashed lists how the process ended on its own since the last call.
func (p *proc) crashed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.crashes
	p.crashes = nil
	return c
}

// freePort is a loopback port nobody listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// deployment is NATS (one server or a three-node cluster) with the
// simboard, its bridge and the three instrument services, every process
// of its own, on loopback, with the users and permissions of deploy/ and
// passwords `rpbus secrets` made.
type deployment struct {
	exe       string
	dir       string
	passwords map[string]string
	nodes     []*proc
	urls      []string // client URL of each node
	simboard  *proc
	bridge    *proc
	services  map[string]*proc // curves, scope, na, specan
}

// all is every process.
func (d *deployment) all() []*proc {
	ps := append([]*proc{d.simboard, d.bridge}, d.nodes...)
	for _, name := range []string{"curves", "scope", "na", "specan"} {
		ps = append(ps, d.services[name])
	}
	return ps
}

// url lists the nodes' client URLs, from node first.
func (d *deployment) url(first int) string {
	var u []string
	for i := range d.urls {
		u = append(u, d.urls[(first+i)%len(d.urls)])
	}
	return strings.Join(u, ",")
}

// start starts a deployment with nodes NATS nodes (1 or 3); the
// services connect to node 0 first, and fall back to the others. On an
// error, what it started is stopped.
func start(ctx context.Context, exe, dir string, nodes int) (*deployment, error) {
	d := &deployment{exe: exe, dir: dir, services: map[string]*proc{}}
	if err := d.start(ctx, nodes); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

func (d *deployment) start(ctx context.Context, nodes int) error {
	exe, dir := d.exe, d.dir
	sec := filepath.Join(dir, "secrets")
	if out, err := exec.CommandContext(ctx, exe, "secrets", sec).CombinedOutput(); err != nil {
		return fmt.Errorf("rpbus secrets: %v: %s", err, out)
	}
	pw, err := os.ReadFile(filepath.Join(sec, "users.txt"))
	if err != nil {
		return err
	}
	d.passwords = map[string]string{}
	for _, l := range strings.Split(string(pw), "\n") {
		if u, p, ok := strings.Cut(l, " "); ok && !strings.HasPrefix(l, "#") {
			d.passwords[u] = p
		}
	}
	if err := d.startNATS(sec, nodes); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	board := fmt.Sprintf("127.0.0.1:%d", port)
	d.simboard = &proc{name: "simboard", args: []string{"simboard", "--listen", board}}
	if err := d.simboard.start(exe, ""); err != nil {
		return err
	}
	if err := waitDial(board); err != nil {
		return err
	}
	d.bridge = d.service("hwbridge", "hwbridge", "--backend", "monitor", "--board-addr", board, "--board", Board)
	if err := d.bridge.start(exe, "hwbridge:"); err != nil {
		return err
	}
	curves := []string{"curves"}
	if nodes > 1 {
		curves = append(curves, "--replicas", fmt.Sprint(nodes)) // losing a node loses no curve
	}
	d.services["curves"] = d.service("curves", curves...)
	if err := d.services["curves"].start(exe, "curves: serving"); err != nil {
		return err
	}
	for _, name := range []string{"scope", "na", "specan"} {
		d.services[name] = d.service("instruments", name)
		if err := d.services[name].start(exe, name+": serving"); err != nil {
			return err
		}
	}
	return d.ready(ctx)
}

// Board is the board the suite's deployments serve.
const Board = "sim"

// service is `rpbus <args>` as user, on every node.
func (d *deployment) service(user string, args ...string) *proc {
	return &proc{name: args[0], args: append(args, "--nats", d.url(0), "--user", user),
		env: []string{"RPBUS_PASSWORD=" + d.passwords[user]}}
}

// startNATS starts the single server of deploy/nats/nats.conf, or the
// three nodes of deploy/cluster, each on fixed free ports (so a restart
// finds them again) with its own store.
func (d *deployment) startNATS(sec string, nodes int) error {
	accounts, err := os.ReadFile(filepath.Join(sec, "accounts.conf"))
	if err != nil {
		return err
	}
	var clientPorts, routePorts []int
	for range nodes {
		c, err := freePort()
		if err != nil {
			return err
		}
		r, err := freePort()
		if err != nil {
			return err
		}
		clientPorts, routePorts = append(clientPorts, c), append(routePorts, r)
	}
	for i := range nodes {
		dir := filepath.Join(d.dir, fmt.Sprintf("n%d", i+1))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		files := map[string]string{"accounts.conf": string(accounts)}
		conf := "nats.conf"
		args := []string{"server", "--config", filepath.Join(dir, conf), "--listen", fmt.Sprintf("127.0.0.1:%d", clientPorts[i]),
			"--http", "127.0.0.1:0", "--websocket", "127.0.0.1:0", "--store", filepath.Join(dir, "js")}
		if nodes == 1 {
			files[conf] = deploy.NATSConf
		} else {
			secrets, err := os.ReadFile(filepath.Join(sec, "cluster-secrets.conf"))
			if err != nil {
				return err
			}
			files["cluster-secrets.conf"] = string(secrets)
			files["cluster-common.conf"] = deploy.ClusterCommon
			files[conf] = fmt.Sprintf("server_name: n%d\ninclude cluster-common.conf\n", i+1)
			password, _, _ := strings.Cut(strings.SplitN(string(secrets), "nats-route://route:", 2)[1], "@")
			var routes []string
			for _, p := range routePorts {
				routes = append(routes, fmt.Sprintf("nats-route://route:%s@127.0.0.1:%d", password, p))
			}
			args = append(args, "--cluster-listen", fmt.Sprintf("127.0.0.1:%d", routePorts[i]),
				"--leaf-listen", "127.0.0.1:0", "--routes", strings.Join(routes, ","))
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
				return err
			}
		}
		n := &proc{name: fmt.Sprintf("nats n%d", i+1), args: args}
		d.nodes = append(d.nodes, n)
		d.urls = append(d.urls, fmt.Sprintf("nats://127.0.0.1:%d", clientPorts[i]))
	}
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i, n := range d.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = n.start(d.exe, " clients ") }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func waitDial(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// connect logs in as user with its inbox prefix, to the nodes from first.
func (d *deployment) connect(user string, first int) (*nats.Conn, error) {
	var nc *nats.Conn
	var err error
	for try := 0; try < 10; try++ {
		nc, err = nats.Connect(d.url(first), nats.UserInfo(user, d.passwords[user]), nats.CustomInboxPrefix("_INBOX_"+user),
			nats.Name("chaos-"+user), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond), nats.Timeout(10*time.Second),
			nats.DontRandomize(), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
		if err == nil || !strings.Contains(err.Error(), "PONG") {
			break
		}
		// A login's bcrypt outlasted the server's first PING on a loaded
		// machine: try again once the server is done with it.
		time.Sleep(time.Duration(try+1) * 500 * time.Millisecond)
	}
	return nc, err
}

// ready waits until every service answers through NATS: hw.info reports
// the board reachable and each instrument answers $SRV.PING.
func (d *deployment) ready(ctx context.Context) error {
	nc, err := d.connect("operator", 0)
	if err != nil {
		return err
	}
	defer nc.Close()
	return waitReady(ctx, nc, 30*time.Second)
}

func waitReady(ctx context.Context, nc *nats.Conn, within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, subject := range []string{"rp." + Board + ".hw.info", "$SRV.PING.scope", "$SRV.PING.na", "$SRV.PING.specan"} {
		for {
			m, err := nc.Request(subject, nil, time.Second)
			if err == nil && m.Header.Get("Nats-Service-Error-Code") == "" && m.Header.Get("Status") == "" {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s does not answer: %v", subject, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// close stops every process it started.
func (d *deployment) close() {
	for _, p := range d.all() {
		if p != nil {
			p.stop()
		}
	}
}

// crashes collects every process's unexpected ends.
func (d *deployment) crashes() []string {
	var c []string
	for _, p := range d.all() {
		if p != nil {
			c = append(c, p.crashed()...)
		}
	}
	return c
}
