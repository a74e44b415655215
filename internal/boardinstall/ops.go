package boardinstall

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrNotInstalled is returned by Status and Logs where no install is.
var ErrNotInstalled = errors.New("no rpbus install")

// open logs in and reads the install record; rec is nil without one.
func open(ctx context.Context, cfg *Config) (*Remote, boardState, error) {
	cfg.defaults()
	if err := checkPrefix(cfg.Prefix); err != nil {
		return nil, boardState{}, err
	}
	r, err := Dial(ctx, cfg.Target, cfg.SSH)
	if err != nil {
		return nil, boardState{}, err
	}
	b, err := readBoard(ctx, r, layout{cfg.Prefix}, cfg.DevMem)
	if err != nil {
		r.Close()
		return nil, b, err
	}
	return r, b, nil
}

// openInstall is open for an install that must be there: its record and
// manager.
func openInstall(ctx context.Context, cfg *Config) (*Remote, boardState, Record, manager, error) {
	r, b, err := open(ctx, cfg)
	if err != nil {
		return nil, b, Record{}, nil, err
	}
	if b.record == nil {
		r.Close()
		return nil, b, Record{}, nil, fmt.Errorf("%w under %s on %s (another --prefix?)", ErrNotInstalled, cfg.Prefix, cfg.Target)
	}
	mgr, err := managerFor(b.record.Manager)
	if err != nil {
		r.Close()
		return nil, b, Record{}, nil, fmt.Errorf("%s: %w", layout{cfg.Prefix}.record(), err)
	}
	return r, b, *b.record, mgr, nil
}

// Status prints what is installed, whether the service runs, the last log
// lines and whether the bridge answers on the bus. It fails when the
// bridge is not running or does not answer.
func Status(ctx context.Context, cfg Config, w io.Writer) error {
	r, b, rec, mgr, err := openInstall(ctx, &cfg)
	if err != nil {
		return err
	}
	defer r.Close()
	fmt.Fprintf(w, "board:     %s on %s (%s, %s)\n", rec.Board, cfg.Target, orUnknown(b.os), b.arch)
	fmt.Fprintf(w, "installed: rpbus %s on %s under %s\n", rec.Version, rec.Installed.Format(time.DateTime+" MST"), rec.Prefix)
	fmt.Fprintf(w, "bitstream: %s (sha256 %s, from %s)\n", rec.Bitstream.Path, short(rec.Bitstream.SHA256), rec.Bitstream.Source)
	fmt.Fprintf(w, "command:   %s\n", strings.Join(rec.Command, " "))
	fmt.Fprintf(w, "nats:      %s\n", rec.NATS)
	desc, running, err := mgr.status(ctx, r, rec)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "service:   %s\n%s\n", rec.Manager, indent(desc))
	if tail, err := r.Run(ctx, mgr.logs(rec, 5, false)+" 2>&1"); err == nil && strings.TrimSpace(tail) != "" {
		fmt.Fprintf(w, "log:\n%s\n", indent(tail))
	}
	var problems []string
	if !running {
		problems = append(problems, "the bridge is not running")
	}
	url := cfg.CheckNATS
	if url == "" {
		url = cfg.NATS
	}
	if url == "" {
		url = rec.NATS
	}
	nc, err := nats.Connect(url, append([]nats.Option{nats.Name("rpbus-board-status"), nats.Timeout(5 * time.Second)}, cfg.NATSOptions...)...)
	if err != nil {
		fmt.Fprintf(w, "bus:       not checked: this PC cannot connect to %s (%v); --check-nats URL names another\n", redact(url), err)
	} else {
		defer nc.Close()
		t0 := time.Now()
		info, err := askInfo(ctx, nc, rec.Board, 3*time.Second)
		if err != nil {
			fmt.Fprintf(w, "bus:       rp.%s.hw.info on %s: %v\n", rec.Board, redact(url), err)
			problems = append(problems, "rp."+rec.Board+".hw.info does not answer")
		} else {
			fmt.Fprintf(w, "bus:       rp.%s.hw.info answered in %.1f ms: %s\n", rec.Board, float64(time.Since(t0).Microseconds())/1e3, describeInfo(info))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("board %s on %s: %s (rpbus board logs --ssh %s)", rec.Board, cfg.Target, strings.Join(problems, "; "), cfg.Target.User+"@"+cfg.Target.Host)
	}
	return nil
}

func short(sum string) string {
	if len(sum) > 16 {
		return sum[:16]
	}
	return sum
}

// Logs prints the bridge's last lines, and with follow keeps printing
// new ones until ctx ends.
func Logs(ctx context.Context, cfg Config, lines int, follow bool, stdout, stderr io.Writer) error {
	r, _, rec, mgr, err := openInstall(ctx, &cfg)
	if err != nil {
		return err
	}
	defer r.Close()
	if lines <= 0 {
		lines = 100
	}
	err = r.Stream(ctx, mgr.logs(rec, lines, follow), stdout, stderr)
	if follow && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Uninstall stops the bridge and removes what the install put on the
// board. With nothing installed it says so and succeeds.
func Uninstall(ctx context.Context, cfg Config) error {
	cfg.defaults()
	st := steps{op: "uninstall", total: 3, out: cfg.Progress}
	var r *Remote
	var b boardState
	err := st.do("ssh", func() (string, error) {
		var err error
		if r, b, err = open(ctx, &cfg); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s, host key %s, logged in with %s", r.Target, r.HostKey, r.Auth), nil
	})
	if err != nil {
		return err
	}
	defer r.Close()
	l := layout{cfg.Prefix}
	if b.record == nil && !b.staged && !b.prev {
		if b.unit {
			return fmt.Errorf("no rpbus install under %s, but %s exists: it belongs to an install under another --prefix", l.prefix, l.unit())
		}
		fmt.Fprintf(cfg.Progress, "nothing to uninstall: no rpbus install under %s on %s\n", l.prefix, cfg.Target)
		return nil
	}
	err = st.do("service", func() (string, error) {
		if b.record == nil {
			return "none (no install.json under " + l.prefix + ")", nil
		}
		mgr, err := managerFor(b.record.Manager)
		if err != nil {
			return "", err
		}
		if err := mgr.remove(ctx, r, *b.record); err != nil {
			return "", err
		}
		if b.record.Manager == ManagerSystemd {
			return "stopped, disabled and removed " + b.record.Unit, nil
		}
		return "stopped the bridge and its supervisor", nil
	})
	if err != nil {
		return err
	}
	return st.do("files", func() (string, error) {
		var removed []string
		for _, p := range []string{l.staged(), l.previous()} {
			if out, err := r.Run(ctx, fmt.Sprintf("if [ -f %[1]s/install.json ]; then rm -rf %[1]s && echo removed; fi", shq(p))); err != nil {
				return "", err
			} else if strings.TrimSpace(out) == "removed" {
				removed = append(removed, p)
			}
		}
		if b.record != nil {
			script := "rm -f " + shq(l.record())
			for _, d := range dirs {
				script += " && rm -rf " + shq(l.prefix+"/"+d)
			}
			script += fmt.Sprintf(" && if rmdir %[1]s 2>/dev/null; then echo removed; else ls -A %[1]s; fi", shq(l.prefix))
			out, err := r.Run(ctx, script)
			if err != nil {
				return "", err
			}
			if left := strings.TrimSpace(out); left != "removed" {
				return "", fmt.Errorf("removed rpbus's files, but kept %s: it also holds %s, which rpbus did not put there", l.prefix, strings.Join(strings.Fields(left), ", "))
			}
			removed = append(removed, l.prefix)
		}
		return "removed " + strings.Join(removed, ", "), nil
	})
}
