package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/bench/internal/proc"
	"github.com/gatehouse/gatehouse/bench/load"
)

func sampleReport() report {
	return report{
		Started:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Go:        "go1.26.0",
		Platform:  "linux/amd64",
		CPUs:      2,
		Database:  proc.BackendPostgres,
		Gatehouse: "gatehouse v0.1.0",
		Settings:  settingsOf(config{duration: 5 * time.Second, rounds: 3, concurrency: 16, floodWorkers: 64, timeout: 10 * time.Second}),
		Scenarios: []section{
			{
				Scenario: "auth", Title: "auth title", Baseline: nameHealthz,
				Results: []load.Result{
					{Name: nameHealthz, Requests: 1000, RPS: 4000, P50: time.Millisecond, P99: 2 * time.Millisecond},
					{Name: nameMeBearer, Requests: 500, RPS: 1000, P50: 3 * time.Millisecond, P99: 9 * time.Millisecond},
				},
				Notes: []string{"me-apikey left out: GET /users/me: status 404, want 200"},
			},
			{Scenario: "token", Title: "token title", Skipped: "cannot create a client: unknown command"},
			{
				Scenario: "flood", Title: "flood title", Baseline: nameMeAlone,
				Results: []load.Result{{Name: nameMeAlone, Requests: 10, RPS: 10}, {Name: nameMeRate, Requests: 5, RPS: 5}, {Name: nameFloodRate, Requests: 99}},
				Floods: []floodReport{
					{Shape: "rate", Rate: 800, Sources: 64, P99AloneMs: 2, P99FloodedMs: 3, P99Ratio: 1.5, Requests: 99, FloodRPS: 33, Status429: 90, Timeouts: 1, Errors: 1},
					{Shape: "closed", Workers: 64, Sources: 64, P99AloneMs: 2, P99FloodedMs: 7, P99Ratio: 3.5, Requests: 99, Status429: 90, Timeouts: 1, Errors: 1},
				},
			},
		},
	}
}

func TestWriteTextSection(t *testing.T) {
	rep := sampleReport()
	tests := []struct {
		name string
		sec  section
		want []string
	}{
		{
			name: "measured with a note",
			sec:  rep.Scenarios[0],
			want: []string{"== auth: auth title\n", "vs healthz", "\nme-bearer  ", "0.250\n", "note: me-apikey left out: GET /users/me: status 404"},
		},
		{
			name: "skipped",
			sec:  rep.Scenarios[1],
			want: []string{"== token: token title\nskipped: cannot create a client: unknown command\n"},
		},
		{
			name: "flood",
			sec:  rep.Scenarios[2],
			want: []string{"vs me-alone",
				"800 wrong passwords/s (open loop) from 64 addresses — p99 of /users/me: 2.000 ms alone, 3.000 ms under the flood (× 1.50)",
				"64 closed-loop workers from 64 addresses — p99 of /users/me: 2.000 ms alone, 7.000 ms under the flood (× 3.50)",
				"flood: 99 requests (33/s, 0 not sent): 90 × 429, 0 × 503, 1 timeouts, 0 other errors"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := writeText(&b, tc.sec); err != nil {
				t.Fatalf("writeText() error = %v", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(b.String(), want) {
					t.Errorf("writeText() =\n%s\nwant it to contain %q", b.String(), want)
				}
			}
		})
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b strings.Builder
	if err := writeMarkdown(&b, sampleReport()); err != nil {
		t.Fatalf("writeMarkdown() error = %v", err)
	}
	for _, want := range []string{
		"# gatehouse load test\n\n2026-01-02T03:04:05Z · linux/amd64 · 2 CPUs · go1.26.0 · gatehouse v0.1.0 · PostgreSQL  \n5s per target over 3 interleaved rounds, 16 workers, flood 64 workers, timeout 10s  \n",
		"\n## auth\n\nauth title\n\n| target | requests |",
		"| me-bearer | 500 | 0 | 0 | 1000 | 3.000 | 0.000 | 9.000 | 0.000 | 0.250 |\n",
		"\n- Note: me-apikey left out",
		"\n## token\n\ntoken title\n\nSkipped: cannot create a client",
		"\n- 800 wrong passwords/s (open loop) from 64 addresses — p99 of /users/me: 2.000 ms alone",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("writeMarkdown() =\n%s\nwant it to contain %q", b.String(), want)
		}
	}
}

func TestWriteJSONReport(t *testing.T) {
	var b strings.Builder
	if err := writeJSON(&b, sampleReport()); err != nil {
		t.Fatalf("writeJSON() error = %v", err)
	}
	var got jsonReport
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatalf("writeJSON() wrote invalid JSON: %v\n%s", err, b.String())
	}
	if len(got.Scenarios) != 3 || got.Gatehouse != "gatehouse v0.1.0" || got.Database != proc.BackendPostgres {
		t.Fatalf("writeJSON() = %+v, want 3 scenarios, the version and the database", got)
	}
	auth, token, flood := got.Scenarios[0], got.Scenarios[1], got.Scenarios[2]
	if len(auth.Results) != 2 || auth.Results[1].Name != nameMeBearer || auth.Results[1].Ratio != 0.25 || len(auth.Notes) != 1 {
		t.Errorf("auth = %+v, want 2 results with me-bearer at ratio 0.25 and one note", auth)
	}
	if token.Skipped == "" || token.Results != nil {
		t.Errorf("token = %+v, want skipped without results", token)
	}
	if len(flood.Floods) != 2 || flood.Floods[0].Shape != "rate" || flood.Floods[1].P99Ratio != 3.5 || flood.Floods[1].Status429 != 90 {
		t.Errorf("flood = %+v, want both flood reports", flood.Floods)
	}
}
