package api

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rpbus/rpbus/wire"
)

// Ops and results survive a msgpack round trip field by field, and a map
// as other clients write it (keys in another order, words as the bin map)
// decodes the same.
func TestOpCodecRoundTrip(t *testing.T) {
	long := make([]uint32, 20)
	for i := range long {
		long[i] = uint32(i) * 0x01010101
	}
	txn := Txn{ID: "t-1", Ops: []Op{
		Read(0x40100000, 3),
		Read16(0x40110000, 16384),
		Write(0x40100004, 7),
		Write(0x40100008, long...),
		Wait(0x40100000, 3, 0, 0.25),
		WaitAfter(0x40100000, 3, 0, 131e-6, 0.25),
		Delayed(1.2e-3, Read(0x40100140, 4)),
		Delayed(5e-6, Write(0x40100108, 1)),
		{Op: "read", Addr: 0xFFFFFFFC, N: 1},
	}}
	b, err := wire.Msgpack.Marshal(txn)
	if err != nil {
		t.Fatal(err)
	}
	var got Txn
	if err := wire.Msgpack.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, txn) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, txn)
	}
	generic := map[string]any{"ops": []map[string]any{{
		"words": wire.U32{9, 10}, "addr": 0x40100004, "op": "write",
	}}, "id": "g"}
	b, _ = wire.Msgpack.Marshal(generic)
	if err := wire.Msgpack.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(got, Txn{ID: "g", Ops: []Op{Write(0x40100004, 9, 10)}}) {
		t.Errorf("generic map: %+v, %v", got, err)
	}
	for _, txn := range []Txn{{}, {Ops: []Op{}}, {ID: "x"}} {
		b, _ = wire.Msgpack.Marshal(txn)
		if err := wire.Msgpack.Unmarshal(b, &got); err != nil || !reflect.DeepEqual(got, txn) {
			t.Errorf("%+v round trip: %+v, %v", txn, got, err)
		}
	}
	reply := TxnReply{Results: []OpResult{{Words: wire.U32{1, 2}}, {Halves: wire.U16{3}, Parts: 7}, {Waited: 0.5}, {}}, Modules: []string{"scope"}, Started: 1, Elapsed: 2}
	b, _ = wire.Msgpack.Marshal(reply)
	var r TxnReply
	if err := wire.Msgpack.Unmarshal(b, &r); err != nil || !reflect.DeepEqual(r, reply) {
		t.Errorf("reply round trip: %+v, %v", r, err)
	}
}

// Bad ops are errors that name the key.
// A part's header value names its op and first word, and nothing else
// parses.
func TestPartValue(t *testing.T) {
	if op, first, err := ParsePart(PartValue(13, 28672)); op != 13 || first != 28672 || err != nil {
		t.Errorf("ParsePart(PartValue(13, 28672)) = %d, %d, %v", op, first, err)
	}
	for _, bad := range []string{"", "13", "13,", ",5", "a,5", "1,-4", "-1,0", "1,2,3"} {
		if _, _, err := ParsePart(bad); err == nil || !strings.Contains(err.Error(), PartHeader) {
			t.Errorf("ParsePart(%q): %v, want an error naming %s", bad, err, PartHeader)
		}
	}
}

func TestOpCodecErrors(t *testing.T) {
	for _, c := range []struct {
		op   map[string]any
		want string
	}{
		{map[string]any{"op": "read", "adr": 1}, `unknown field "adr"`},
		{map[string]any{"op": "read", "addr": int64(1) << 33}, "ops[0].addr: 8589934592 is outside 0..4294967295"},
		{map[string]any{"op": "read", "addr": -4}, "ops[0].addr: -4 is outside"},
		{map[string]any{"op": 3}, "ops[0].op: want a string, got an integer"},
	} {
		b, _ := wire.Msgpack.Marshal(map[string]any{"ops": []any{c.op}})
		var got Txn
		err := wire.Msgpack.Unmarshal(b, &got)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error containing %q", c.op, err, c.want)
		}
	}
	b, _ := wire.Msgpack.Marshal(map[string]any{"ops": []any{}, "opz": 1})
	var got Txn
	if err := wire.Msgpack.Unmarshal(b, &got); err == nil || !strings.Contains(err.Error(), `unknown field "opz"`) {
		t.Errorf("unknown transaction key: %v", err)
	}
}

// A part's body is the words little-endian, on either kind of host: the
// host's own order taken as it is, or converted.
func TestPartBody(t *testing.T) {
	host := littleEndianHost
	defer func() { littleEndianHost = host }()
	halves := []uint16{0x0102, 0x3FFF, 0x2000}
	words := []uint32{0x01020304, 0xFFFF0000}
	for _, le := range []bool{true, false} {
		littleEndianHost = le
		if le != host && le {
			continue // the host's memory is in its own order: not testable as the other
		}
		if got := PartBody(halves, nil); string(got) != "\x02\x01\xff\x3f\x00\x20" {
			t.Errorf("little-endian host %v: halves as % x", le, got)
		}
		if got := PartBody(words, nil); string(got) != "\x04\x03\x02\x01\x00\x00\xff\xff" {
			t.Errorf("little-endian host %v: words as % x", le, got)
		}
		h := make([]uint16, 4)
		if n := PartWords(h, PartBody(halves, nil)); n != 3 || !reflect.DeepEqual(h[:3], halves) {
			t.Errorf("little-endian host %v: %d halves back, %x", le, n, h)
		}
		w := make([]uint32, 1)
		if n := PartWords(w, PartBody(words, nil)); n != 1 || w[0] != words[0] {
			t.Errorf("little-endian host %v: %d words back into one, %x", le, n, w)
		}
	}
}

// A streamed read's cuts: parts of at most StreamPart words, the reply
// keeping the last StreamTail; a read of one part is not cut.
func TestStreamCuts(t *testing.T) {
	for _, c := range []struct {
		n    int
		cuts []int
	}{
		{1, nil}, {StreamPart, nil},
		{StreamPart + 1, []int{StreamPart + 1 - StreamTail}},
		{10000, []int{8192, 8976}},
		{32768, []int{8192, 16384, 24576, 31744}},
		{65535, []int{8192, 16384, 24576, 32768, 40960, 49152, 57344, 64511}},
	} {
		if got := StreamCuts(c.n); !reflect.DeepEqual(got, c.cuts) {
			t.Errorf("StreamCuts(%d) = %v, want %v", c.n, got, c.cuts)
		}
	}
}
