package monitor_test

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/rpbus/rpbus/board/monitor"
)

// regs is a tiny board.FPGA: a few registers in a map.
type regs struct {
	mu sync.Mutex
	m  map[uint32]uint32
}

func (r *regs) Read(addr uint32, dst []uint32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range dst {
		dst[i] = r.m[addr+4*uint32(i)]
	}
	return nil
}

func (r *regs) Write(addr uint32, src []uint32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, v := range src {
		r.m[addr+4*uint32(i)] = v
	}
	return nil
}

func (r *regs) Close() error { return nil }

// Serve a register map over the protocol and use it through a Client.
func Example() {
	srv, err := monitor.NewServer(&regs{m: map[uint32]uint32{}})
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	c, err := monitor.Dial(context.Background(), ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()

	if err := c.Write(0x40100014, []uint32{8, 9}); err != nil {
		panic(err)
	}
	got := make([]uint32, 2)
	if err := c.Read(0x40100014, got); err != nil {
		panic(err)
	}
	fmt.Println(got)
	// Output: [8 9]
}
