package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/rpbus/rpbus/internal/num"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

func init() {
	register("watch", "print the events on a subject (default rp.>) as JSON lines: done, progress, traces", func(stdout, stderr io.Writer) command {
		return &watchCmd{stdout: stdout}
	})
}

// watchCmd prints every message on a subject as one JSON line, whatever
// its encoding: `nats sub` shows msgpack events as binary.
type watchCmd struct {
	stdout  io.Writer
	nats    natsFlags
	subject string
	full    bool
	count   int

	nc *nats.Conn
	// subscribed is closed once the server has the subscription.
	subscribed chan struct{}
}

func (c *watchCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus watch [SUBJECT]", flag.ContinueOnError)
	c.nats.register(fs)
	fs.BoolVar(&c.full, "arrays", false, "print arrays whole (default: their length, min, max and mean)")
	fs.IntVar(&c.count, "count", 0, "exit after this many messages (0: until Ctrl-C)")
	if err := parseWithEnv(fs, args, natsAliases); err != nil {
		return err
	}
	c.subject = "rp.>"
	c.subscribed = make(chan struct{})
	switch fs.NArg() {
	case 0:
	case 1:
		c.subject = fs.Arg(0)
	default:
		return usageError{"usage: rpbus watch [flags] [SUBJECT]"}
	}
	return nil
}

// watchLine is one printed message.
type watchLine struct {
	Time    string      `json:"time"`
	Subject string      `json:"subject"`
	Error   *watchErr   `json:"error,omitempty"`
	Data    any         `json:"data"`
	Raw     string      `json:"raw,omitempty"` // a payload that decodes as neither msgpack nor JSON
	Headers nats.Header `json:"headers,omitempty"`
}

type watchErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (c *watchCmd) Run(ctx context.Context) error {
	var err error
	if c.nc, err = c.nats.dial("rpbus-watch"); err != nil {
		return err
	}
	msgs := make(chan *nats.Msg, 1024)
	sub, err := c.nc.ChanSubscribe(c.subject, msgs)
	if err != nil {
		return rperr.Errorf(rperr.EInvalid, "subject %q: %v", c.subject, err)
	}
	defer sub.Unsubscribe()
	if err := c.nc.Flush(); err != nil {
		return err
	}
	close(c.subscribed)
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	for n := 0; c.count == 0 || n < c.count; n++ {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			if err := enc.Encode(c.line(m)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *watchCmd) line(m *nats.Msg) watchLine {
	l := watchLine{Time: time.Now().UTC().Format(time.RFC3339Nano), Subject: m.Subject}
	if err := wire.ErrorFromMsg(m); err != nil {
		code, _ := strconv.Atoi(m.Header.Get("Nats-Service-Error-Code"))
		l.Error = &watchErr{Code: code, Message: rperr.ErrorMessage(err)}
	}
	var v any
	switch {
	case len(m.Data) == 0:
	case wire.CodecOf(m.Header) == wire.Msgpack && msgpack.Unmarshal(m.Data, &v) == nil:
		l.Data = c.arrays(v)
	case json.Unmarshal(m.Data, &v) == nil:
		l.Data = v
	default:
		l.Raw = string(m.Data)
	}
	for k := range m.Header {
		if k != wire.ContentTypeHeader && k != "Nats-Service-Error" && k != "Nats-Service-Error-Code" {
			if l.Headers == nil {
				l.Headers = nats.Header{}
			}
			l.Headers[k] = m.Header[k]
		}
	}
	return l
}

// arrays replaces the wire's binary arrays ({dtype, shape, data}, and the
// scaled 16-bit codes of a scope trace) in v by numbers, or by a summary.
func (c *watchCmd) arrays(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if x, ok := decodeWireArray(t); ok {
			if c.full {
				return finiteOrNil(x)
			}
			return summarize(t["dtype"], x)
		}
		for k, e := range t {
			t[k] = c.arrays(e)
		}
	case []any:
		for i, e := range t {
			t[i] = c.arrays(e)
		}
	}
	return v
}

// decodeWireArray reads an array map of the wire (docs/protocol.md).
func decodeWireArray(m map[string]any) ([]float64, bool) {
	dtype, ok1 := m["dtype"].(string)
	data, ok2 := m["data"].([]byte)
	if !ok1 || !ok2 {
		return nil, false
	}
	scale := 1.0
	switch s := m["scale"].(type) {
	case float32:
		scale = float64(s)
	case float64:
		scale = s
	}
	le := binary.LittleEndian
	var out []float64
	switch dtype {
	case "<f4":
		for i := 0; i+4 <= len(data); i += 4 {
			out = append(out, float64(math.Float32frombits(le.Uint32(data[i:]))))
		}
	case "<f8":
		for i := 0; i+8 <= len(data); i += 8 {
			out = append(out, math.Float64frombits(le.Uint64(data[i:])))
		}
	case "<u4":
		for i := 0; i+4 <= len(data); i += 4 {
			out = append(out, float64(le.Uint32(data[i:])))
		}
	case "<u2":
		for i := 0; i+2 <= len(data); i += 2 {
			out = append(out, float64(le.Uint16(data[i:])))
		}
	case "<i2":
		for i := 0; i+2 <= len(data); i += 2 {
			out = append(out, float64(int16(le.Uint16(data[i:])))*scale)
		}
	default:
		return nil, false
	}
	return out, true
}

// finiteOrNil is x with NaN as null, as JSON has no NaN.
func finiteOrNil(x []float64) []any {
	out := make([]any, len(x))
	for i, v := range x {
		if num.Finite(v) {
			out[i] = v
		}
	}
	return out
}

func summarize(dtype any, x []float64) map[string]any {
	s := map[string]any{"dtype": dtype, "length": len(x)}
	lo, hi, sum, n := math.Inf(1), math.Inf(-1), 0.0, 0
	for _, v := range x {
		if num.Finite(v) {
			lo, hi, sum, n = math.Min(lo, v), math.Max(hi, v), sum+v, n+1
		}
	}
	if n > 0 {
		s["min"], s["max"], s["mean"] = lo, hi, sum/float64(n)
	}
	return s
}

func (c *watchCmd) Close() error {
	if c.nc != nil {
		c.nc.Close()
	}
	return nil
}
