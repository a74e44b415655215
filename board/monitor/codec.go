package monitor

import (
	"encoding/binary"
	"errors"
)

// Protocol constants of PyRPL's monitor_server.
const (
	DefaultPort = 2222 // the port PyRPL starts monitor_server on
	HeaderSize  = 8    // bytes in a request header and in its echo

	// MaxWords is the largest word count a header can carry (uint16); the
	// original server clamps to it and this package's Server accepts it.
	MaxWords = 65535
	// MaxReadWords and MaxWriteWords are the chunk sizes the Client uses.
	// They are PyRPL's client limits: reads up to 65535 words, writes up
	// to 65533 words per request.
	MaxReadWords  = 65535
	MaxWriteWords = 65535 - 2

	// Window is the size in bytes of the register window the original
	// server maps per request: the aligned 128 KiB holding the start
	// address (MAP_SIZE in monitor_server.c). A request running past it
	// touches unmapped memory on the board, so the Client never sends one.
	Window = 128 << 10
)

// Commands, byte 0 of a header.
const (
	CmdRead  byte = 'r'
	CmdWrite byte = 'w'
	CmdClose byte = 'c'
)

// ErrShortHeader is returned by ParseHeader for fewer than HeaderSize bytes.
var ErrShortHeader = errors.New("monitor: header shorter than 8 bytes")

// Header is a request header: byte 0 Cmd, byte 1 reserved (zero), bytes
// 2-3 N (uint16 LE), bytes 4-7 Addr (uint32 LE).
type Header struct {
	Cmd  byte   // CmdRead, CmdWrite or CmdClose; anything else ends the connection
	N    uint16 // number of 32-bit words; 0 means "ignore this request"
	Addr uint32 // absolute byte address of the first word
}

// Put encodes h into b[:HeaderSize]. It panics if b is shorter.
func (h Header) Put(b []byte) {
	_ = b[HeaderSize-1] // one bounds check
	b[0] = h.Cmd
	b[1] = 0
	binary.LittleEndian.PutUint16(b[2:4], h.N)
	binary.LittleEndian.PutUint32(b[4:8], h.Addr)
}

// ParseHeader decodes the first HeaderSize bytes of b. Like the original
// server it ignores the reserved byte and does not judge the command.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrShortHeader
	}
	return Header{
		Cmd:  b[0],
		N:    binary.LittleEndian.Uint16(b[2:4]),
		Addr: binary.LittleEndian.Uint32(b[4:8]),
	}, nil
}

// appendWords appends src to b as little-endian words.
func appendWords(b []byte, src []uint32) []byte {
	for _, v := range src {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// putWords encodes src as little-endian words into b, which must hold
// 4*len(src) bytes.
func putWords(b []byte, src []uint32) {
	b = b[:4*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
}

// getWords decodes len(dst) little-endian words from b.
func getWords(dst []uint32, b []byte) {
	b = b[:4*len(dst)]
	for i := range dst {
		dst[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
}

// chunkWords returns how many of n words at addr the next request carries:
// at most limit, and not past the end of addr's Window.
func chunkWords(addr uint32, n, limit int) int {
	left := max(1, (Window-int(addr%Window))/4) // an unaligned start still makes progress
	return min(n, limit, left)
}

// grow returns b resliced to n bytes, reallocating only when it is too small.
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}
