package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board/monitor"
	"github.com/rpbus/rpbus/regmap"
)

// TestSimboardWithMonitorBackend runs `rpbus simboard` and a bridge on the
// monitor backend against it, as one would against a real board, and
// takes a trace through the bridge.
func TestSimboardWithMonitorBackend(t *testing.T) {
	sb := &simboardCmd{stdout: io.Discard}
	if err := sb.ParseFlags([]string{"--listen", "127.0.0.1:0", "--seed", "3"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- sb.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-errc; sb.Close() })
	select {
	case <-sb.ready:
	case err := <-errc:
		t.Fatalf("simboard: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("simboard did not listen")
	}

	bf := boardFlags{name: "lab", backend: "monitor", boardAddr: sb.Addr()}
	cfg, err := bf.open(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.FPGA
	defer f.Close()
	if _, ok := f.(*monitor.Client); !ok {
		t.Fatalf("backend %T, want the monitor client", f)
	}
	var dec [1]uint32
	if err := f.Write(regmap.ScopeBase+regmap.ScopeDecimation, []uint32{64}); err != nil {
		t.Fatal(err)
	}
	if err := f.Read(regmap.ScopeBase+regmap.ScopeDecimation, dec[:]); err != nil || dec[0] != 64 {
		t.Fatalf("decimation read back %d, %v", dec[0], err)
	}
	buf := make([]uint32, regmap.ScopeBufferLen)
	if err := f.Read(regmap.ScopeBase+regmap.ScopeCh1Data, buf); err != nil {
		t.Fatal(err)
	}
	if _, err := (&boardFlags{backend: "monitor"}).open(ctx, io.Discard); err == nil {
		t.Error("monitor backend without --board-addr accepted")
	}
}
