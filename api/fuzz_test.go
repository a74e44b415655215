package api

import (
	"errors"
	"reflect"
	"testing"

	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// requestTypes are the bodies services decode, with a valid example each.
var requestTypes = []struct {
	name    string
	new     func() any
	example any
}{
	{"scope", func() any { return new(ScopeSettings) }, ScopeSettings{ID: "a", Duration: 1e-3, Decimation: 8, TriggerSource: "ch1_positive_edge", Threshold: 0.1, Average: ptr(true), TraceAverage: 2}},
	{"na", func() any { return new(NASettings) }, NASettings{StartFreq: 1e3, StopFreq: 1e6, Points: 11, RBW: 1e3, Logscale: ptr(false), QFactorMin: 10}},
	{"specan", func() any { return new(SpecanSettings) }, SpecanSettings{Decimation: 8, Window: "flattop", TraceAverage: 2, Unit: "Vpk^2", Cross: true}},
	{"asg", func() any { return new(ASGSetup) }, ASGSetup{Waveform: ptr("sin"), Frequency: ptr(1e6), Offset: ptr(-0.5), CyclesPerBurst: ptr(int64(3))}},
	{"txn", func() any { return new(Txn) }, Txn{ID: "t", Ops: []Op{Read(0x40100000, 2), Write(0x40100000, 1, 2), WaitAfter(0x40100000, 1, 0, 0.1, 1)}}},
	{"txn cancel", func() any { return new(TxnCancel) }, TxnCancel{ID: "t"}},
	{"cancel", func() any { return new(Cancel) }, Cancel{ID: "scope-1"}},
	{"curve query", func() any { return new(CurveQuery) }, CurveQuery{Board: "sim", Instrument: "na", NamePrefix: "run", Tag: "x", User: "alice", Since: 1, Until: 2, Keep: ptr(true), Limit: 10, Cursor: "1.5_abc"}},
	{"curve id", func() any { return new(CurveID) }, CurveID{ID: "abc"}},
	{"curve update", func() any { return new(CurveUpdate) }, CurveUpdate{ID: "abc", Name: ptr("n"), Tags: &[]string{"t"}, Note: ptr("note"), Keep: ptr(false)}},
	{"curve room", func() any { return new(CurveRoom) }, CurveRoom{Bytes: 65536, MetaBytes: 512}},
	{"empty", func() any { return new(struct{}) }, struct{}{}},
}

// replyTypes are what clients decode; their arrays may hold NaN, so only
// "no panic, a 400 or a value" is checked.
var replyTypes = []func() any{
	func() any { return new(TxnReply) }, func() any { return new(ScopeTrace) }, func() any { return new(NATrace) },
	func() any { return new(Spectrum) }, func() any { return new(HWInfo) }, func() any { return new(StopReply) },
	func() any { return new(CurveData) }, func() any { return new(CurveList) }, func() any { return new(Curve) },
}

func ptr[T any](v T) *T { return &v }

// fuzzDecode is the property every request decoder keeps, whatever the
// bytes: no panic; either a 400 (an *rperr.Error of code invalid), or a
// value that encodes and decodes back to itself.
func fuzzDecode(t *testing.T, c wire.Codec, data []byte) {
	for _, rt := range requestTypes {
		v := rt.new()
		err := c.Unmarshal(data, v)
		if err != nil {
			var re *rperr.Error
			if !errors.As(err, &re) || re.Code != rperr.EInvalid || re.Message == "" {
				t.Fatalf("%s: %q: %v, want a 400 with a message", rt.name, data, err)
			}
			continue
		}
		b, err := c.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %q decoded into %+v, which does not encode: %v", rt.name, data, v, err)
		}
		again := rt.new()
		if err := c.Unmarshal(b, again); err != nil || !reflect.DeepEqual(v, again) {
			t.Fatalf("%s: %q: %+v encodes as %q, which decodes to %+v (%v)", rt.name, data, v, b, again, err)
		}
	}
	for _, newReply := range replyTypes {
		v := newReply()
		if err := c.Unmarshal(data, v); err != nil && rperr.ErrorCode(err) != rperr.EInvalid {
			t.Fatalf("%T: %q: %v, want a 400", v, data, err)
		}
	}
}

func seeds(f *testing.F, c wire.Codec) {
	for _, rt := range requestTypes {
		b, err := c.Marshal(rt.example)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	seeds(f, wire.JSON)
	for _, s := range []string{`{"ID":"x"}`, `{"decimation":64.0}`, `{"ops":[{"op":"read","addr":" 0x40100000","n":1}]}`,
		`{"q_factor_min":1e308}`, `{"offset":18446744073709551615}`, `{"ops":[{"op":"read","addr":"0x40100000","n":1,"words":[1]}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, wire.JSON, data) })
}

func FuzzDecodeMsgpack(f *testing.F) {
	seeds(f, wire.Msgpack)
	f.Add([]byte{0x81, 0xa6, 'o', 'f', 'f', 's', 'e', 't', 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x81, 0xaa, 'd', 'e', 'c', 'i', 'm', 'a', 't', 'i', 'o', 'n', 0xcb, 0x40, 0x50, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x81, 0xa3, 'o', 'p', 's', 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, wire.Msgpack, data) })
}
