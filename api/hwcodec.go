package api

import (
	"errors"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rpbus/rpbus/wire"
)

// Txn, Op and OpResult have msgpack codecs of their own: they are the bulk
// of every hw.txn and its reply, and msgpack's reflection spends about 1.5
// us and 8 allocations per op on them (an allocation per omitempty check),
// and grows a transaction's op slice one op at a time. The wire form is
// unchanged: a map keyed by the json tags, empty fields left out, unknown
// keys rejected.

var (
	_ msgpack.CustomEncoder = Txn{}
	_ msgpack.CustomDecoder = (*Txn)(nil)
	_ msgpack.CustomEncoder = Op{}
	_ msgpack.CustomDecoder = (*Op)(nil)
	_ msgpack.CustomEncoder = OpResult{}
	_ msgpack.CustomDecoder = (*OpResult)(nil)
)

// EncodeMsgpack writes t as the map its json tags describe.
func (t Txn) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := mapWriter{enc: enc}
	w.len(1 + count(t.ID != ""))
	if t.ID != "" {
		w.str("id", t.ID)
	}
	w.key("ops")
	w.do(func() error {
		if t.Ops == nil {
			return enc.EncodeNil()
		}
		if err := enc.EncodeArrayLen(len(t.Ops)); err != nil {
			return err
		}
		for _, o := range t.Ops {
			if err := o.EncodeMsgpack(enc); err != nil {
				return err
			}
		}
		return nil
	})
	return w.err
}

// DecodeMsgpack reads a transaction map, keys in any order, its ops into
// one slice of the right length.
func (t *Txn) DecodeMsgpack(dec *msgpack.Decoder) error {
	*t = Txn{}
	return decodeMap(dec, func(key []byte) error {
		switch string(key) {
		case "id":
			var err error
			t.ID, err = wire.DecodeString(dec)
			return err
		case "ops":
			n, err := wire.DecodeArrayLen(dec)
			if err != nil || n < 0 { // -1: nil
				return err
			}
			t.Ops = make([]Op, n)
			for i := range t.Ops {
				if err := t.Ops[i].DecodeMsgpack(dec); err != nil {
					return wire.AtIndex(i, err)
				}
			}
			return nil
		}
		return errUnknown
	})
}

// EncodeMsgpack writes o as the map its json tags describe.
func (o Op) EncodeMsgpack(enc *msgpack.Encoder) error {
	n := 2 + count(o.N != 0, o.Width != 0, len(o.Words) > 0, o.Mask != 0, o.Value != 0, o.Timeout != 0, o.Earliest != 0, o.After != 0)
	w := mapWriter{enc: enc}
	w.len(n)
	w.str("op", o.Op)
	w.uint("addr", uint64(o.Addr))
	if o.N != 0 {
		w.int("n", int64(o.N))
	}
	if o.Width != 0 {
		w.int("width", int64(o.Width))
	}
	if len(o.Words) > 0 {
		w.key("words")
		w.do(func() error { return encodeWords(enc, o.Words) })
	}
	if o.Mask != 0 {
		w.uint("mask", uint64(o.Mask))
	}
	if o.Value != 0 {
		w.uint("value", uint64(o.Value))
	}
	if o.Timeout != 0 {
		w.float("timeout", o.Timeout)
	}
	if o.Earliest != 0 {
		w.float("earliest", o.Earliest)
	}
	if o.After != 0 {
		w.float("after", o.After)
	}
	return w.err
}

// DecodeMsgpack reads an op map, keys in any order.
func (o *Op) DecodeMsgpack(dec *msgpack.Decoder) error {
	*o = Op{}
	return decodeMap(dec, func(key []byte) error {
		var err error
		switch string(key) {
		case "op":
			o.Op, err = wire.DecodeString(dec)
		case "addr":
			var v uint64
			v, err = wire.DecodeUint(dec, 32)
			o.Addr = Addr(v)
		case "n":
			o.N, err = decodeInt(dec)
		case "width":
			o.Width, err = decodeInt(dec)
		case "words":
			err = o.Words.DecodeMsgpack(dec)
		case "mask":
			o.Mask, err = decodeUint32(dec)
		case "value":
			o.Value, err = decodeUint32(dec)
		case "timeout":
			o.Timeout, err = wire.DecodeFloat(dec)
		case "earliest":
			o.Earliest, err = wire.DecodeFloat(dec)
		case "after":
			o.After, err = wire.DecodeFloat(dec)
		default:
			return errUnknown
		}
		return err
	})
}

// EncodeMsgpack writes r as the map its json tags describe.
func (r OpResult) EncodeMsgpack(enc *msgpack.Encoder) error {
	w := mapWriter{enc: enc}
	w.len(count(len(r.Words) > 0, len(r.Halves) > 0, r.Waited != 0, r.Parts != 0))
	if len(r.Words) > 0 {
		w.key("words")
		w.do(func() error { return r.Words.EncodeMsgpack(enc) })
	}
	if len(r.Halves) > 0 {
		w.key("halves")
		w.do(func() error { return r.Halves.EncodeMsgpack(enc) })
	}
	if r.Waited != 0 {
		w.float("waited", r.Waited)
	}
	if r.Parts != 0 {
		w.int("parts", int64(r.Parts))
	}
	return w.err
}

// DecodeMsgpack reads a result map into r. Its arrays keep their memory
// when it is large enough (see wire's resize), so a reply decoded into a
// recycled one allocates nothing for its data.
func (r *OpResult) DecodeMsgpack(dec *msgpack.Decoder) error {
	words, halves := r.Words[:0], r.Halves[:0]
	*r = OpResult{}
	return decodeMap(dec, func(key []byte) error {
		switch string(key) {
		case "words":
			r.Words = words
			return r.Words.DecodeMsgpack(dec)
		case "halves":
			r.Halves = halves
			return r.Halves.DecodeMsgpack(dec)
		case "waited":
			var err error
			r.Waited, err = wire.DecodeFloat(dec)
			return err
		case "parts":
			var err error
			r.Parts, err = decodeInt(dec)
			return err
		}
		return errUnknown
	})
}

// encodeWords writes a write op's words: a few as a plain array of
// numbers (which every decoder of an array takes), more as the bin map.
func encodeWords(enc *msgpack.Encoder, words wire.U32) error {
	if len(words) > 8 {
		return words.EncodeMsgpack(enc)
	}
	if err := enc.EncodeArrayLen(len(words)); err != nil {
		return err
	}
	for _, v := range words {
		if err := enc.EncodeUint(uint64(v)); err != nil {
			return err
		}
	}
	return nil
}

var errUnknown = errors.New("unknown field")

// decodeMap reads a map (nil reads as empty), calling field for each key;
// errors name the key (wire.AtField), as Codec.Unmarshal's do.
func decodeMap(dec *msgpack.Decoder, field func(key []byte) error) error {
	n, err := wire.DecodeMapLen(dec)
	if err != nil {
		return err
	}
	var buf [16]byte
	// The keys seen so far, without allocating: every valid key is short
	// and a map has at most 10 of them.
	var seen [12][16]byte
	var seenLen [12]int
	k := 0
	for i := 0; i < n; i++ {
		key, err := wire.DecodeFieldName(dec, buf[:])
		if err != nil {
			return err
		}
		for j := 0; j < k; j++ {
			if string(seen[j][:seenLen[j]]) == string(key) {
				return wire.DuplicateField(string(key))
			}
		}
		if err := field(key); err == errUnknown {
			return wire.UnknownField(string(key))
		} else if err != nil {
			return wire.AtField(string(key), err)
		}
		if k < len(seen) && len(key) <= len(seen[k]) {
			seenLen[k] = copy(seen[k][:], key)
			k++
		}
	}
	return nil
}

func decodeUint32(dec *msgpack.Decoder) (uint32, error) {
	v, err := wire.DecodeUint(dec, 32)
	return uint32(v), err
}

// decodeInt reads an int of 32 bits, the size of int on the board.
func decodeInt(dec *msgpack.Decoder) (int, error) {
	v, err := wire.DecodeInt(dec, 32)
	return int(v), err
}

func count(conds ...bool) int {
	n := 0
	for _, c := range conds {
		if c {
			n++
		}
	}
	return n
}

// mapWriter writes map entries and keeps the first error.
type mapWriter struct {
	enc *msgpack.Encoder
	err error
}

func (w *mapWriter) do(f func() error) {
	if w.err == nil {
		w.err = f()
	}
}

func (w *mapWriter) len(n int)       { w.do(func() error { return w.enc.EncodeMapLen(n) }) }
func (w *mapWriter) key(k string)    { w.do(func() error { return w.enc.EncodeString(k) }) }
func (w *mapWriter) str(k, v string) { w.key(k); w.do(func() error { return w.enc.EncodeString(v) }) }
func (w *mapWriter) uint(k string, v uint64) {
	w.key(k)
	w.do(func() error { return w.enc.EncodeUint(v) })
}
func (w *mapWriter) int(k string, v int64) {
	w.key(k)
	w.do(func() error { return w.enc.EncodeInt(v) })
}
func (w *mapWriter) float(k string, v float64) {
	w.key(k)
	w.do(func() error { return w.enc.EncodeFloat64(v) })
}
