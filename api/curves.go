package api

// Curve subjects: the curve store serves every board, so its subjects
// have no board token.
const (
	CurvesSave   = "rp.curves.save"   // CurveData -> Curve (a trace a client holds)
	CurvesRoom   = "rp.curves.room"   // CurveRoom -> CurveStore (an instrument's save found the store full)
	CurvesList   = "rp.curves.list"   // CurveQuery -> CurveList
	CurvesGet    = "rp.curves.get"    // CurveID -> CurveData
	CurvesUpdate = "rp.curves.update" // CurveUpdate -> Curve
	CurvesDelete = "rp.curves.delete" // CurveID -> CurveDeleted
)

// Instruments whose traces the curve store keeps: the key of the trace
// in CurveData and Curve.Instrument.
const (
	InstrumentScope  = "scope"
	InstrumentNA     = "na"
	InstrumentSpecan = "specan"
)

// Curve is a stored curve's metadata: what rp.curves.list returns and
// the "curve" part of rp.curves.get. The arrays themselves are in the
// trace of CurveData.
type Curve struct {
	ID          string `json:"id"`          // the curve id: 1..64 of A-Z a-z 0-9 _ -
	Instrument  string `json:"instrument"`  // scope, na or specan
	Board       string `json:"board"`       // the board it came from
	Acquisition string `json:"acquisition"` // the acquisition's id (the trace's "id")
	Seq         uint64 `json:"seq,omitempty"`
	// User is who saved the curve: the user its request's reply subject
	// names (_INBOX_<user>, as deploy/'s accounts enforce), empty for a
	// client without a user. The store sets it; a client cannot.
	User string   `json:"user,omitempty"`
	Name string   `json:"name,omitempty"`
	Tags []string `json:"tags,omitempty"`
	Note string   `json:"note,omitempty"`
	// Keep exempts the curve from eviction when the store is full.
	Keep bool `json:"keep,omitempty"`
	// Settings are the applied settings, as the trace carries them (the
	// instrument's settings type; a map when read back from the store).
	Settings any          `json:"settings,omitempty"`
	Arrays   []CurveArray `json:"arrays,omitempty"`
	Bytes    int          `json:"bytes,omitempty"` // the stored trace's size
	Saved    float64      `json:"saved,omitempty"` // Unix s, when the store wrote it
	Timing
}

// CurveArray describes one array of a stored trace.
type CurveArray struct {
	Name  string `json:"name"`  // the trace's field: ch1, re, frequencies, ...
	Dtype string `json:"dtype"` // <f4, <f8, <i2 (with a scale), ...
	Shape []int  `json:"shape"`
}

// CurveData is a curve with its trace, under the instrument's key: the
// reply of rp.curves.get and the request of rp.curves.save. In msgpack
// the trace holds the bytes the instrument's reply carried, arrays as
// bin with their dtypes; in JSON, numbers.
type CurveData struct {
	Curve  Curve       `json:"curve"`
	Scope  *ScopeTrace `json:"scope,omitempty"`
	NA     *NATrace    `json:"na,omitempty"`
	Specan *Spectrum   `json:"specan,omitempty"`
}

// Trace returns the one trace c holds (*ScopeTrace, *NATrace or
// *Spectrum), or nil.
func (c *CurveData) Trace() any {
	switch {
	case c.Scope != nil:
		return c.Scope
	case c.NA != nil:
		return c.NA
	case c.Specan != nil:
		return c.Specan
	}
	return nil
}

// CurveQuery is the body of rp.curves.list. Every filter is optional;
// the curves come newest first.
type CurveQuery struct {
	Board       string  `json:"board,omitempty"`
	Instrument  string  `json:"instrument,omitempty"`  // scope, na, specan
	NamePrefix  string  `json:"name_prefix,omitempty"` // names that start with it
	Tag         string  `json:"tag,omitempty"`         // curves that carry it
	User        string  `json:"user,omitempty"`        // curves this user saved
	Acquisition string  `json:"acquisition,omitempty"` // the acquisition id a curve came from
	Since       float64 `json:"since,omitempty"`       // Unix s: saved at or after
	Until       float64 `json:"until,omitempty"`       // Unix s: saved before
	Keep        *bool   `json:"keep,omitempty"`        // only kept (true) or only evictable (false) curves
	Limit       int     `json:"limit,omitempty"`       // curves per page, 1..1000 (default 100)
	Cursor      string  `json:"cursor,omitempty"`      // the previous page's next
}

// CurveList answers rp.curves.list: one page of metadata.
type CurveList struct {
	Curves []Curve `json:"curves"`
	// Next is the cursor of the following page; empty on the last.
	Next  string     `json:"next,omitempty"`
	Store CurveStore `json:"store"`
}

// CurveStore says how full the store is.
type CurveStore struct {
	Curves   int   `json:"curves"`
	Kept     int   `json:"kept"`      // curves marked keep
	Bytes    int64 `json:"bytes"`     // what the curves take, metadata included
	MaxBytes int64 `json:"max_bytes"` // the store's size limit
}

// CurveRoom is the body of rp.curves.room: the room a curve needs, which
// the store makes by evicting the oldest curves not marked keep.
type CurveRoom struct {
	Bytes     int64 `json:"bytes"`      // the trace
	MetaBytes int64 `json:"meta_bytes"` // its metadata
}

// CurveID is the body of rp.curves.get and rp.curves.delete.
type CurveID struct {
	ID string `json:"id"`
}

// CurveUpdate is the body of rp.curves.update: the fields given replace
// the stored ones; the reply is the curve as updated.
type CurveUpdate struct {
	ID   string    `json:"id"`
	Name *string   `json:"name,omitempty"`
	Tags *[]string `json:"tags,omitempty"`
	Note *string   `json:"note,omitempty"`
	Keep *bool     `json:"keep,omitempty"`
}

// CurveDeleted answers rp.curves.delete.
type CurveDeleted struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}
