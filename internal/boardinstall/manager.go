package boardinstall

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"text/template"
)

// Service managers.
const (
	ManagerAuto    = "auto"
	ManagerSystemd = "systemd"
	ManagerPlain   = "plain"
)

// manager runs the bridge on the board and restarts it when it fails.
type manager interface {
	// prefixFiles are the manager's own files under the prefix.
	prefixFiles(rec Record) []file
	// start puts what lives outside the prefix in place and starts the bridge.
	start(ctx context.Context, r *Remote, rec Record) error
	// remove stops the bridge and removes what lives outside the prefix;
	// it succeeds when there is nothing to stop.
	remove(ctx context.Context, r *Remote, rec Record) error
	// status describes the service; running tells whether it runs.
	status(ctx context.Context, r *Remote, rec Record) (desc string, running bool, err error)
	// logs is the script that prints (or follows) the bridge's log.
	logs(rec Record, lines int, follow bool) string
	// exits counts how often the bridge exited since it was started
	// (-1 when the manager cannot tell).
	exits(ctx context.Context, r *Remote, rec Record) (int, error)
}

// file is one file of an install, at a path under the prefix.
type file struct {
	rel  string
	mode uint32
	data []byte
}

func managerFor(name string) (manager, error) {
	switch name {
	case ManagerSystemd:
		return systemd{}, nil
	case ManagerPlain:
		return plain{}, nil
	}
	return nil, fmt.Errorf("--service-manager %q: want auto, systemd or plain", name)
}

// detectScript prints systemd when the board was booted by it (the test
// sd_booted(3) makes) and has systemctl, plain otherwise.
const detectScript = `if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo systemd; else echo plain; fi`

// bridgeCommand is the command line of the bridge.
func bridgeCommand(l layout, board, bitstream, memFile string) []string {
	cmd := []string{l.binary(), "hwbridge", "--board", board, "--backend", "devmem", "--bitstream", bitstream}
	if memFile != "" {
		cmd = append(cmd, "--mem-file", memFile)
	}
	return cmd
}

// systemd writes a unit with Restart=on-failure and enables it, so the
// bridge also starts at boot; its log is in the journal.
type systemd struct{}

func (systemd) prefixFiles(Record) []file { return nil }

func (systemd) unit(rec Record) string {
	return fmt.Sprintf(`# Written by rpbus board install; rpbus board uninstall removes it.
[Unit]
Description=rpbus hardware bridge of board %s
After=network-online.target
Wants=network-online.target

[Service]
EnvironmentFile=%s
ExecStart=%s
Restart=on-failure
RestartSec=2
TimeoutStopSec=15

[Install]
WantedBy=multi-user.target
`, rec.Board, layout{rec.Prefix}.envFile(), strings.Join(rec.Command, " "))
}

func (m systemd) start(ctx context.Context, r *Remote, rec Record) error {
	if err := r.Write(ctx, rec.Unit, 0o644, strings.NewReader(m.unit(rec))); err != nil {
		return err
	}
	_, err := r.Run(ctx, "systemctl daemon-reload && systemctl enable --now "+UnitName)
	return err
}

func (systemd) remove(ctx context.Context, r *Remote, rec Record) error {
	unit := rec.Unit
	if unit == "" {
		unit = layout{}.unit()
	}
	_, err := r.Run(ctx, fmt.Sprintf(`if [ -f %[1]s ]; then systemctl disable --now %[2]s >/dev/null 2>&1 || systemctl stop %[2]s; rm -f %[1]s; systemctl daemon-reload; fi; systemctl reset-failed %[2]s >/dev/null 2>&1; true`, shq(unit), UnitName))
	return err
}

func (systemd) status(ctx context.Context, r *Remote, _ Record) (string, bool, error) {
	out, err := r.Run(ctx, "systemctl status --no-pager --lines=0 "+UnitName+" 2>&1")
	var re *RemoteError
	if err != nil && !errors.As(err, &re) {
		return "", false, err
	}
	if err != nil {
		out = re.Msg
	}
	active, _ := r.Run(ctx, "systemctl is-active "+UnitName)
	return strings.TrimSpace(out), strings.TrimSpace(active) == "active", nil
}

func (systemd) logs(_ Record, lines int, follow bool) string {
	s := fmt.Sprintf("journalctl -u %s --no-pager -n %d", UnitName, lines)
	if follow {
		s += " -f"
	}
	return s
}

func (systemd) exits(ctx context.Context, r *Remote, _ Record) (int, error) {
	out, err := r.Run(ctx, "systemctl show -p NRestarts --value "+UnitName+"; systemctl is-failed "+UnitName+" || true")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(out)
	if len(f) == 2 && f[1] == "failed" {
		return 1, nil
	}
	var n int
	if len(f) == 2 {
		if _, err := fmt.Sscan(f[0], &n); err == nil {
			return n, nil
		}
	}
	return -1, nil // systemd before 235 has no NRestarts
}

// plain runs the bridge under a supervisor loop, PREFIX/bin/rpbus-hwbridge,
// started in the background; nothing starts it at boot.
type plain struct{}

//go:embed supervisor.sh.tmpl
var supervisorText string

var supervisorTmpl = template.Must(template.New("supervisor").Parse(supervisorText))

func (plain) prefixFiles(rec Record) []file {
	quoted := make([]string, len(rec.Command))
	for i, w := range rec.Command {
		quoted[i] = shq(w)
	}
	var b bytes.Buffer
	err := supervisorTmpl.Execute(&b, map[string]string{
		"Board": rec.Board, "Prefix": shq(rec.Prefix), "Command": strings.Join(quoted, " "),
	})
	if err != nil {
		panic("boardinstall: supervisor template: " + err.Error())
	}
	return []file{{rel: "bin/rpbus-hwbridge", mode: 0o755, data: b.Bytes()}}
}

func (plain) start(ctx context.Context, r *Remote, rec Record) error {
	_, err := r.Run(ctx, layout{rec.Prefix}.supervisor()+" start")
	return err
}

func (plain) remove(ctx context.Context, r *Remote, rec Record) error {
	s := layout{rec.Prefix}.supervisor()
	_, err := r.Run(ctx, fmt.Sprintf("if [ -x %[1]s ]; then %[1]s stop; fi", shq(s)))
	return err
}

func (plain) status(ctx context.Context, r *Remote, rec Record) (string, bool, error) {
	out, err := r.Run(ctx, layout{rec.Prefix}.supervisor()+" status")
	var re *RemoteError
	if errors.As(err, &re) && re.Status == 3 {
		return re.Msg, false, nil
	}
	if err != nil {
		return "", false, err
	}
	return strings.TrimSpace(out), true, nil
}

func (plain) exits(ctx context.Context, r *Remote, rec Record) (int, error) {
	out, err := r.Run(ctx, fmt.Sprintf("grep -c 'rpbus-hwbridge: the bridge exited' %s || true", shq(layout{rec.Prefix}.logFile())))
	if err != nil {
		return 0, err
	}
	var n int
	_, err = fmt.Sscan(strings.TrimSpace(out), &n)
	return n, err
}

func (plain) logs(rec Record, lines int, follow bool) string {
	s := fmt.Sprintf("tail -n %d", lines)
	if follow {
		s += " -F"
	}
	return s + " " + shq(layout{rec.Prefix}.logFile())
}
