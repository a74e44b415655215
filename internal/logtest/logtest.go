// Package logtest gives tests a logger whose output they can read while
// the code under test may still be writing to it.
package logtest

import (
	"bytes"
	"log/slog"
	"sync"
)

// Buffer is what a Logger wrote, safe to read concurrently with writes.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Logger returns a text logger that writes into a new Buffer.
func Logger() (*slog.Logger, *Buffer) {
	var b Buffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}
