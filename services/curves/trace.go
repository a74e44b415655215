package curves

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/internal/num"
	"github.com/rpbus/rpbus/rperr"
	"github.com/rpbus/rpbus/wire"
)

// labels are the fields of a save request's "curve" that the saver
// chooses; the rest of the metadata comes from the trace, and the other
// fields of an api.Curve given there (a curve read back and saved again)
// are ignored.
type labels struct {
	ID         string   `json:"id,omitempty"`
	Instrument string   `json:"instrument,omitempty"`
	Name       string   `json:"name,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	Note       string   `json:"note,omitempty"`
	Keep       bool     `json:"keep,omitempty"`
}

func labelsOf(c api.Curve) labels {
	return labels{ID: c.ID, Instrument: c.Instrument, Name: c.Name, Tags: c.Tags, Note: c.Note, Keep: c.Keep}
}

// saveJSON is a save request in JSON: the trace as numbers.
type saveJSON struct {
	Curve  api.Curve       `json:"curve"`
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
// as they came (a slice of data) and walked once, without decoding its
// arrays, to check them and to read the metadata; in JSON the trace is
// decoded and encoded in msgpack.
func parseSave(codec wire.Codec, data []byte) (*parsed, error) {
	var l labels
	c := api.Curve{}
	var raw []byte
	var traceCurve string
	if codec == wire.Msgpack {
		var err error
		if l, raw, traceCurve, err = splitSave(data, &c); err != nil {
			return nil, err
		}
	} else {
		var req saveJSON
		if err := wire.JSON.Unmarshal(data, &req); err != nil {
			return nil, err
		}
		l = labelsOf(req.Curve)
		var tr any
		for _, t := range []struct {
			name string
			v    any
			set  bool
		}{{api.InstrumentScope, req.Scope, req.Scope != nil}, {api.InstrumentNA, req.NA, req.NA != nil}, {api.InstrumentSpecan, req.Specan, req.Specan != nil}} {
			if !t.set {
				continue
			}
			if c.Instrument != "" {
				return nil, rperr.Invalidf("%s, %s: give one trace, under its instrument's key", c.Instrument, t.name)
			}
			c.Instrument, tr = t.name, t.v
		}
		if c.Instrument == "" {
			return nil, rperr.Invalidf("scope, na, specan: no trace; give one under its instrument's key")
		}
		var err error
		if raw, err = wire.Msgpack.Marshal(tr); err != nil {
			return nil, rperr.Errorf(rperr.EInternal, "encoding the trace: %v", err)
		}
		r := bytes.NewReader(raw)
		if traceCurve, err = describe(newDecoder(r), r, c.Instrument, &c); err != nil {
			return nil, err
		}
	}
	if l.Instrument != "" && l.Instrument != c.Instrument {
		return nil, rperr.Invalidf("curve.instrument: %q, but the trace is under %q", l.Instrument, c.Instrument)
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
	c.ID, c.Name, c.Tags, c.Note, c.Keep, c.Bytes = l.ID, l.Name, l.Tags, l.Note, l.Keep, len(raw)
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
	return &parsed{curve: c, raw: raw}, nil
}

// newDecoder reads msgpack from r as wire.Msgpack does. r is a
// bytes.Reader, an io.ByteScanner, which the decoder reads without a
// buffer of its own: r's position is the decoder's, and seeking r skips.
func newDecoder(r *bytes.Reader) *msgpack.Decoder {
	dec := msgpack.NewDecoder(r)
	dec.SetCustomStructTag("json")
	dec.DisallowUnknownFields(true)
	return dec
}

// splitSave walks a msgpack save request: the labels, and the one trace,
// whose bytes it slices from data and whose metadata it puts in c.
func splitSave(data []byte, c *api.Curve) (l labels, raw []byte, traceCurve string, err error) {
	r := bytes.NewReader(data)
	dec := newDecoder(r)
	n, err := dec.DecodeMapLen()
	if err != nil {
		return l, nil, "", rperr.Invalidf("malformed msgpack request: want a map of curve and the trace: %v", err)
	}
	for i := 0; i < n; i++ {
		key, err := dec.DecodeString()
		if err != nil {
			return l, nil, "", rperr.Invalidf("malformed msgpack request: %v", err)
		}
		switch key {
		case "curve":
			var given api.Curve
			if err := dec.Decode(&given); err != nil {
				return l, nil, "", rperr.Invalidf("curve: %v", err)
			}
			l = labelsOf(given)
		case api.InstrumentScope, api.InstrumentNA, api.InstrumentSpecan:
			if c.Instrument != "" {
				return l, nil, "", rperr.Invalidf("%s, %s: give one trace, under its instrument's key", c.Instrument, key)
			}
			c.Instrument = key
			start := len(data) - r.Len()
			if traceCurve, err = describe(dec, r, key, c); err != nil {
				return l, nil, "", err
			}
			raw = data[start : len(data)-r.Len()]
		default:
			return l, nil, "", rperr.Invalidf("%q: unknown field; a save request holds curve and one of scope, na, specan", key)
		}
	}
	if r.Len() != 0 {
		return l, nil, "", rperr.Invalidf("malformed msgpack request: %d bytes after the map", r.Len())
	}
	if c.Instrument == "" {
		return l, nil, "", rperr.Invalidf("scope, na, specan: no trace; give one under its instrument's key")
	}
	return l, raw, traceCurve, nil
}

// traceTypes are the instruments' trace types.
var traceTypes = map[string]reflect.Type{
	api.InstrumentScope:  reflect.TypeFor[api.ScopeTrace](),
	api.InstrumentNA:     reflect.TypeFor[api.NATrace](),
	api.InstrumentSpecan: reflect.TypeFor[api.Spectrum](),
}

// traceField is one field of a trace type: where it is, and for arrays
// the dtypes they may come in.
type traceField struct {
	index  []int
	dtypes []string
}

// traceFields maps each instrument's wire names to its trace's fields.
var traceFields = func() map[string]map[string]traceField {
	out := map[string]map[string]traceField{}
	for name, t := range traceTypes {
		fields := map[string]traceField{}
		for _, f := range reflect.VisibleFields(t) {
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == "" || tag == "-" || f.Anonymous {
				continue
			}
			tf := traceField{index: f.Index}
			switch f.Type {
			case reflect.TypeFor[wire.F32]():
				tf.dtypes = []string{"<f4", "<i2"}
			case reflect.TypeFor[wire.F64]():
				tf.dtypes = []string{"<f8"}
			}
			fields[tag] = tf
		}
		out[name] = fields
	}
	return out
}()

// describe walks the msgpack trace of instrument at dec's position: it
// decodes every field but the arrays into the trace's type, as strictly as
// Codec.Unmarshal does, checks each array's dtype, shape and length and
// skips its data, and fills c with what the trace says (board,
// acquisition, settings, times, arrays). It returns the trace's curve id.
func describe(dec *msgpack.Decoder, r *bytes.Reader, instrument string, c *api.Curve) (curve string, err error) {
	fields := traceFields[instrument]
	tr := reflect.New(traceTypes[instrument]).Elem()
	n, err := dec.DecodeMapLen()
	if err != nil {
		return "", rperr.Invalidf("%s: malformed msgpack: want a map: %v", instrument, err)
	}
	seen := map[string]bool{} // not sized by n: a hostile n is billions
	for i := 0; i < n; i++ {
		key, err := dec.DecodeString()
		if err != nil {
			return "", rperr.Invalidf("%s: malformed msgpack: %v", instrument, err)
		}
		f, ok := fields[key]
		if !ok {
			return "", rperr.Invalidf("%s.%s: unknown field", instrument, key)
		}
		if seen[key] {
			return "", rperr.Invalidf("%s.%s: given twice", instrument, key)
		}
		seen[key] = true
		if f.dtypes != nil {
			if code, err := dec.PeekCode(); err == nil && code == msgpcode.Nil { // an array left out, as omitempty would
				if err := dec.Skip(); err != nil {
					return "", rperr.Invalidf("%s.%s: %v", instrument, key, err)
				}
				continue
			}
			a, err := readArray(dec, r, key, f.dtypes)
			if err != nil {
				return "", rperr.Invalidf("%s.%s: %v", instrument, key, err)
			}
			c.Arrays = append(c.Arrays, a)
			continue
		}
		if err := wire.DecodeValue(dec, tr.FieldByIndex(f.index).Addr().Interface()); err != nil {
			return "", rperr.Invalidf("%s.%s: %v", instrument, key, err)
		}
	}
	switch t := tr.Addr().Interface().(type) {
	case *api.ScopeTrace:
		c.Board, c.Acquisition, c.Seq, c.Settings, c.Timing, curve = t.Board, t.ID, t.Seq, t.Settings, t.Timing, t.Curve
	case *api.NATrace:
		c.Board, c.Acquisition, c.Settings, c.Timing, curve = t.Board, t.ID, t.Settings, t.Timing, t.Curve
	case *api.Spectrum:
		c.Board, c.Acquisition, c.Settings, c.Timing, curve = t.Board, t.ID, t.Settings, t.Timing, t.Curve
	}
	return curve, nil
}

// dtypeSizes are the bytes per element of the dtypes traces carry.
var dtypeSizes = map[string]int{"<i2": 2, "<f4": 4, "<f8": 8}

// readArray reads one array map at dec's position: its dtype (one of
// dtypes), its one-dimensional shape, its scale (with "<i2") and the
// length of its data, which it skips by seeking r.
func readArray(dec *msgpack.Decoder, r *bytes.Reader, name string, dtypes []string) (api.CurveArray, error) {
	a := api.CurveArray{Name: name}
	n, err := dec.DecodeMapLen()
	if err != nil {
		return a, fmt.Errorf("want an array map of dtype, shape and data: %w", err)
	}
	nbytes, scaled := -1, false
	for i := 0; i < n; i++ {
		key, err := dec.DecodeString()
		if err != nil {
			return a, err
		}
		switch key {
		case "dtype":
			a.Dtype, err = dec.DecodeString()
		case "shape":
			err = dec.Decode(&a.Shape)
		case "scale":
			var v float32
			v, err = dec.DecodeFloat32()
			if err == nil && !num.Finite(float64(v)) {
				err = fmt.Errorf("scale %g is not finite", v)
			}
			scaled = true
		case "data":
			if nbytes, err = dec.DecodeBytesLen(); err == nil && (nbytes < 0 || nbytes > r.Len()) {
				err = fmt.Errorf("data of %d bytes, %d left", nbytes, r.Len())
			}
			if err == nil {
				_, err = r.Seek(int64(nbytes), io.SeekCurrent)
			}
		default:
			err = fmt.Errorf("%q: unknown key of an array map", key)
		}
		if err != nil {
			return a, err
		}
	}
	switch size := dtypeSizes[a.Dtype]; {
	case !slices.Contains(dtypes, a.Dtype):
		return a, fmt.Errorf("dtype %q, want one of %v", a.Dtype, dtypes)
	case len(a.Shape) != 1 || a.Shape[0] < 0:
		return a, fmt.Errorf("shape %v, want [n]", a.Shape)
	case nbytes < 0 && a.Shape[0] != 0, nbytes >= 0 && nbytes != a.Shape[0]*size:
		return a, fmt.Errorf("%d bytes of data for shape %v of %s", nbytes, a.Shape, a.Dtype)
	case a.Dtype == "<i2" && !scaled:
		return a, fmt.Errorf("dtype <i2 without a scale")
	}
	return a, nil
}

// decodeTrace decodes a stored trace into its instrument's type.
func decodeTrace(instrument string, raw []byte) (any, error) {
	t, ok := traceTypes[instrument]
	if !ok {
		return nil, rperr.Invalidf("instrument: %q is not one of scope, na, specan", instrument)
	}
	v := reflect.New(t).Interface()
	if err := wire.Msgpack.Unmarshal(raw, v); err != nil {
		return nil, rperr.Invalidf("%s: %s", instrument, rperr.ErrorMessage(err))
	}
	return v, nil
}
