package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of the compose specification rpbus uses.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string                       `yaml:"image"`
	Build       map[string]string            `yaml:"build"`
	Command     []string                     `yaml:"command"`
	Environment map[string]string            `yaml:"environment"`
	Ports       []string                     `yaml:"ports"`
	Expose      []string                     `yaml:"expose"`
	Volumes     []string                     `yaml:"volumes"`
	Restart     string                       `yaml:"restart"`
	DependsOn   map[string]map[string]string `yaml:"depends_on"`
	Healthcheck *struct{ Test []string }     `yaml:"healthcheck"`
	Extra       map[string]yaml.Node         `yaml:",inline"`
}

// serviceKeys are the compose service keys these files may use; anything
// else is a typo that compose would reject or, worse, ignore.
var serviceKeys = []string{"build", "image", "command", "environment", "ports", "expose", "volumes",
	"restart", "depends_on", "healthcheck", "stop_grace_period", "hostname", "deploy"}

// composeFiles are every compose file of the repository.
var composeFiles = []string{
	filepath.Join(repoRoot, "docker-compose.yml"),
	filepath.Join("cluster", "docker-compose.yml"),
}

func readCompose(tb testing.TB, path string) composeFile {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	for name, s := range f.Services {
		for k := range s.Extra {
			if !slices.Contains(serviceKeys, k) {
				tb.Errorf("%s: service %s: unexpected key %q", path, name, k)
			}
		}
	}
	return f
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])([^}]*))?\}`)

// interpolate does compose's ${VAR:-default} substitution with an empty
// environment: what `docker compose up` does on a fresh checkout. Every
// reference must have a default (or be a :+ alternative).
func interpolate(tb testing.TB, s string) string {
	tb.Helper()
	s = varRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		switch m[2] {
		case ":-", "-":
			return m[3]
		case ":+", "+":
			return ""
		}
		tb.Errorf("%s has no default: compose would substitute an empty string", ref)
		return ""
	})
	return strings.ReplaceAll(s, "$$", "$")
}

// rpbusCLI is the binary built as the Dockerfile builds it, with what it
// says about its subcommands and their flags.
type rpbusCLI struct {
	path     string
	commands []string
	flags    map[string][]string // by subcommand
}

var (
	cliOnce sync.Once
	cli     rpbusCLI
	cliErr  string
)

// buildRPBus builds cmd/rpbus with the Dockerfile's own build command
// (flags, environment, package), once per test binary.
func buildRPBus(tb testing.TB) rpbusCLI {
	tb.Helper()
	cliOnce.Do(func() {
		df := parseDockerfile(tb)
		dir, err := os.MkdirTemp("", "rpbus-deploy-test")
		if err != nil {
			cliErr = err.Error()
			return
		}
		out := filepath.Join(dir, "rpbus")
		args := slices.Clone(df.buildArgs)
		for i, a := range args {
			if a == df.buildOut {
				args[i] = out
			}
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), df.buildEnv...)
		if b, err := cmd.CombinedOutput(); err != nil {
			cliErr = "go " + strings.Join(args, " ") + ": " + err.Error() + "\n" + string(b)
			return
		}
		cli = rpbusCLI{path: out, flags: map[string][]string{}}
		help, _ := exec.Command(out, "help").CombinedOutput()
		cli.commands = subcommands(string(help))
		for _, c := range cli.commands {
			h, _ := exec.Command(out, c, "-h").CombinedOutput()
			cli.flags[c] = flagNames(string(h))
		}
	})
	if cliErr != "" {
		tb.Fatal(cliErr)
	}
	return cli
}

// subcommands reads `rpbus help`: "  name   help" lines after "commands:".
func subcommands(help string) []string {
	var names []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "commands:"):
			in = true
		case in && strings.TrimSpace(line) == "":
			in = len(names) == 0
		case in && strings.HasPrefix(line, "  "):
			names = append(names, strings.Fields(line)[0])
		}
	}
	return names
}

var flagLine = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9_-]*)`)

// flagNames reads the flag package's -h output.
func flagNames(help string) []string {
	var names []string
	for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
		names = append(names, m[1])
	}
	return names
}

// envAliases are the extra environment names cmd/rpbus reads.
var envAliases = map[string]string{"RPBUS_NATS_URL": "nats"}

// checkArgs checks that every flag in args is one of the subcommand's.
func checkArgs(t *testing.T, where string, flags, args []string) {
	t.Helper()
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !slices.Contains(flags, name) {
			t.Errorf("%s: flag %s is not one of %v", where, a, flags)
		}
	}
}

// checkEnv checks that every variable is the fallback of one of flags.
func checkEnv(t *testing.T, where string, flags []string, env map[string]string) {
	t.Helper()
	for k := range env {
		name, ok := envAliases[k]
		if !ok {
			name = strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "RPBUS_"), "_", "-"))
		}
		if !strings.HasPrefix(k, "RPBUS_") || !slices.Contains(flags, name) {
			t.Errorf("%s: environment %s is no flag's fallback (flags %v)", where, k, flags)
		}
	}
}

// dockerfile is what the tests need from the Dockerfile.
type dockerfile struct {
	goImage    string   // the build stage's base image
	buildStage string   // its name
	buildEnv   []string // VAR=value before `go build`
	buildArgs  []string // go's arguments: build ... ./cmd/rpbus
	buildOut   string   // -o
	final      string   // the final stage's base image
	copyFrom   string   // the stage the binary comes from
	copySrc    string
	copyDst    string
	entrypoint []string
	user       string
}

func parseDockerfile(tb testing.TB) dockerfile {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		tb.Fatal(err)
	}
	// Join continuation lines, drop comments.
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "#") {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\") + " ")
			continue
		}
		cur.WriteString(t)
		if s := strings.TrimSpace(cur.String()); s != "" {
			lines = append(lines, s)
		}
		cur.Reset()
	}
	var df dockerfile
	for _, l := range lines {
		op, rest, _ := strings.Cut(l, " ")
		words := shellWords(rest)
		switch strings.ToUpper(op) {
		case "FROM":
			df.final = words[0]
			if len(words) == 3 && strings.EqualFold(words[1], "AS") && strings.HasPrefix(words[0], "golang:") {
				df.goImage, df.buildStage = words[0], words[2]
			}
		case "RUN":
			for i, w := range words {
				if w == "go" && i+1 < len(words) && words[i+1] == "build" {
					for _, e := range words[:i] {
						if strings.Contains(e, "=") && !strings.HasPrefix(e, "--") {
							df.buildEnv = append(df.buildEnv, e)
						}
					}
					df.buildArgs = words[i+1:]
					if j := slices.Index(df.buildArgs, "-o"); j >= 0 && j+1 < len(df.buildArgs) {
						df.buildOut = df.buildArgs[j+1]
					}
				}
			}
		case "COPY":
			if len(words) == 3 && strings.HasPrefix(words[0], "--from=") && strings.HasSuffix(words[1], "rpbus") {
				df.copyFrom, df.copySrc, df.copyDst = strings.TrimPrefix(words[0], "--from="), words[1], words[2]
			}
		case "ENTRYPOINT":
			df.entrypoint = jsonArray(tb, rest)
		case "USER":
			df.user = rest
		}
	}
	return df
}

// shellWords splits like a shell: spaces outside quotes, quotes removed.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

func jsonArray(tb testing.TB, s string) []string {
	var v []string
	if err := yaml.Unmarshal([]byte(s), &v); err != nil { // JSON is YAML
		tb.Fatalf("Dockerfile: %q is not an exec-form array: %v", s, err)
	}
	return v
}

// TestDockerfile checks that the Dockerfile builds cmd/rpbus statically
// with a Go at least as new as go.mod wants, and runs it as non-root from
// an empty image.
func TestDockerfile(t *testing.T) {
	df := parseDockerfile(t)
	if df.buildStage == "" {
		t.Fatal("no golang:... AS <stage> build stage")
	}
	mod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	must(t, err, "go.mod")
	want := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	have := regexp.MustCompile(`^golang:(\d+\.\d+)`).FindStringSubmatch(df.goImage)
	if want == nil || have == nil || versionLess(have[1], string(want[1])) {
		t.Errorf("build image %s is older than go.mod's go %s", df.goImage, want[1])
	}
	if !slices.Contains(df.buildEnv, "CGO_ENABLED=0") {
		t.Errorf("go build without CGO_ENABLED=0 (%v): the binary would not be static", df.buildEnv)
	}
	if len(df.buildArgs) == 0 || df.buildArgs[len(df.buildArgs)-1] != "./cmd/rpbus" || df.buildOut == "" {
		t.Errorf("go %v: want go build -o OUT ... ./cmd/rpbus", df.buildArgs)
	}
	if df.copyFrom != df.buildStage || df.copySrc != df.buildOut {
		t.Errorf("final stage copies %s from %s, want %s from %s", df.copySrc, df.copyFrom, df.buildOut, df.buildStage)
	}
	if len(df.entrypoint) != 1 || df.entrypoint[0] != df.copyDst {
		t.Errorf("ENTRYPOINT %v, want [%q]", df.entrypoint, df.copyDst)
	}
	if df.final != "scratch" {
		t.Errorf("final image %s, want scratch (small; nothing but the binary)", df.final)
	}
	if df.user == "" || df.user == "root" || strings.HasPrefix(df.user, "0") {
		t.Errorf("USER %q: want a non-root user", df.user)
	}
	// The binary the services run is the one this builds.
	c := buildRPBus(t)
	for _, need := range []string{"hwbridge", "simboard", "up", "health"} {
		if !slices.Contains(c.commands, need) {
			t.Errorf("rpbus has no %s subcommand (has %v)", need, c.commands)
		}
	}
}

func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range 2 {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return false
}

// TestDockerignore checks that no file the build needs is left out of
// the build context.
func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	must(t, err, ".dockerignore")
	type rule struct {
		re     *regexp.Regexp
		negate bool
	}
	var rules []rule
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		neg := strings.HasPrefix(l, "!")
		p := strings.TrimPrefix(strings.TrimPrefix(l, "!"), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case p[i] == '*':
				re.WriteString("[^/]*")
			case p[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		}
		re.WriteString("(/.*)?$") // a directory excludes what is under it
		rules = append(rules, rule{regexp.MustCompile(re.String()), neg})
	}
	excluded := func(path string) bool {
		ex := false
		for _, r := range rules {
			if r.re.MatchString(path) {
				ex = !r.negate
			}
		}
		return ex
	}
	// What the build reads: go.mod, go.sum and the module's Go files that
	// cmd/rpbus depends on.
	list := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{end}}`, "./cmd/rpbus")
	list.Dir = repoRoot
	out, err := list.Output()
	must(t, err, "go list ./cmd/rpbus")
	abs, _ := filepath.Abs(repoRoot)
	need := []string{"go.mod", "go.sum", "Dockerfile"}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		rel, err := filepath.Rel(abs, f[0])
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // a module from the cache
		}
		for _, g := range f[1:] {
			need = append(need, filepath.ToSlash(filepath.Join(rel, g)))
		}
	}
	for _, p := range need {
		if excluded(p) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", p)
		}
	}
	if !excluded(".git/HEAD") {
		t.Error(".dockerignore should leave out .git")
	}
}

// TestComposeServices checks every rpbus container of every compose
// file: its command is a subcommand of rpbus with flags it has, its
// environment holds only RPBUS_ fallbacks of those flags, its
// healthcheck runs `rpbus health` with valid flags, and it restarts.
func TestComposeServices(t *testing.T) {
	c := buildRPBus(t)
	df := parseDockerfile(t)
	for _, path := range composeFiles {
		f := readCompose(t, path)
		for name, s := range f.Services {
			where := path + ": " + name
			if s.Restart == "" {
				t.Errorf("%s: no restart policy", where)
			}
			if s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 {
				t.Errorf("%s: no healthcheck", where)
			}
			for dep, cond := range s.DependsOn {
				d, ok := f.Services[dep]
				if !ok {
					t.Errorf("%s: depends on unknown service %s", where, dep)
				} else if cond["condition"] == "service_healthy" && d.Healthcheck == nil {
					t.Errorf("%s: waits for %s to be healthy, which has no healthcheck", where, dep)
				}
			}
			if s.Build == nil {
				continue // not the rpbus image
			}
			if filepath.Clean(filepath.Join(filepath.Dir(path), s.Build["context"], s.Build["dockerfile"])) != filepath.Clean(filepath.Join(repoRoot, "Dockerfile")) {
				t.Errorf("%s: builds %v, want the repository's Dockerfile", where, s.Build)
			}
			if len(s.Command) == 0 {
				t.Errorf("%s: no command", where)
				continue
			}
			sub := s.Command[0]
			if !slices.Contains(c.commands, sub) {
				if slices.Contains([]string{"scope", "na", "specan"}, sub) {
					t.Logf("%s: rpbus has no %s subcommand yet: not checked", where, sub)
					continue
				}
				t.Errorf("%s: rpbus has no %s subcommand (has %v)", where, sub, c.commands)
				continue
			}
			args := make([]string, len(s.Command))
			for i, a := range s.Command {
				args[i] = interpolate(t, a)
			}
			checkArgs(t, where, c.flags[sub], args[1:])
			checkEnv(t, where, c.flags[sub], s.Environment)
			// The healthcheck runs the image's binary, inheriting the
			// container's environment.
			if hc := s.Healthcheck; hc != nil && len(hc.Test) >= 3 {
				if hc.Test[0] != "CMD" || hc.Test[1] != df.copyDst || hc.Test[2] != "health" {
					t.Errorf("%s: healthcheck %v, want [CMD %s health ...] (the image has no shell)", where, hc.Test, df.copyDst)
				} else {
					checkArgs(t, where+" healthcheck", c.flags["health"], hc.Test[3:])
					for k := range s.Environment {
						if n := envAliases[k]; n == "" && slices.Contains(c.flags["health"], strings.ToLower(strings.TrimPrefix(k, "RPBUS_"))) &&
							!slices.Contains([]string{"RPBUS_USER", "RPBUS_PASSWORD", "RPBUS_CREDS"}, k) {
							t.Errorf("%s: %s would also set the healthcheck's flag", where, k)
						}
					}
				}
			}
		}
	}
}

// natsService is a compose NATS container's configuration as the
// container sees it, laid out in a temporary root.
type natsService struct {
	name    string
	svc     composeService
	root    string
	conf    string            // host path of the --config file
	volumes map[string]string // container path -> named volume
}

// natsServices materialises every nats container of a compose file: its
// bind mounts are copied to where the container would see them, so the
// configuration is read exactly as the server in the container reads it.
func natsServices(t *testing.T, path string, f composeFile) []natsService {
	t.Helper()
	var out []natsService
	for name, s := range f.Services {
		if !strings.HasPrefix(s.Image, "nats:") {
			continue
		}
		ns := natsService{name: name, svc: s, root: t.TempDir(), volumes: map[string]string{}}
		for _, v := range s.Volumes {
			parts := strings.Split(interpolate(t, v), ":")
			src, dst := parts[0], parts[1]
			if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
				if _, ok := f.Volumes[src]; !ok {
					t.Errorf("%s: %s: volume %s is not declared", path, name, src)
				}
				ns.volumes[dst] = src
				continue
			}
			copyFile(t, filepath.Join(filepath.Dir(path), src), filepath.Join(ns.root, dst))
		}
		if i := slices.Index(s.Command, "--config"); i >= 0 && i+1 < len(s.Command) {
			ns.conf = filepath.Join(ns.root, s.Command[i+1])
		} else {
			t.Errorf("%s: %s: no --config in %v", path, name, s.Command)
			continue
		}
		out = append(out, ns)
	}
	return out
}

// TestComposePortsVolumes checks the NATS containers against their
// configuration: published ports are the ones it listens on, the
// JetStream store is on a volume, the healthcheck asks the monitoring
// port, and every rpbus container's NATS URL names a NATS container's
// client port.
func TestComposePortsVolumes(t *testing.T) {
	for _, path := range composeFiles {
		f := readCompose(t, path)
		clientPorts := map[string]int{} // nats service -> client port
		for _, ns := range natsServices(t, path, f) {
			o, err := serverConfig(ns.conf)
			if err != nil {
				t.Errorf("%s: %s: %v", path, ns.name, err)
				continue
			}
			clientPorts[ns.name] = o.Port
			var published []int
			for _, p := range ns.svc.Ports {
				_, container, _ := strings.Cut(p, ":")
				n, _ := strconv.Atoi(container)
				published = append(published, n)
			}
			for _, p := range published {
				if p != o.Port && p != o.HTTPPort && p != o.LeafNode.Port && p != o.Websocket.Port {
					t.Errorf("%s: %s publishes %d, which the server does not listen on", path, ns.name, p)
				}
			}
			if len(ns.svc.Ports) > 0 && !slices.Contains(published, o.Port) {
				t.Errorf("%s: %s does not publish its client port %d", path, ns.name, o.Port)
			}
			if o.JetStream {
				onVolume := false
				for dst := range ns.volumes {
					onVolume = onVolume || strings.HasPrefix(o.StoreDir, dst+"/") || o.StoreDir == dst
				}
				if !onVolume {
					t.Errorf("%s: %s: JetStream store %s is on no volume (%v)", path, ns.name, o.StoreDir, ns.volumes)
				}
			}
			if hc := ns.svc.Healthcheck; hc != nil {
				u := hc.Test[len(hc.Test)-1]
				if !strings.Contains(u, ":"+strconv.Itoa(o.HTTPPort)+"/healthz") {
					t.Errorf("%s: %s healthcheck %v does not ask the monitoring port %d", path, ns.name, hc.Test, o.HTTPPort)
				}
			}
		}
		used := map[string]bool{}
		for name, s := range f.Services {
			for _, v := range s.Volumes {
				used[strings.Split(v, ":")[0]] = true
			}
			raw, ok := s.Environment["RPBUS_NATS_URL"]
			if s.Build == nil {
				continue
			}
			if !ok && s.Command[0] != "simboard" {
				t.Errorf("%s: %s: no RPBUS_NATS_URL", path, name)
			}
			for _, one := range strings.Split(interpolate(t, raw), ",") {
				if one == "" {
					continue
				}
				u, err := url.Parse(one)
				if err != nil {
					t.Errorf("%s: %s: %v", path, name, err)
					continue
				}
				port, _ := strconv.Atoi(u.Port())
				if want, ok := clientPorts[u.Hostname()]; !ok || want != port {
					t.Errorf("%s: %s: %s is no NATS container's client port (%v)", path, name, one, clientPorts)
				}
			}
		}
		for v := range f.Volumes {
			if !used[v] {
				t.Errorf("%s: volume %s is declared and not used", path, v)
			}
		}
	}
}

// TestComposeSimboard checks that the bridge's default board address is
// the simboard container's listener, and its healthcheck dials it.
func TestComposeSimboard(t *testing.T) {
	f := readCompose(t, filepath.Join(repoRoot, "docker-compose.yml"))
	br, sb := f.Services["hwbridge"], f.Services["simboard"]
	args := make([]string, len(br.Command))
	for i, a := range br.Command {
		args[i] = interpolate(t, a)
	}
	i := slices.Index(args, "--board-addr")
	if i < 0 {
		t.Fatalf("hwbridge %v: no --board-addr", args)
	}
	host, port, _ := net.SplitHostPort(args[i+1])
	if _, ok := f.Services[host]; !ok || host != "simboard" {
		t.Fatalf("hwbridge's default board %s is not the simboard container", args[i+1])
	}
	j := slices.Index(sb.Command, "--listen")
	if j < 0 || !strings.HasSuffix(sb.Command[j+1], ":"+port) || !slices.Contains(sb.Expose, port) {
		t.Errorf("simboard %v (expose %v) does not listen on %s", sb.Command, sb.Expose, port)
	}
	if !strings.HasSuffix(sb.Healthcheck.Test[len(sb.Healthcheck.Test)-1], ":"+port) {
		t.Errorf("simboard healthcheck %v does not dial %s", sb.Healthcheck.Test, port)
	}
}

// runHealth runs a compose healthcheck with the built binary, with the
// container's environment and the NATS URL pointed at natsURL.
func runHealth(t *testing.T, s composeService, natsURL string) (string, error) {
	t.Helper()
	c := buildRPBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := make([]string, 0, len(s.Healthcheck.Test))
	for _, a := range s.Healthcheck.Test[2:] {
		args = append(args, interpolate(t, a))
	}
	cmd := exec.CommandContext(ctx, c.path, args...)
	cmd.Env = []string{"RPBUS_NATS_URL=" + natsURL}
	for k, v := range s.Environment {
		if k != "RPBUS_NATS_URL" {
			cmd.Env = append(cmd.Env, k+"="+interpolate(t, v))
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
