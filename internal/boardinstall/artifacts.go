package boardinstall

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// PyRPLBitstream is the design's file in PyRPL's fpga folder.
const PyRPLBitstream = "red_pitaya.bin"

// findSpec prints where Python finds the pyrpl package and its version,
// without importing it (PyRPL's import pulls in Qt and may open windows).
const findSpec = `import importlib.util, sys
s = importlib.util.find_spec("pyrpl")
if s is None or not s.submodule_search_locations:
    sys.exit(3)
print(list(s.submodule_search_locations)[0])
try:
    import importlib.metadata as m
    print(m.version("pyrpl"))
except Exception:
    print("")
`

// FindBitstream returns the bitstream to install: path when given, else
// PyRPL's fpga/red_pitaya.bin from the pyrpl package that python (or
// python3 and python on PATH) finds. The Artifact's Source says where it
// came from.
func FindBitstream(ctx context.Context, path, python string) (Artifact, error) {
	if path != "" {
		a, err := artifact(path)
		if err != nil {
			return a, fmt.Errorf("--bitstream: %w", err)
		}
		a.Source = path + " (--bitstream)"
		return a, nil
	}
	pythons := []string{"python3", "python"}
	if python != "" {
		pythons = []string{python}
	}
	var tried []string
	for _, py := range pythons {
		exe, err := exec.LookPath(py)
		if err != nil {
			tried = append(tried, py+" (not found)")
			continue
		}
		var out, errb bytes.Buffer
		cmd := exec.CommandContext(ctx, exe, "-c", findSpec)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err = cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			tried = append(tried, exe+" (no pyrpl package)")
			continue
		}
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s (%v: %s)", exe, err, strings.TrimSpace(errb.String())))
			continue
		}
		lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
		pkg := lines[0]
		version := ""
		if len(lines) > 1 && lines[1] != "" {
			version = " " + lines[1]
		}
		file := filepath.Join(pkg, "fpga", PyRPLBitstream)
		a, err := artifact(file)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s (PyRPL%s at %s, but %v)", exe, version, pkg, err))
			continue
		}
		a.Source = fmt.Sprintf("%s (PyRPL%s, found by %s)", file, version, exe)
		return a, nil
	}
	return Artifact{}, fmt.Errorf("no bitstream: --bitstream not given, and no PyRPL package with fpga/%s was found: tried %s. "+
		"Install PyRPL on this PC (pip install pyrpl) or pass --bitstream PATH to its fpga/%s (rpbus does not ship PyRPL's GPL design)",
		PyRPLBitstream, strings.Join(tried, ", "), PyRPLBitstream)
}

// artifact checks a local file and takes its size and checksum.
func artifact(path string) (Artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return Artifact{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Artifact{}, err
	}
	if !st.Mode().IsRegular() || st.Size() == 0 {
		return Artifact{}, fmt.Errorf("%s is not a file with data", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return Artifact{}, err
	}
	return Artifact{Local: path, Source: path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: st.Size()}, nil
}

// Platform is a Go target: GOOS=linux and these.
type Platform struct {
	GOARCH, GOARM string
	machine       elf.Machine
}

func (p Platform) String() string {
	if p.GOARM != "" {
		return "linux/" + p.GOARCH + " GOARM=" + p.GOARM
	}
	return "linux/" + p.GOARCH
}

// PlatformFor maps `uname -m` to the Go target that runs there.
func PlatformFor(unameM string) (Platform, error) {
	switch m := strings.TrimSpace(unameM); {
	case m == "armv7l" || m == "armv7":
		return Platform{"arm", "7", elf.EM_ARM}, nil
	case m == "armv6l":
		return Platform{"arm", "6", elf.EM_ARM}, nil
	case m == "aarch64" || m == "arm64":
		return Platform{"arm64", "", elf.EM_AARCH64}, nil
	case m == "x86_64" || m == "amd64":
		return Platform{"amd64", "", elf.EM_X86_64}, nil
	case m == "i386" || m == "i686":
		return Platform{"386", "", elf.EM_386}, nil
	default:
		return Platform{}, fmt.Errorf("the board's architecture %q (uname -m) is not one rpbus builds for (armv7l, aarch64, x86_64)", m)
	}
}

// Runs tells whether a binary built for the running process runs on p.
func (p Platform) runs() bool {
	return runtime.GOOS == "linux" && runtime.GOARCH == p.GOARCH
}

// checkELF refuses a binary that is not a Linux executable for p.
func checkELF(path string, p Platform) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not a Linux executable: %v", path, err)
	}
	defer f.Close()
	if f.Machine != p.machine {
		return fmt.Errorf("%s is built for %s, the board needs %s (GOOS=linux GOARCH=%s%s CGO_ENABLED=0 go build ./cmd/rpbus)",
			path, f.Machine, p, p.GOARCH, map[bool]string{true: " GOARM=" + p.GOARM}[p.GOARM != ""])
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%s is not an executable (%s)", path, f.Type)
	}
	return nil
}

// Binary chooses the rpbus binary for the board: given is --binary; else
// the running one when it runs there; else one built for p with the
// local Go toolchain from the rpbus module in dir or above, into tmpDir.
func Binary(ctx context.Context, given string, p Platform, dir, tmpDir string) (Artifact, error) {
	if given != "" {
		if err := checkELF(given, p); err != nil {
			return Artifact{}, fmt.Errorf("--binary: %w", err)
		}
		a, err := artifact(given)
		a.Source = given + " (--binary)"
		return a, err
	}
	if p.runs() {
		exe, err := os.Executable()
		if err == nil {
			if exe, err = filepath.EvalSymlinks(exe); err == nil && checkELF(exe, p) == nil {
				a, err := artifact(exe)
				a.Source = exe + " (this rpbus)"
				return a, err
			}
		}
	}
	mod, err := moduleRoot(dir)
	if err != nil {
		return Artifact{}, fmt.Errorf("this rpbus runs on %s/%s and the board needs %s: %v; "+
			"run from a checkout of rpbus (the install builds one with Go), or pass --binary PATH to a build for the board "+
			"(GOOS=linux GOARCH=%s GOARM=%s CGO_ENABLED=0 go build ./cmd/rpbus)", runtime.GOOS, runtime.GOARCH, p, err, p.GOARCH, p.GOARM)
	}
	out := filepath.Join(tmpDir, "rpbus-linux-"+p.GOARCH)
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags=-s -w", "-o", out, "./cmd/rpbus")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+p.GOARCH, "GOARM="+p.GOARM, "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return Artifact{}, fmt.Errorf("building rpbus for %s in %s: %v: %s", p, mod, err, strings.TrimSpace(string(msg)))
	}
	if err := checkELF(out, p); err != nil {
		return Artifact{}, err
	}
	a, err := artifact(out)
	a.Source = fmt.Sprintf("built for %s from %s", p, mod)
	return a, err
}

// modulePath is the rpbus module's path in go.mod.
const modulePath = "github.com/rpbus/rpbus"

// moduleRoot finds the rpbus module's folder at dir or above.
func moduleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && f[1] == modulePath {
					return d, nil
				}
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%s is not inside a checkout of %s", dir, modulePath)
		}
		d = parent
	}
}
