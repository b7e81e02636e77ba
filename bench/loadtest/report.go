package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/bench/load"
)

// report is everything one run measured, with the context needed to read
// it: results from different machines or settings are not comparable.
type report struct {
	Started   time.Time `json:"started"`
	Go        string    `json:"go"`
	Platform  string    `json:"platform"`
	CPUs      int       `json:"cpus"`
	Database  string    `json:"database"` // proc.BackendSQLite or proc.BackendPostgres
	Gatehouse string    `json:"gatehouse_version,omitempty"`
	Settings  settings  `json:"settings"`
	Scenarios []section `json:"scenarios"`
}

type settings struct {
	Duration     string `json:"duration_per_target"`
	Rounds       int    `json:"rounds"`
	Concurrency  int    `json:"concurrency"`
	FloodWorkers int    `json:"flood_workers"`
	Timeout      string `json:"timeout"`
}

func settingsOf(c config) settings {
	return settings{
		Duration:     c.duration.String(),
		Rounds:       c.rounds,
		Concurrency:  c.concurrency,
		FloodWorkers: c.floodWorkers,
		Timeout:      c.timeout.String(),
	}
}

// MarshalJSON writes the results as [load.Summary] values.
func (s section) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Scenario string         `json:"scenario"`
		Title    string         `json:"title"`
		Skipped  string         `json:"skipped,omitempty"`
		Notes    []string       `json:"notes,omitempty"`
		Baseline string         `json:"baseline,omitempty"`
		Results  []load.Summary `json:"results,omitempty"`
		Floods   []floodReport  `json:"floods,omitempty"`
	}{s.Scenario, s.Title, s.Skipped, s.Notes, s.Baseline, load.Summarize(s.Results, s.Baseline), s.Floods})
}

func (rep report) header() string {
	h := fmt.Sprintf("%s · %s · %d CPUs · %s", rep.Started.Format(time.RFC3339), rep.Platform, rep.CPUs, rep.Go)
	if rep.Gatehouse != "" {
		h += " · " + rep.Gatehouse
	}
	if rep.Database != "" {
		h += " · " + rep.Database
	}
	s := rep.Settings
	return h + fmt.Sprintf("\n%s per target over %d interleaved rounds, %d workers, flood %d workers, timeout %s",
		s.Duration, s.Rounds, s.Concurrency, s.FloodWorkers, s.Timeout)
}

// writeText writes one section for a terminal.
func writeText(w io.Writer, sec section) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n== %s: %s\n", sec.Scenario, sec.Title)
	if sec.Skipped != "" {
		fmt.Fprintf(&b, "skipped: %s\n", sec.Skipped)
	} else if len(sec.Results) > 0 {
		if err := load.WriteText(&b, sec.Results, sec.Baseline); err != nil {
			return err
		}
	}
	for _, f := range sec.Floods {
		b.WriteString(floodLines(f))
	}
	for _, n := range sec.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func floodLines(f floodReport) string {
	shape := fmt.Sprintf("%d closed-loop workers", f.Workers)
	if f.Shape == "rate" {
		shape = fmt.Sprintf("%g wrong passwords/s (open loop)", f.Rate)
	}
	return fmt.Sprintf("%s from %d addresses — p99 of /users/me: %.3f ms alone, %.3f ms under the flood (× %.2f); /users/me %d timeouts, %d other errors, %d unexpected statuses\n"+
		"flood: %d requests (%g/s, %d not sent): %d × 429, %d × 503, %d timeouts, %d other errors; statuses %v\n",
		shape, f.Sources, f.P99AloneMs, f.P99FloodedMs, f.P99Ratio, f.MeTimeouts, f.MeErrors-f.MeTimeouts, f.MeUnexpected,
		f.Requests, f.FloodRPS, f.Dropped, f.Status429, f.Status503, f.Timeouts, f.Errors-f.Timeouts, f.Statuses)
}

// writeMarkdown writes the whole report as a Markdown document.
func writeMarkdown(w io.Writer, rep report) error {
	var b strings.Builder
	b.WriteString("# gatehouse load test\n\n")
	for line := range strings.Lines(rep.header()) {
		b.WriteString(strings.TrimRight(line, "\n") + "  \n")
	}
	for _, sec := range rep.Scenarios {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", sec.Scenario, sec.Title)
		if sec.Skipped != "" {
			fmt.Fprintf(&b, "Skipped: %s\n", sec.Skipped)
		} else if len(sec.Results) > 0 {
			if err := load.WriteMarkdown(&b, sec.Results, sec.Baseline); err != nil {
				return err
			}
		}
		if len(sec.Floods) > 0 {
			b.WriteString("\n")
			for _, f := range sec.Floods {
				for line := range strings.Lines(floodLines(f)) {
					b.WriteString("- " + line)
				}
			}
		}
		if len(sec.Notes) > 0 {
			b.WriteString("\n")
			for _, n := range sec.Notes {
				b.WriteString("- Note: " + n + "\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeJSON writes the whole report as one JSON document.
func writeJSON(w io.Writer, rep report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
