package client_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"

	"github.com/rpbus/rpbus/api"
	"github.com/rpbus/rpbus/client"
)

// deadlineTol is how far a computed deadline may be from the table's, in
// seconds (the table rounds to nanoseconds).
const deadlineTol = 1e-6

// TestDeadlinesTable: the client's deadlines are the table's, which the
// Python and JavaScript clients' tests check too.
func TestDeadlinesTable(t *testing.T) {
	data, err := os.ReadFile("testdata/deadlines.json")
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		Cases []struct {
			Call     string          `json:"call"`
			Settings json.RawMessage `json:"settings"`
			Wait     float64         `json:"wait"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &table); err != nil || len(table.Cases) == 0 {
		t.Fatalf("table: %v", err)
	}
	for _, c := range table.Cases {
		var got time.Duration
		var err error
		switch c.Call {
		case "scope.single":
			var s api.ScopeSettings
			err = json.Unmarshal(c.Settings, &s)
			got = client.ScopeWait(s)
		case "na.single":
			var s api.NASettings
			err = json.Unmarshal(c.Settings, &s)
			got = client.NAWait(s)
		case "specan.single":
			var s api.SpecanSettings
			err = json.Unmarshal(c.Settings, &s)
			got = client.SpecanWait(s)
		case "hw.txn":
			var s api.Txn
			err = json.Unmarshal(c.Settings, &s)
			got = client.TxnWait(s.Ops)
		default:
			t.Fatalf("unknown call %q", c.Call)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", c.Call, c.Settings, err)
		}
		if math.Abs(got.Seconds()-c.Wait) > deadlineTol {
			t.Errorf("%s %s: %.9f s, table %.9f s", c.Call, c.Settings, got.Seconds(), c.Wait)
		}
	}
}
