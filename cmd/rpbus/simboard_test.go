package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rpbus/rpbus/board/monitor"
	"github.com/rpbus/rpbus/regmap"
)

// TestSimboardWithMonitorBackend runs `rpbus simboard` and a bridge on the
// monitor backend against it, as one would against a real board, and
// takes a trace through the bridge.
func TestSimboardWithMonitorBackend(t *testing.T) {
	sb := startSimboard(t)
	ctx := context.Background()
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

// `rpbus simboard` answers a pipelined stream (requests sent ahead of
// their answers) exactly as a request at a time, as PyRPL's
// monitor_server does, whether the stream arrives in one write or byte by
// byte.
func TestSimboardServesAPipelinedStream(t *testing.T) {
	sb := startSimboard(t)
	// Per request: the header, a write's words; per answer: the echo, a
	// read's words.
	type req struct {
		h     monitor.Header
		words []uint32
	}
	dec := regmap.ScopeBase + regmap.ScopeDecimation
	thr := regmap.ScopeBase + regmap.ScopeThreshold
	var reqs []req
	for i := range 8 {
		v := uint32(1) << i
		reqs = append(reqs,
			req{monitor.Header{Cmd: monitor.CmdWrite, N: 1, Addr: dec}, []uint32{v}},
			req{monitor.Header{Cmd: monitor.CmdRead, N: 0, Addr: dec}, nil}, // n = 0: no answer
			req{monitor.Header{Cmd: monitor.CmdWrite, N: 1, Addr: thr}, []uint32{uint32(100 + i)}},
			req{monitor.Header{Cmd: monitor.CmdRead, N: 1, Addr: dec}, nil},
			req{monitor.Header{Cmd: monitor.CmdRead, N: 1, Addr: thr}, nil},
			req{monitor.Header{Cmd: monitor.CmdRead, N: 1, Addr: regmap.HKBase + regmap.HKID}, nil},
		)
	}
	var stream, want []byte
	for _, r := range reqs {
		h := make([]byte, monitor.HeaderSize)
		r.h.Put(h)
		stream = append(stream, h...)
		for _, w := range r.words {
			stream = binary.LittleEndian.AppendUint32(stream, w)
		}
	}
	// The answers, one request at a time on a fresh connection.
	one := dialRaw(t, sb.Addr())
	for _, r := range reqs {
		h := make([]byte, monitor.HeaderSize)
		r.h.Put(h)
		msg := h
		for _, w := range r.words {
			msg = binary.LittleEndian.AppendUint32(msg, w)
		}
		if _, err := one.Write(msg); err != nil {
			t.Fatal(err)
		}
		if r.h.N == 0 {
			continue
		}
		n := monitor.HeaderSize
		if r.h.Cmd == monitor.CmdRead {
			n += 4 * int(r.h.N)
		}
		ans := make([]byte, n)
		if _, err := io.ReadFull(one, ans); err != nil {
			t.Fatal(err)
		}
		want = append(want, ans...)
	}
	if got := binary.LittleEndian.Uint32(want[len(want)-4:]); got != regmap.HKIDRelease1 {
		t.Fatalf("the last answer reads the design id %d, want %d", got, regmap.HKIDRelease1)
	}
	for _, mode := range []string{"one_write", "byte_by_byte"} {
		t.Run(mode, func(t *testing.T) {
			c := dialRaw(t, sb.Addr())
			go func() {
				if mode == "one_write" {
					c.Write(stream)
					return
				}
				for i := range stream {
					if _, err := c.Write(stream[i : i+1]); err != nil {
						return
					}
				}
			}()
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("pipelined answers differ from one request at a time:\n got % x\nwant % x", got, want)
			}
		})
	}
}

// startSimboard runs `rpbus simboard` on a free loopback port until the
// test ends.
func startSimboard(t *testing.T) *simboardCmd {
	t.Helper()
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
	return sb
}

// dialRaw opens a plain TCP connection, closed when the test ends.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}
