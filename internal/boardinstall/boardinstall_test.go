package boardinstall

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Target
		err  string
	}{
		{in: "root@192.168.1.100", want: Target{"root", "192.168.1.100", 22}},
		{in: "root@rp-f0a235.local:2222", want: Target{"root", "rp-f0a235.local", 2222}},
		{in: "root@[fe80::1]:22", want: Target{"root", "fe80::1", 22}},
		{in: "root@fe80::1", want: Target{"root", "fe80::1", 22}},
		{in: "rp.local", err: "want USER@HOST"},
		{in: "root@", err: "want USER@HOST"},
		{in: "root@host:0", err: "not 1..65535"},
		{in: "root@host:ssh", err: "not 1..65535"},
	} {
		got, err := ParseTarget(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTarget(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestNATSHosts(t *testing.T) {
	got, err := natsHosts("nats://a:4222, tls://u:p@b, wss://c, 10.0.0.1:5222")
	if err != nil || strings.Join(got, " ") != "a:4222 b:4222 c:443 10.0.0.1:5222" {
		t.Fatalf("natsHosts = %v, %v", got, err)
	}
	if _, err := natsHosts("http://a:4222"); err == nil || !strings.Contains(err.Error(), `scheme "http"`) {
		t.Fatalf("http: %v", err)
	}
	if r := redact("nats://u:secret@a:4222,nats://b"); strings.Contains(r, "secret") {
		t.Fatalf("redact left the password: %s", r)
	}
	if s := stripUser("nats://u:secret@a:4222,nats://b:4222"); s != "nats://a:4222,nats://b:4222" {
		t.Fatalf("stripUser = %s", s)
	}
}

func TestPaths(t *testing.T) {
	for _, p := range []string{"/opt/rpbus", "/home/pi/rpbus-2", "/tmp/x/opt/rpbus"} {
		if err := checkPrefix(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range []string{"/", "/opt", "/usr", "opt/rpbus", "/opt/rp bus", "/opt/$HOME", "/opt/rpbus/", "/opt/../etc", "/opt/a'b"} {
		if err := checkPrefix(p); err == nil {
			t.Errorf("%q accepted as a prefix", p)
		}
	}
}

func TestSystemdUnit(t *testing.T) {
	l := layout{"/opt/rpbus"}
	rec := Record{Board: "lab1", Prefix: l.prefix, Command: bridgeCommand(l, "lab1", l.fpga("red_pitaya.bin"), "")}
	unit := systemd{}.unit(rec)
	for _, want := range []string{
		"ExecStart=/opt/rpbus/bin/rpbus hwbridge --board lab1 --backend devmem --bitstream /opt/rpbus/fpga/red_pitaya.bin\n",
		"EnvironmentFile=/opt/rpbus/etc/hwbridge.env\n",
		"Restart=on-failure\n",
		"WantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
}

// TestSupervisorScript checks the plain manager's script with sh -n and
// its usage line.
func TestSupervisorScript(t *testing.T) {
	l := layout{"/opt/rpbus"}
	rec := Record{Board: "lab1", Prefix: l.prefix, Command: bridgeCommand(l, "lab1", l.fpga("red_pitaya.bin"), "/tmp/m")}
	f := plain{}.prefixFiles(rec)
	if len(f) != 1 || f[0].rel != "bin/rpbus-hwbridge" || f[0].mode != 0o755 {
		t.Fatalf("files %+v", f)
	}
	script := filepath.Join(t.TempDir(), "rpbus-hwbridge")
	if err := os.WriteFile(script, f[0].data, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sh", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v\n%s", err, out)
	}
	out, err := exec.Command(script, "frobnicate").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "usage:") {
		t.Fatalf("usage: %v %s", err, out)
	}
	if !strings.Contains(string(f[0].data), `'/opt/rpbus/bin/rpbus' 'hwbridge' '--board' 'lab1'`) {
		t.Fatalf("command not quoted word by word:\n%s", f[0].data)
	}
}

// TestBinaryForTheBoard: without --binary, an armv7l board gets rpbus
// built for linux/arm GOARM=7 from this checkout; a binary for another
// machine is refused.
func TestBinaryForTheBoard(t *testing.T) {
	p, err := PlatformFor("armv7l")
	if err != nil || p.String() != "linux/arm GOARM=7" {
		t.Fatalf("PlatformFor(armv7l) = %v, %v", p, err)
	}
	a, err := Binary(t.Context(), "", p, ".", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.Source, "built for linux/arm GOARM=7 from ") || a.Size < 1<<20 {
		t.Fatalf("built %+v", a)
	}
	if err := checkELF(a.Local, p); err != nil {
		t.Fatal(err)
	}
	amd64, _ := PlatformFor("x86_64")
	if _, err := Binary(t.Context(), a.Local, amd64, ".", t.TempDir()); err == nil || !strings.Contains(err.Error(), "is built for EM_ARM, the board needs linux/amd64") {
		t.Fatalf("ARM binary for an x86_64 board: %v", err)
	}
	if _, err := PlatformFor("mips"); err == nil {
		t.Fatal("mips accepted")
	}
}
