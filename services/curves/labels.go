package curves

import (
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nuid"

	"github.com/rpbus/rpbus/rperr"
)

// Limits of what labels a curve.
const (
	MaxNameBytes = 256  // a curve's name
	MaxTags      = 32   // tags per curve
	MaxTagBytes  = 64   // one tag
	MaxNoteBytes = 4096 // the free-text note
	MaxIDBytes   = 64   // a curve id
	MaxSaveEvery = 1_000_000
)

// NewID returns a new curve id: 22 characters of A-Z a-z 0-9, unique
// without coordination (NATS's nuid).
func NewID() string { return nuid.Next() }

// CheckID returns a 400 naming field unless id is a curve id: 1..64
// characters of A-Z a-z 0-9 _ -, so that it is one NATS subject token.
func CheckID(field, id string) error {
	if id == "" {
		return rperr.Invalidf("%s: missing; give the curve id (rp.curves.list shows them)", field)
	}
	if len(id) > MaxIDBytes {
		return rperr.Invalidf("%s: %d characters, at most %d", field, len(id), MaxIDBytes)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return rperr.Invalidf("%s: %q holds %q; a curve id is made of A-Z a-z 0-9 _ -", field, id, r)
		}
	}
	return nil
}

// CheckLabels validates the save fields of an acquisition request: name
// and tags label a saved curve, so they need save (or, for continuous
// scope runs, save_every).
func CheckLabels(save bool, name string, tags []string) error {
	if !save && (name != "" || len(tags) > 0) {
		return rperr.Invalidf("name, tags: they label a saved curve; add \"save\": true")
	}
	if err := checkText("name", name, MaxNameBytes); err != nil {
		return err
	}
	return checkTags("tags", tags)
}

// CheckSaveEvery validates save_every of a continuous run: 0 (off) or
// 1..MaxSaveEvery.
func CheckSaveEvery(n int) error {
	if n < 0 || n > MaxSaveEvery {
		return rperr.Invalidf("save_every: %d is outside 1..%d (0: save no trace)", n, MaxSaveEvery)
	}
	return nil
}

func checkTags(field string, tags []string) error {
	if len(tags) > MaxTags {
		return rperr.Invalidf("%s: %d tags, at most %d", field, len(tags), MaxTags)
	}
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		f := field + "[" + strconv.Itoa(i) + "]"
		if t == "" {
			return rperr.Invalidf("%s: empty; a tag is 1..%d bytes", f, MaxTagBytes)
		}
		if err := checkText(f, t, MaxTagBytes); err != nil {
			return err
		}
		if seen[t] {
			return rperr.Invalidf("%s: %q is given twice", f, t)
		}
		seen[t] = true
	}
	return nil
}

// checkText allows printable UTF-8 of at most max bytes; a note may
// also hold newlines and tabs.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return rperr.Invalidf("%s: %d bytes, at most %d", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return rperr.Invalidf("%s: not valid UTF-8", field)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && !(field == "note" && (r == '\n' || r == '\t')) {
			return rperr.Invalidf("%s: holds the control character %U", field, r)
		}
	}
	return nil
}
