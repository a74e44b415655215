package curves

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// labels are the fields of a save request's "curve" that the saver
// chooses; the rest of the metadata comes from the trace.
type labels struct {
	ID         string   `json:"id,omitempty"`
	Instrument string   `json:"instrument,omitempty"`
	Name       string   `json:"name,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	Note       string   `json:"note,omitempty"`
	Keep       bool     `json:"keep,omitempty"`
}

// saveJSON is a save request in JSON: the trace as numbers.
type saveJSON struct {
	Curve  labels          `json:"curve"`
	Scope  *api.ScopeTrace `json:"scope,omitempty"`
	NA     *api.NATrace    `json:"na,omitempty"`
	Specan *api.Spectrum   `json:"specan,omitempty"`
}

// parsed is a save request taken apart: the curve's metadata and the
// trace's msgpack bytes as they will be stored.
type parsed struct {
	curve api.Curve
	raw   []byte
}

// parseSave reads a save request. In msgpack the trace's bytes are kept
// as they came (a slice of data), and decoded once to check them and to
// read the metadata; in JSON the trace is decoded and encoded in msgpack.
func parseSave(codec wire.Codec, data []byte) (*parsed, error) {
	var l labels
	var instrument string
	var raw []byte
	if codec == wire.Msgpack {
		var err error
		if l, instrument, raw, err = splitSave(data); err != nil {
			return nil, err
		}
	} else {
		var req saveJSON
		if err := wire.JSON.Unmarshal(data, &req); err != nil {
			return nil, err
		}
		l = req.Curve
		var tr any
		for _, t := range []struct {
			name string
			v    any
			set  bool
		}{{api.InstrumentScope, req.Scope, req.Scope != nil}, {api.InstrumentNA, req.NA, req.NA != nil}, {api.InstrumentSpecan, req.Specan, req.Specan != nil}} {
			if !t.set {
				continue
			}
			if instrument != "" {
				return nil, rperr.Invalidf("%s, %s: give one trace, under its instrument's key", instrument, t.name)
			}
			instrument, tr = t.name, t.v
		}
		if instrument == "" {
			return nil, rperr.Invalidf("scope, na, specan: no trace; give one under its instrument's key")
		}
		var err error
		if raw, err = wire.Msgpack.Marshal(tr); err != nil {
			return nil, rperr.Errorf(rperr.EInternal, "encoding the trace: %v", err)
		}
	}
	if l.Instrument != "" && l.Instrument != instrument {
		return nil, rperr.Invalidf("curve.instrument: %q, but the trace is under %q", l.Instrument, instrument)
	}
	if err := checkText("curve.name", l.Name, MaxNameBytes); err != nil {
		return nil, err
	}
	if err := checkTags("curve.tags", l.Tags); err != nil {
		return nil, err
	}
	if err := checkText("note", l.Note, MaxNoteBytes); err != nil {
		return nil, err
	}
	c := api.Curve{ID: l.ID, Instrument: instrument, Name: l.Name, Tags: l.Tags, Note: l.Note, Keep: l.Keep, Bytes: len(raw)}
	traceCurve, err := describe(instrument, raw, &c)
	if err != nil {
		return nil, err
	}
	switch {
	case c.ID == "":
		c.ID = traceCurve
	case traceCurve != "" && traceCurve != c.ID:
		return nil, rperr.Invalidf("curve.id: %q, but the trace's curve is %q", c.ID, traceCurve)
	}
	if c.ID == "" {
		c.ID = NewID()
	} else if err := CheckID("curve.id", c.ID); err != nil {
		return nil, err
	}
	if c.Arrays, err = arrays(raw); err != nil {
		return nil, rperr.Invalidf("%s: %v", instrument, err)
	}
	return &parsed{curve: c, raw: raw}, nil
}

// splitSave walks a msgpack save request: the labels, and the one trace's
// bytes, sliced from data.
func splitSave(data []byte) (l labels, instrument string, raw []byte, err error) {
	r := bytes.NewReader(data) // an io.ByteScanner: the decoder reads it directly, so r.Len() is its position
	dec := msgpack.NewDecoder(r)
	dec.SetCustomStructTag("json")
	dec.DisallowUnknownFields(true)
	n, err := dec.DecodeMapLen()
	if err != nil {
		return l, "", nil, rperr.Invalidf("malformed msgpack request: want a map of curve and the trace: %v", err)
	}
	for i := 0; i < n; i++ {
		key, err := dec.DecodeString()
		if err != nil {
			return l, "", nil, rperr.Invalidf("malformed msgpack request: %v", err)
		}
		switch key {
		case "curve":
			if err := dec.Decode(&l); err != nil {
				return l, "", nil, rperr.Invalidf("curve: %v", err)
			}
		case api.InstrumentScope, api.InstrumentNA, api.InstrumentSpecan:
			if instrument != "" {
				return l, "", nil, rperr.Invalidf("%s, %s: give one trace, under its instrument's key", instrument, key)
			}
			start := len(data) - r.Len()
			if err := dec.Skip(); err != nil {
				return l, "", nil, rperr.Invalidf("%s: malformed msgpack: %v", key, err)
			}
			instrument, raw = key, data[start:len(data)-r.Len()]
		default:
			return l, "", nil, rperr.Invalidf("%q: unknown field; a save request holds curve and one of scope, na, specan", key)
		}
	}
	if r.Len() != 0 {
		return l, "", nil, rperr.Invalidf("malformed msgpack request: %d bytes after the map", r.Len())
	}
	if instrument == "" {
		return l, "", nil, rperr.Invalidf("scope, na, specan: no trace; give one under its instrument's key")
	}
	return l, instrument, raw, nil
}

// describe decodes raw as instrument's trace, which checks it, fills the
// metadata the trace carries into c, and returns the trace's curve id.
func describe(instrument string, raw []byte, c *api.Curve) (curve string, err error) {
	tr, err := decodeTrace(instrument, raw)
	if err != nil {
		return "", err
	}
	switch t := tr.(type) {
	case *api.ScopeTrace:
		c.Board, c.Acquisition, c.Seq, c.Settings, c.Timing, curve = t.Board, t.ID, t.Seq, t.Settings, t.Timing, t.Curve
	case *api.NATrace:
		c.Board, c.Acquisition, c.Settings, c.Timing, curve = t.Board, t.ID, t.Settings, t.Timing, t.Curve
	case *api.Spectrum:
		c.Board, c.Acquisition, c.Settings, c.Timing, curve = t.Board, t.ID, t.Settings, t.Timing, t.Curve
	}
	return curve, nil
}

// decodeTrace decodes a stored trace into its instrument's type.
func decodeTrace(instrument string, raw []byte) (any, error) {
	var v any
	switch instrument {
	case api.InstrumentScope:
		v = new(api.ScopeTrace)
	case api.InstrumentNA:
		v = new(api.NATrace)
	case api.InstrumentSpecan:
		v = new(api.Spectrum)
	default:
		return nil, rperr.Invalidf("instrument: %q is not one of scope, na, specan", instrument)
	}
	if err := wire.Msgpack.Unmarshal(raw, v); err != nil {
		return nil, rperr.Invalidf("%s: %s", instrument, rperr.ErrorMessage(err))
	}
	return v, nil
}

// arrays lists the array maps at the top level of a msgpack trace: the
// fields whose value is a map with a dtype, read without copying data.
func arrays(raw []byte) ([]api.CurveArray, error) {
	dec := msgpack.NewDecoder(bytes.NewReader(raw))
	n, err := dec.DecodeMapLen()
	if err != nil {
		return nil, err
	}
	var out []api.CurveArray
	for i := 0; i < n; i++ {
		key, err := dec.DecodeString()
		if err != nil {
			return nil, err
		}
		code, err := dec.PeekCode()
		if err != nil {
			return nil, err
		}
		if !isMapCode(code) || key == "settings" {
			if err := dec.Skip(); err != nil {
				return nil, err
			}
			continue
		}
		a := api.CurveArray{Name: key}
		m, err := dec.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		for j := 0; j < m; j++ {
			k, err := dec.DecodeString()
			if err != nil {
				return nil, err
			}
			switch k {
			case "dtype":
				a.Dtype, err = dec.DecodeString()
			case "shape":
				err = dec.Decode(&a.Shape)
			default:
				err = dec.Skip()
			}
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", key, k, err)
			}
		}
		if a.Dtype != "" {
			out = append(out, a)
		}
	}
	return out, nil
}

func isMapCode(c byte) bool { return c >= 0x80 && c <= 0x8f || c == 0xde || c == 0xdf }
