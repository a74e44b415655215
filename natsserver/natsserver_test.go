package natsserver

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestStartWithJetStream(t *testing.T) {
	ns, err := Start(Options{Listen: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	if !ns.JetStreamEnabled() {
		t.Error("JetStream is off with a data directory")
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

func TestConfigFile(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(conf, []byte("max_payload: 2MB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ns, err := Start(Options{ConfigFile: conf, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if nc.MaxPayload() != 2<<20 {
		t.Errorf("max payload %d, want the file's 2 MiB", nc.MaxPayload())
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Listen: "nonsense"},
		{Listen: "127.0.0.1:99999"},
		{ConfigFile: "/nonexistent/nats.conf"},
	} {
		if _, err := Start(o); !errors.Is(err, ErrConfigValidation) {
			t.Errorf("%+v: %v, want ErrConfigValidation", o, err)
		}
	}
}

func TestAddressInUse(t *testing.T) {
	ns, err := Start(Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	_, err = Start(Options{Listen: ns.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "cannot listen") {
		t.Fatalf("second server on %s: %v", ns.Addr(), err)
	}
}
