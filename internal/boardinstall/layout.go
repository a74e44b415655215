package boardinstall

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// DefaultPrefix is where an install lives on the board.
const DefaultPrefix = "/opt/rpbus"

// UnitName is the systemd unit of the bridge.
const UnitName = "rpbus-hwbridge.service"

// unitDir is where systemd units written by an administrator go.
const unitDir = "/etc/systemd/system"

// safePath is what a board path may hold: it goes unquoted into a systemd
// unit and into shell scripts.
var safePath = regexp.MustCompile(`^/[A-Za-z0-9._+/-]*$`)

// checkPath refuses a path that is not absolute and plain.
func checkPath(flag, p string) error {
	if !safePath.MatchString(p) || path.Clean(p) != p || strings.Contains(p, "/../") {
		return fmt.Errorf("%s %q: want an absolute path of letters, digits and . _ + - /", flag, p)
	}
	return nil
}

// checkPrefix also refuses prefixes an uninstall must never empty.
func checkPrefix(p string) error {
	if err := checkPath("--prefix", p); err != nil {
		return err
	}
	if strings.Count(p, "/") < 2 {
		switch p {
		case "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var":
			return fmt.Errorf("--prefix %q is a system folder: rpbus wants a folder of its own, e.g. %s", p, DefaultPrefix)
		}
	}
	return nil
}

// layout names the files of an install under its prefix.
type layout struct{ prefix string }

func (l layout) binary() string     { return l.prefix + "/bin/rpbus" }
func (l layout) supervisor() string { return l.prefix + "/bin/rpbus-hwbridge" }
func (l layout) fpga(name string) string {
	return l.prefix + "/fpga/" + name
}
func (l layout) envFile() string { return l.prefix + "/etc/hwbridge.env" }
func (l layout) creds() string   { return l.prefix + "/etc/nats.creds" }
func (l layout) record() string  { return l.prefix + "/install.json" }
func (l layout) logFile() string { return l.prefix + "/log/hwbridge.log" }
func (l layout) unit() string    { return unitDir + "/" + UnitName }
func (l layout) staged() string  { return l.prefix + ".new" }
func (l layout) previous() string {
	return l.prefix + ".previous"
}

// dirs are the folders an install makes under its prefix.
var dirs = []string{"bin", "fpga", "etc", "log", "run"}

// Record is PREFIX/install.json: what an install put where, read back by
// status and uninstall.
type Record struct {
	Format    int       `json:"format"`
	Board     string    `json:"board"`
	NATS      string    `json:"nats"` // without user and password
	Manager   string    `json:"manager"`
	Prefix    string    `json:"prefix"`
	Unit      string    `json:"unit,omitempty"` // systemd unit file
	Command   []string  `json:"command"`        // the bridge's command line
	Files     []string  `json:"files"`          // under Prefix
	Bitstream Artifact  `json:"bitstream"`
	Binary    Artifact  `json:"binary"`
	Version   string    `json:"rpbus_version"`
	Installed time.Time `json:"installed"`
	Host      BoardInfo `json:"host"`
}

// Artifact is a file an install copied: where it came from, its checksum.
type Artifact struct {
	Path   string `json:"path"`   // on the board
	Local  string `json:"local"`  // on the PC
	Source string `json:"source"` // where it came from, for people
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// BoardInfo is what the board said about itself.
type BoardInfo struct {
	Arch string `json:"arch"` // uname -m
	OS   string `json:"os"`   // Red Pitaya OS version, or the distribution
}

func (r Record) marshal() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return append(b, '\n')
}
