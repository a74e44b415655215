package curves

import (
	"testing"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// fuzzSave is the property of rp.curves.save's decoder, whatever the
// bytes: no panic, and either a 400 with a message or a curve of a known
// instrument whose stored bytes describe it again.
func fuzzSave(t *testing.T, codec wire.Codec, data []byte) {
	p, err := parseSave(codec, data)
	if err != nil {
		if rperr.ErrorCode(err) != rperr.EInvalid || rperr.ErrorMessage(err) == "" {
			t.Fatalf("%q: %v, want a 400 with a message", data, err)
		}
		return
	}
	switch p.curve.Instrument {
	case api.InstrumentScope, api.InstrumentNA, api.InstrumentSpecan:
	default:
		t.Fatalf("%q: parsed as instrument %q", data, p.curve.Instrument)
	}
	if _, err := parseSave(wire.Msgpack, saveBody(t, p)); err != nil {
		t.Fatalf("%q: the stored trace does not parse again: %v", data, err)
	}
}

// saveBody is the msgpack save request of p's curve and stored trace.
func saveBody(t *testing.T, p *parsed) []byte {
	var tr any
	switch p.curve.Instrument {
	case api.InstrumentScope:
		tr = new(api.ScopeTrace)
	case api.InstrumentNA:
		tr = new(api.NATrace)
	default:
		tr = new(api.Spectrum)
	}
	if err := wire.Msgpack.Unmarshal(p.raw, tr); err != nil {
		t.Fatalf("the stored %s trace does not decode: %v", p.curve.Instrument, err)
	}
	b, err := wire.Msgpack.Marshal(map[string]any{"curve": map[string]any{}, p.curve.Instrument: tr})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func saveSeeds(f *testing.F, codec wire.Codec) {
	for _, body := range []map[string]any{
		{"curve": map[string]any{"name": "a", "tags": []string{"x"}}, "scope": api.ScopeTrace{Board: "sim", ID: "a", Ch1: wire.F32{0.5, 0.25}, Ch2: wire.F32{0, 1}}},
		{"curve": map[string]any{}, "na": api.NATrace{Frequencies: []float64{1e5, 2e5}, Re: []float64{1, 0.5}, Im: []float64{0, 0.1}}},
		{"curve": map[string]any{"note": "n"}, "specan": api.Spectrum{Frequencies: []float64{0, 1}}},
		{"curve": map[string]any{}, "scope": map[string]any{}, "na": map[string]any{}},
	} {
		b, err := codec.Marshal(body)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseSaveJSON(f *testing.F) {
	saveSeeds(f, wire.JSON)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSave(t, wire.JSON, data) })
}

func FuzzParseSaveMsgpack(f *testing.F) {
	saveSeeds(f, wire.Msgpack)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSave(t, wire.Msgpack, data) })
}
