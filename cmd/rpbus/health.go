package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/rpbus/rpbus/client"
)

func init() {
	register("health", "exit 0 if a service, or a board through its bridge, answers over NATS (container healthchecks: the image has no shell)", func(stdout, stderr io.Writer) command {
		return &healthCmd{stdout: stdout}
	})
}

// healthCmd asks NATS whether a service is up. With --subject it sends one
// request and wants a reply that is not an error; with --service it asks
// micro's $SRV.INFO.<service> and wants an instance whose metadata match
// every --metadata pair (say board=lab1, so one board's bridge is checked
// and not another's); with --board it asks the board's bridge for
// hw.info and wants the board itself to answer (a bridge whose board is
// unplugged is not healthy). With --tcp it only dials (simboard speaks no
// NATS).
type healthCmd struct {
	stdout   io.Writer
	nats     natsFlags
	subject  string
	service  string
	board    string
	tcp      string
	metadata map[string]string
	timeout  time.Duration
}

func (c *healthCmd) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("rpbus health", flag.ContinueOnError)
	c.nats.register(fs)
	c.metadata = map[string]string{}
	fs.StringVar(&c.subject, "subject", "", "request this subject (e.g. rp.sim.hw.info) and want a reply that is not an error")
	fs.StringVar(&c.service, "service", "", "micro service name (hwbridge, scope, na, specan): want an instance to answer $SRV.INFO")
	fs.StringVar(&c.board, "board", "", "board name: want its bridge to answer rp.<board>.hw.info and the board to answer the bridge")
	fs.StringVar(&c.tcp, "tcp", "", "HOST:PORT: want a TCP listener there (simboard)")
	fs.Func("metadata", "with --service: KEY=VALUE the instance's metadata must hold (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", s)
		}
		c.metadata[k] = v
		return nil
	})
	fs.DurationVar(&c.timeout, "timeout", 3*time.Second, "give up after this long (connecting included)")
	if err := parseWithEnv(fs, args, natsAliases); err != nil {
		return err
	}
	n := 0
	for _, s := range []string{c.subject, c.service, c.board, c.tcp} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return usageError{"rpbus health needs exactly one of --subject, --service, --board or --tcp"}
	}
	return nil
}

func (c *healthCmd) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.tcp != "" {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.tcp)
		if err != nil {
			return fmt.Errorf("health: %w", err)
		}
		fmt.Fprintf(c.stdout, "ok: %s accepts connections\n", c.tcp)
		return conn.Close()
	}
	// No reconnect loop here: a healthcheck must answer within its timeout.
	nc, err := client.Dial(c.nats.url, c.nats.creds.c, append(c.nats.options(), nats.Name("rpbus-health"), nats.NoReconnect())...)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer nc.Close()
	switch {
	case c.subject != "":
		return c.request(ctx, nc)
	case c.board != "":
		return c.boardReachable(ctx, nc)
	}
	return c.info(ctx, nc)
}

// boardReachable asks the board's bridge for hw.info, which reads a
// register of the board, and wants that read to have come back.
func (c *healthCmd) boardReachable(ctx context.Context, nc *nats.Conn) error {
	cl, err := client.New(nc, client.WithJSON())
	if err != nil {
		return err
	}
	info, err := cl.Board(c.board).Info(ctx)
	if err != nil {
		return fmt.Errorf("health: board %s: %w", c.board, err)
	}
	if !info.Reachable {
		return fmt.Errorf("health: board %s: its bridge answers, the board does not: %s", c.board, info.BoardError)
	}
	fmt.Fprintf(c.stdout, "ok: board %s answers (%s backend, a register read in %.3g ms; bridge %s)\n", c.board, info.Backend, info.ReadTime*1e3, info.Instance)
	return nil
}

func (c *healthCmd) request(ctx context.Context, nc *nats.Conn) error {
	msg, err := nc.RequestWithContext(ctx, c.subject, nil)
	if err != nil {
		return fmt.Errorf("health: %s: %w", c.subject, err)
	}
	if code := msg.Header.Get(micro.ErrorCodeHeader); code != "" {
		return fmt.Errorf("health: %s answered %s %s", c.subject, code, msg.Header.Get(micro.ErrorHeader))
	}
	fmt.Fprintf(c.stdout, "ok: %s answered\n", c.subject)
	return nil
}

// info collects $SRV.INFO replies until one matches or ctx ends: several
// instances (one bridge per board) answer the same subject.
func (c *healthCmd) info(ctx context.Context, nc *nats.Conn) error {
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	subject := "$SRV.INFO." + c.service
	if err := nc.PublishRequest(subject, inbox, nil); err != nil {
		return err
	}
	seen := 0
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("health: no %s instance with metadata %v answered %s in %v (%d others did)", c.service, c.metadata, subject, c.timeout, seen)
			}
			return err
		}
		var info micro.Info
		if json.Unmarshal(msg.Data, &info) != nil {
			continue
		}
		if matches(info.Metadata, c.metadata) {
			fmt.Fprintf(c.stdout, "ok: %s %s (%s) answered\n", info.Name, info.ID, info.Version)
			return nil
		}
		seen++
	}
}

func matches(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func (c *healthCmd) Close() error { return nil }
