package load_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/bench/load"
)

func sampleResults() []load.Result {
	return []load.Result{
		{Name: "healthz", Requests: 40000, Elapsed: 2 * time.Second, RPS: 20000,
			P50: 700 * time.Microsecond, P90: 1200 * time.Microsecond, P99: 2500 * time.Microsecond, Max: 9 * time.Millisecond,
			Statuses: map[int]int{200: 40000}},
		{Name: "me bearer", Requests: 10000, Errors: 1, Timeouts: 1, Unexpected: 3, Elapsed: 2 * time.Second, RPS: 5000,
			P50: 2800 * time.Microsecond, P90: 4 * time.Millisecond, P99: 12345 * time.Microsecond, Max: 40 * time.Millisecond,
			Statuses: map[int]int{200: 9996, 429: 3}},
	}
}

func TestWriteText(t *testing.T) {
	tests := []struct {
		name     string
		baseline string
		want     string
	}{
		{
			name:     "with baseline",
			baseline: "healthz",
			want: "" +
				"target     requests  errors  unexpected    rps  p50 ms  p90 ms  p99 ms  max ms  vs healthz\n" +
				"healthz       40000       0           0  20000   0.700   1.200   2.500   9.000       1.000\n" +
				"me bearer     10000       1           3   5000   2.800   4.000  12.345  40.000       0.250\n",
		},
		{
			name:     "unknown baseline has no ratio column",
			baseline: "nope",
			want: "" +
				"target     requests  errors  unexpected    rps  p50 ms  p90 ms  p99 ms  max ms\n" +
				"healthz       40000       0           0  20000   0.700   1.200   2.500   9.000\n" +
				"me bearer     10000       1           3   5000   2.800   4.000  12.345  40.000\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := load.WriteText(&b, sampleResults(), tc.baseline); err != nil {
				t.Fatalf("WriteText() error = %v", err)
			}
			if b.String() != tc.want {
				t.Errorf("WriteText() =\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestWriteMarkdown(t *testing.T) {
	rs := sampleResults()
	rs[1].Name = "a|b"
	var b bytes.Buffer
	if err := load.WriteMarkdown(&b, rs, "healthz"); err != nil {
		t.Fatalf("WriteMarkdown() error = %v", err)
	}
	want := "" +
		"| target | requests | errors | unexpected | rps | p50 ms | p90 ms | p99 ms | max ms | vs healthz |\n" +
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
		"| healthz | 40000 | 0 | 0 | 20000 | 0.700 | 1.200 | 2.500 | 9.000 | 1.000 |\n" +
		`| a\|b | 10000 | 1 | 3 | 5000 | 2.800 | 4.000 | 12.345 | 40.000 | 0.250 |` + "\n"
	if b.String() != want {
		t.Errorf("WriteMarkdown() =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := load.WriteJSON(&b, sampleResults(), "healthz"); err != nil {
		t.Fatalf("WriteJSON() error = %v", err)
	}
	var got []load.Summary
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("WriteJSON() wrote invalid JSON %q: %v", b.String(), err)
	}
	want := []load.Summary{
		{Name: "healthz", Requests: 40000, Statuses: map[string]int{"200": 40000}, ElapsedS: 2, RPS: 20000,
			P50ms: 0.7, P90ms: 1.2, P99ms: 2.5, MaxMs: 9, Baseline: "healthz", Ratio: 1},
		{Name: "me bearer", Requests: 10000, Errors: 1, Timeouts: 1, Unexpected: 3, Statuses: map[string]int{"200": 9996, "429": 3},
			ElapsedS: 2, RPS: 5000, P50ms: 2.8, P90ms: 4, P99ms: 12.345, MaxMs: 40, Baseline: "healthz", Ratio: 0.25},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WriteJSON() decoded =\n%+v\nwant\n%+v", got, want)
	}
}
