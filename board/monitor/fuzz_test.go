package monitor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
)

// patternFPGA answers reads with a pure function of the address and logs
// writes, so a reference model can predict the server's every byte.
type patternFPGA struct {
	log []string
}

func pattern(addr uint32) uint32 { return addr*2654435761 ^ 0x5A5A5A5A }

func (p *patternFPGA) Read(addr uint32, dst []uint32) error {
	for i := range dst {
		dst[i] = pattern(addr + 4*uint32(i))
	}
	return nil
}

func (p *patternFPGA) Write(addr uint32, src []uint32) error {
	p.log = append(p.log, fmt.Sprintf("%#x:%x", addr, src))
	return nil
}

func (p *patternFPGA) Close() error { return nil }

// referenceServe is the protocol as read from monitor_server.c, written
// without the package's codec: the bytes a server must send for stream,
// and the FPGA writes it must make. It stops where the server must close.
func referenceServe(stream []byte) (out []byte, writes []string, readWords int) {
	for len(stream) >= 8 {
		h := stream[:8]
		stream = stream[8:]
		cmd := h[0]
		n := int(h[2]) | int(h[3])<<8
		addr := uint32(h[4]) | uint32(h[5])<<8 | uint32(h[6])<<16 | uint32(h[7])<<24
		if cmd == 'c' {
			return // this package closes on 'c' whatever n is
		}
		if n == 0 {
			continue
		}
		switch cmd {
		case 'r':
			out = append(out, h...)
			for i := range n {
				out = binary.LittleEndian.AppendUint32(out, pattern(addr+4*uint32(i)))
			}
			readWords += n
		case 'w':
			if len(stream) < 4*n {
				return
			}
			words := make([]uint32, n)
			for i := range words {
				words[i] = binary.LittleEndian.Uint32(stream[4*i:])
			}
			stream = stream[4*n:]
			writes = append(writes, fmt.Sprintf("%#x:%x", addr, words))
			out = append(out, h...)
		default:
			return
		}
	}
	return
}

// FuzzParseRequests feeds arbitrary byte streams to the server's request
// handling and checks it against referenceServe: no panic, the same answer
// bytes, the same FPGA writes.
func FuzzParseRequests(f *testing.F) {
	seq := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	f.Add(header(CmdRead, 1, base))
	f.Add(seq(header(CmdWrite, 2, base), []byte{1, 2, 3, 4, 5, 6, 7, 8}, header(CmdRead, 2, base)))
	f.Add(seq(header(CmdRead, 0, base), header(CmdWrite, 0, 4), header('x', 0, 0), header(CmdRead, 3, 0xFFFFFFF8)))
	f.Add(seq(header(CmdRead, 1, base), header(CmdClose, 0, 0), header(CmdRead, 1, base)))
	f.Add(seq(header(CmdWrite, 3, base), []byte{1, 2, 3})) // short payload
	f.Add(seq(header('?', 9, base), header(CmdRead, 1, base)))
	f.Add([]byte("r\x00\x01\x00\x00\x00"))       // short header
	f.Add(header(CmdRead, MaxWords, 0x40100000)) // largest request
	f.Fuzz(func(t *testing.T, stream []byte) {
		if len(stream) >= HeaderSize {
			h, err := ParseHeader(stream)
			if err != nil {
				t.Fatal(err)
			}
			var b [HeaderSize]byte
			h.Put(b[:])
			want := append([]byte{stream[0], 0}, stream[2:HeaderSize]...)
			if !bytes.Equal(b[:], want) {
				t.Fatalf("Put(ParseHeader(% x)) = % x", stream[:HeaderSize], b)
			}
		}
		want, wantWrites, readWords := referenceServe(stream)
		if readWords > 1<<18 {
			t.Skip("answer too large to be worth the time")
		}

		fpga := &patternFPGA{}
		sess := session{fpga: fpga}
		r := bytes.NewReader(stream)
		var out bytes.Buffer
		var hdr [HeaderSize]byte
		for {
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				break
			}
			if err := sess.handle(&hdr, r, &out); err != nil {
				break
			}
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("answer differs from the reference: %d bytes, want %d", out.Len(), len(want))
		}
		if fmt.Sprint(fpga.log) != fmt.Sprint(wantWrites) {
			t.Fatalf("FPGA writes %v, want %v", fpga.log, wantWrites)
		}
		if cap(sess.buf) > HeaderSize+4*MaxWords || cap(sess.words) > MaxWords {
			t.Fatalf("buffers grew past one maximal request: %d bytes, %d words", cap(sess.buf), cap(sess.words))
		}
	})
}
