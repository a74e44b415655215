package wire

import (
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// field is one decodable field of a struct: the name a request writes and
// where the field sits (through embedded structs).
type field struct {
	name  string
	index []int
	seq   int // position in structFields.list, for duplicate detection
}

// structFields are the fields of a struct type by the names a request may
// use: the json tag names, exactly (names are case-sensitive), and the
// names listed in an `alias:"a,b"` tag. Fields of an embedded struct
// without a tag name count as the outer struct's, as in encoding/json.
type structFields struct {
	byName map[string]*field
	list   []*field
}

var fieldCache sync.Map // reflect.Type -> *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	sf := &structFields{byName: map[string]*field{}}
	collectFields(sf, t, nil, map[string]int{}, 0)
	f, _ := fieldCache.LoadOrStore(t, sf)
	return f.(*structFields)
}

// collectFields adds t's fields under index prefix; depth records how
// deep each name was found, so an outer field hides an embedded one.
func collectFields(sf *structFields, t reflect.Type, prefix []int, depth map[string]int, d int) {
	var embedded []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			embedded = append(embedded, f)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		index := append(append([]int(nil), prefix...), i)
		names := []string{name}
		if a := f.Tag.Get("alias"); a != "" {
			names = append(names, strings.Split(a, ",")...)
		}
		fl := &field{name: name, index: index, seq: len(sf.list)}
		added := false
		for _, n := range names {
			if old, ok := depth[n]; ok && old <= d {
				continue
			}
			depth[n] = d
			sf.byName[n] = fl
			added = true
		}
		if added {
			sf.list = append(sf.list, fl)
		}
	}
	for _, f := range embedded {
		collectFields(sf, f.Type, append(append([]int(nil), prefix...), f.Index...), depth, d+1)
	}
}

// unknownField says that key is no field of sf, and which one a key that
// differs only in case meant.
func (sf *structFields) unknownField(key string) error {
	for name := range sf.byName {
		if strings.EqualFold(name, key) {
			return &FieldError{Msg: "unknown field " + quote(key) + " (names are case-sensitive: " + quote(name) + ")", aboutField: true}
		}
	}
	return UnknownField(key)
}

// quote quotes s for a message, cut to 64 bytes.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

// seenSet records which fields a map has given, to refuse a second value
// for one.
type seenSet struct {
	small uint64
	big   map[int]bool
}

// add reports whether seq was new.
func (s *seenSet) add(seq int) bool {
	if seq < 64 {
		bit := uint64(1) << seq
		if s.small&bit != 0 {
			return false
		}
		s.small |= bit
		return true
	}
	if s.big == nil {
		s.big = map[int]bool{}
	}
	if s.big[seq] {
		return false
	}
	s.big[seq] = true
	return true
}

// fieldValue returns v's field at index, v addressable.
func fieldValue(v reflect.Value, index []int) reflect.Value {
	for _, i := range index {
		v = v.Field(i)
	}
	return v
}
