package chaos

import (
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/rpbus/rpbus/wire"
)

// mixed is one kind of request of the load, and the codes it may get.
type mixed struct {
	verb string
	body func(i int) map[string]any
	want string // the one expected code
}

var mix = []mixed{
	{"hw.info", func(int) map[string]any { return map[string]any{} }, "200"},
	{"asg0.setup", func(i int) map[string]any { return map[string]any{"frequency": 1000 + float64(i)} }, "200"},
	{"scope.single", func(int) map[string]any { return map[string]any{"decimation": 1} }, "200"},
	{"na.single", func(int) map[string]any {
		return map[string]any{"start_freq": 1e5, "stop_freq": 2e5, "points": 5, "rbw": 1e4}
	}, "200"},
	{"specan.single", func(int) map[string]any { return map[string]any{"decimation": 8} }, "200"},
	{"scope.cancel", func(i int) map[string]any { return map[string]any{"id": fmt.Sprintf("none-%d", i)} }, "404"},
	{"scope.single", func(int) map[string]any { return map[string]any{"decimation": 3} }, "400"},
}

var txnMix = mixed{"hw.txn", func(int) map[string]any {
	return map[string]any{"ops": []any{map[string]any{"op": "read", "addr": 0x40100000, "n": 4}}}
}, "200"}

// load runs conns connections at once, each sending requests one after
// another, mixed (instruments' connections add raw transactions), half
// in JSON, half in msgpack; every request must get exactly one reply,
// the one its kind expects.
func (s *Suite) load(d *deployment, conns, requests int) *Row {
	row := newRow(fmt.Sprintf("load %dx%d", conns, requests))
	t := &tally{row: row}
	var wg sync.WaitGroup
	var mu sync.Mutex
	unexpected := 0
	start := time.Now()
	for c := range conns {
		user := "operator"
		if c%5 == 4 {
			user = "instruments"
		}
		nc, err := d.connect(user, 0)
		if err != nil {
			row.problem("connect %s: %v", user, err)
			continue
		}
		defer nc.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range requests {
				m := mix[(c+i)%len(mix)]
				if user == "instruments" && i%2 == 0 {
					m = txnMix
				}
				codec := wire.Codec((c + i) % 2)
				data, err := codec.Marshal(m.body(i))
				if err != nil {
					continue
				}
				r := t.ask(nc, "rp."+Board+"."+m.verb, data, codec.Header(), time.Minute)
				if r.msg != nil && r.code != m.want {
					mu.Lock()
					unexpected++
					row.problem("%s: %s %s, want %s", m.verb, r.code, r.msg.Header.Get(micro.ErrorHeader), m.want)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	t.close(time.Second)
	row.Note = fmt.Sprintf("in %.1f s; %d replies not the expected code", time.Since(start).Seconds(), unexpected)
	s.checkCrashes(d, row)
	s.progress(row)
	return row
}
