package chaos

import "testing"

func TestNamesOne(t *testing.T) {
	for _, tc := range []struct {
		msg    string
		fields []string
		want   bool
	}{
		{"points: must be 1..100000", []string{"points"}, true},
		{`unknown field "avg"`, []string{"avg"}, true},
		{"ops[0].addr: 0x3 is not 4-byte aligned", []string{"ops[0].addr"}, true},
		{"ops[0].addr: 0x3 is not 4-byte aligned", []string{"addr"}, true},
		{"invalid: malformed request", []string{"id"}, false},
		{"decimation_x: no", []string{"decimation"}, false},
		{"xpoints: no; points: must be 1..10", []string{"points"}, true},
		{"", []string{"id"}, false},
	} {
		if got := namesOne(tc.msg, tc.fields); got != tc.want {
			t.Errorf("namesOne(%q, %v) = %v, want %v", tc.msg, tc.fields, got, tc.want)
		}
	}
}
