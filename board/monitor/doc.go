// Package monitor speaks PyRPL's monitor_server protocol, both sides: Client
// is an board.FPGA reached over TCP (a board running PyRPL's monitor_server, or
// this package's Server), and Server serves any board.FPGA over the protocol.
//
// # Protocol
//
// A TCP stream (port 2222) of requests, each answered before the next is
// read: monitor_server.c is one loop that receives a header, acts, sends
// the answer and only then receives the next header. Requests a client
// sends ahead wait in the socket and are answered strictly in the order
// sent, so a client may pipeline them. A request starts with an 8-byte
// header:
//
//	byte 0     command: 'r' read, 'w' write, 'c' close
//	byte 1     reserved, sent as 0 (the server ignores it and echoes it)
//	bytes 2-3  n, the number of 32-bit words, uint16 little endian
//	bytes 4-7  absolute byte address of the first word, uint32 little endian
//
// Read: the server sends the header back verbatim (the echo), then n words
// (n*4 bytes, little endian), in one write.
// Write: the client sends the header and n words; the server writes them to
// the FPGA and then sends the echo.
// n = 0: the request is ignored, nothing is sent back, whatever the command
// except 'c'.
// Any other command ends the connection: client and server are out of sync.
// The protocol has no error frame, so a failure of the FPGA also ends the
// connection without an answer.
//
// The client compares each echo with its request; a mismatch, missing bytes,
// or bytes after an answer mean the stream is out of sync, and the
// connection is dropped. Both sides set TCP_NODELAY: the requests are tiny,
// and Nagle's algorithm with delayed ACKs would add about 15 ms to each.
//
// # Client
//
// Dial connects at once and reports an unreachable board. Afterwards every
// error is an *rperr.Error: rperr.EInvalid for a range past the 32-bit address
// space, rperr.EUnavailable for everything on the wire (refused or lost
// connection, WithTimeout passed, echo mismatch, client closed). After a
// failure the connection is dropped and the next call redials; when a
// redial fails, calls fail at once without dialling until a backoff passes
// (WithBackoff, doubling per failed dial). A read that fails on a reused
// connection before any answer byte (typically: the server restarted while
// the client was idle) is repeated once on a new connection; a write is
// never repeated, since the board may have applied it.
//
// Requests never run past the 128 KiB Window holding their start address:
// the original server maps only that window per request (MAP_SIZE), and a
// longer request reads or writes unmapped memory on the board. So long
// transfers go in requests of at most 32768 words, below PyRPL's own limits
// MaxReadWords (65535) and MaxWriteWords (65533); the scope's aligned 16384
// word buffers need one request each. The timeout applies to each request.
//
// Batch (board.Batcher) pipelines a run of reads and writes: it sends
// every request back to back and then takes the answers in order, so the
// run costs about one round trip plus its transfer instead of one round
// trip per request; the bridge hands it the ops of a transaction between
// two waits. Writes to consecutive addresses are merged into one request
// inside one Window. Each echo is checked as for a single request; a
// failure names the access whose answer did not come and drops the
// connection, so nothing is left of the stream for the next call. When a
// run's requests are larger than a socket buffer is sure to hold, a second
// goroutine writes them while the answers are read, so that client and
// server never both wait on full buffers. That goroutine also sends timed
// accesses (board.Access.After): each one, and the untimed ones after it,
// leaves when its time has passed since the request before it went out
// and since that request took effect on the board; the answers of the
// earlier ones come back meanwhile, and an answer's deadline counts from
// when its request went out. A timed access is never merged into the
// write before it. When the request before took effect, the board's own
// clock says (WithBoardClock, PyRPLClock: rpbus's monitor backend uses
// it): the client reads the counter right behind that request and maps
// board time to host time by the quickest of its recent readings
// (boardClock), so a write held up on its way is waited for exactly and a
// slow answer costs nothing. Without a clock, the answer bounds it: at the
// latest when the answer began to arrive less the shortest round trip
// seen, which charges every late answer in full. A timed access shorter
// than a round trip goes by the newest reading in instead of waiting for
// its predecessor's answer.
//
// WaitFor (board.Waiter) waits for a register condition. With a predicted
// end (board.Cond.Earliest) it sleeps until about then and sends a burst
// of reads board.MinPollStep apart without waiting for their answers, so
// the end is seen within a step of when it happens plus the way back,
// instead of a whole round trip late when one read arrives just before
// it; the answers still in flight when one matches are taken by the
// connection's next exchange. Without a prediction, or after a burst that
// found nothing, it polls (board.Poll).
//
// A Client is safe for concurrent use: each connection carries one run at
// a time, and WithPoolSize allows several connections (default 1).
// Buffers are kept per connection, so a call allocates nothing once its
// largest size was seen.
//
// # Server
//
// Server keeps the original's answers byte for byte, with these differences
// from monitor_server.c:
//   - it serves any number of clients at once (WithMaxConns, default 64;
//     connections beyond are closed at once); the original serves a single
//     client, exits when it leaves, and a second client breaks the first
//     (PyRPL issue 362);
//   - a client leaving, an unknown command or an FPGA error ends that
//     connection only, never the server;
//   - 'c' closes the connection even with n = 0 (the original ignores n = 0
//     first and ends only when PyRPL's client then closes the socket: the
//     same outcome for PyRPL);
//   - each request is one call to board.FPGA.Read or Write with n <= 65535
//     words, and any address is passed on: the FPGA decides what is valid
//     (the original maps only the aligned 128 KiB Window holding it);
//   - Shutdown ends connections between requests and lets requests in
//     progress finish; Close ends them at once. Neither closes the FPGA.
//
// # A real board
//
// PyRPL installs monitor_server in /opt/pyrpl on the board and starts it
// over ssh as "./monitor_server 2222", after loading its own FPGA bitstream
// (PyRPL's register map). With that running, point the hardware
// bridge at it:
//
//	rpbus hwbridge --backend monitor --board-addr HOST:2222
//
// which calls Dial(ctx, "HOST:2222"). The original server takes one client
// and exits when it leaves or on any error, so keep the pool size at 1, do
// not run PyRPL against the same board at the same time, and restart the
// server on the board after a lost connection: the Client redials, but
// nothing on the board restarts the server for it. Running this package's
// Server on the board over a /dev/mem board.FPGA removes those limits.
package monitor
