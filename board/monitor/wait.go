package monitor

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rpbus/rpbus/board"
	"github.com/rpbus/rpbus/internal/precise"
	"github.com/rpbus/rpbus/rperr"
)

var _ board.Waiter = (*Client)(nil)

// burstPolls is how many reads a predicted wait sends at its predicted
// end, board.MinPollStep apart (plus the wake-up latency of a sleep, 20
// to 30 us here): they cover the first 60 to 150 us after it, where a
// condition predicted from the time a request was sent (not when the
// board acted on it) comes true.
const burstPolls = 4

// WaitFor waits for c (board.Waiter). Without a prediction (c.Earliest 0)
// it is board.Poll. With one it sleeps until then and sends burstPolls
// reads of the word board.MinPollStep apart without waiting for their
// answers: the end is seen within a step of when it happens plus one way
// back, where a read at a time that arrives just before it would cost a
// whole round trip more. Answers of reads still in flight when one
// matches are taken and checked by the connection's next exchange, so
// whatever follows the wait goes out at once. When none matches, it goes
// on with board.Poll, which backs off as the wait outlasts its prediction.
func (c *Client) WaitFor(ctx context.Context, cond board.Cond) (bool, error) {
	if cond.Earliest <= 0 {
		return board.Poll(ctx, c, cond)
	}
	start := time.Now()
	deadline := start.Add(cond.Timeout)
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := precise.NearContext(ctx, start.Add(min(cond.Earliest, cond.Timeout))); err != nil {
		return false, err
	}
	if ok, err := c.burst(cond); ok || err != nil {
		return ok, err
	}
	left := time.Until(deadline)
	if left <= 0 {
		return false, nil
	}
	return board.Poll(ctx, c, board.Cond{Addr: cond.Addr, Mask: cond.Mask, Value: cond.Value, Timeout: left})
}

// burst sends burstPolls reads of cond's word, one every
// board.MinPollStep from a second goroutine, and takes their answers
// until one matches.
func (c *Client) burst(cond board.Cond) (bool, error) {
	if err := checkRange("read", cond.Addr, 1); err != nil {
		return false, err
	}
	cc, err := c.acquire()
	if err != nil {
		return false, err
	}
	defer c.release(cc)
	if cc.c == nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.dialTimeout)
		err := c.connect(ctx, cc)
		cancel()
		if err != nil {
			return false, err
		}
	}
	ok, err := cc.burst(cond, c.opts.timeout)
	if err != nil {
		c.drop(cc)
		if c.isClosed() {
			return false, c.errClosed()
		}
		return false, c.wireError(err)
	}
	cc.used = true
	return ok, nil
}

func (cc *clientConn) burst(cond board.Cond, timeout time.Duration) (bool, error) {
	conn := cc.c
	if err := cc.settle(conn, timeout); err != nil {
		return false, err
	}
	Header{Cmd: CmdRead, N: 1, Addr: cond.Addr}.Put(cc.pollHdr[:])
	hdr := cc.pollHdr
	// The sender writes a poll only while the burst is on, under mu, so
	// that when the burst ends the reads on the wire are known at once
	// without waiting for the sender's sleep to end.
	var (
		mu      sync.Mutex
		on      = true
		inWire  int
		werr    error
		arrived = make(chan struct{}, burstPolls) // one per poll written
	)
	go func() {
		defer close(arrived)
		for i := range burstPolls {
			if i > 0 {
				_ = precise.Sleep(context.Background(), board.MinPollStep)
			}
			mu.Lock()
			if !on {
				mu.Unlock()
				return
			}
			if timeout > 0 {
				_ = conn.SetWriteDeadline(time.Now().Add(timeout))
			}
			_, err := conn.Write(hdr[:])
			if err != nil {
				werr = err
				mu.Unlock()
				conn.Close() // ends the answers' wait
				return
			}
			inWire++
			mu.Unlock()
			arrived <- struct{}{}
		}
	}()
	var ans [HeaderSize + 4]byte
	met := false
	var err error
	for range arrived {
		if timeout > 0 {
			if err = conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
				break
			}
		}
		if _, err = io.ReadFull(cc.br, ans[:]); err != nil {
			break
		}
		mu.Lock()
		inWire--
		mu.Unlock()
		if !bytes.Equal(ans[:HeaderSize], hdr[:]) {
			err = rperr.Errorf(rperr.EUnavailable, "echo mismatch: sent % x, got % x (server out of sync)", hdr[:], ans[:HeaderSize])
			break
		}
		if v := binary.LittleEndian.Uint32(ans[HeaderSize:]); v&cond.Mask == cond.Value {
			met = true
			break
		}
	}
	mu.Lock()
	on = false
	cc.skip = inWire
	if err == nil {
		err = werr
	}
	mu.Unlock()
	if err != nil {
		conn.Close() // the caller drops the connection
	}
	return met, err
}

// settle takes the answers of a burst's reads that were still in flight
// when it ended: they arrive before any later answer.
func (cc *clientConn) settle(conn net.Conn, timeout time.Duration) error {
	var ans [HeaderSize + 4]byte
	for ; cc.skip > 0; cc.skip-- {
		if timeout > 0 {
			if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
				return err
			}
		}
		if _, err := io.ReadFull(cc.br, ans[:]); err != nil {
			return err
		}
		if !bytes.Equal(ans[:HeaderSize], cc.pollHdr[:]) {
			return rperr.Errorf(rperr.EUnavailable, "echo mismatch: sent % x, got % x (server out of sync)", cc.pollHdr[:], ans[:HeaderSize])
		}
	}
	return nil
}
