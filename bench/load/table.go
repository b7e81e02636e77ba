package load

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Summary is the JSON form of a [Result]: latencies in milliseconds,
// status codes as strings (JSON object keys), and the throughput ratio to
// a baseline target when there is one.
type Summary struct {
	Name       string         `json:"name"`
	Requests   int            `json:"requests"`
	Errors     int            `json:"errors"`
	Timeouts   int            `json:"timeouts"`
	Unexpected int            `json:"unexpected"`
	Statuses   map[string]int `json:"statuses,omitempty"`
	ElapsedS   float64        `json:"elapsed_s"`
	RPS        float64        `json:"rps"`
	P50ms      float64        `json:"p50_ms"`
	P90ms      float64        `json:"p90_ms"`
	P99ms      float64        `json:"p99_ms"`
	MaxMs      float64        `json:"max_ms"`
	// Baseline names the target Ratio compares with; empty when none.
	Baseline string `json:"baseline,omitempty"`
	// Ratio is RPS divided by the baseline's RPS (see [Ratio]).
	Ratio float64 `json:"ratio,omitempty"`
}

// Summarize turns results into summaries. When baseline names one of the
// results, every summary carries its throughput ratio to that one (the
// baseline's own is 1); otherwise no ratios are given.
func Summarize(rs []Result, baseline string) []Summary {
	base, hasBase := find(rs, baseline)
	out := make([]Summary, len(rs))
	for i, r := range rs {
		s := Summary{
			Name:       r.Name,
			Requests:   r.Requests,
			Errors:     r.Errors,
			Timeouts:   r.Timeouts,
			Unexpected: r.Unexpected,
			ElapsedS:   round(r.Elapsed.Seconds(), 3),
			RPS:        round(r.RPS, 1),
			P50ms:      ms(r.P50),
			P90ms:      ms(r.P90),
			P99ms:      ms(r.P99),
			MaxMs:      ms(r.Max),
		}
		if len(r.Statuses) > 0 {
			s.Statuses = make(map[string]int, len(r.Statuses))
			for code, n := range r.Statuses {
				s.Statuses[strconv.Itoa(code)] = n
			}
		}
		if hasBase {
			s.Baseline = base.Name
			s.Ratio = round(Ratio(r, base), 3)
		}
		out[i] = s
	}
	return out
}

func find(rs []Result, name string) (Result, bool) {
	if name == "" {
		return Result{}, false
	}
	i := slices.IndexFunc(rs, func(r Result) bool { return r.Name == name })
	if i < 0 {
		return Result{}, false
	}
	return rs[i], true
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

func round(f float64, places int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', places, 64), 64)
	return v
}

// columns returns the header and rows shared by the text and Markdown
// tables; the ratio column appears only with a baseline.
func columns(rs []Result, baseline string) ([]string, [][]string) {
	ss := Summarize(rs, baseline)
	head := []string{"target", "requests", "errors", "unexpected", "rps", "p50 ms", "p90 ms", "p99 ms", "max ms"}
	_, hasBase := find(rs, baseline)
	if hasBase {
		head = append(head, "vs "+baseline)
	}
	rows := make([][]string, len(ss))
	for i, s := range ss {
		row := []string{
			s.Name,
			strconv.Itoa(s.Requests),
			strconv.Itoa(s.Errors),
			strconv.Itoa(s.Unexpected),
			strconv.FormatFloat(s.RPS, 'f', 0, 64),
			fmt.Sprintf("%.3f", s.P50ms),
			fmt.Sprintf("%.3f", s.P90ms),
			fmt.Sprintf("%.3f", s.P99ms),
			fmt.Sprintf("%.3f", s.MaxMs),
		}
		if hasBase {
			row = append(row, fmt.Sprintf("%.3f", s.Ratio))
		}
		rows[i] = row
	}
	return head, rows
}

// WriteText writes rs as an aligned plain-text table, with a column of
// throughput ratios to the result named baseline when there is one. The
// first column is left-aligned and the numbers right-aligned.
func WriteText(w io.Writer, rs []Result, baseline string) error {
	head, rows := columns(rs, baseline)
	all := append([][]string{head}, rows...)
	widths := make([]int, len(head))
	for _, row := range all {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, row := range all {
		for i, c := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0:
				b.WriteString(c + pad)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteString("\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// WriteMarkdown writes rs as a GitHub-flavoured Markdown table, like
// [WriteText].
func WriteMarkdown(w io.Writer, rs []Result, baseline string) error {
	head, rows := columns(rs, baseline)
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
		}
		b.WriteString("\n")
	}
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = "---:"
	}
	sep[0] = "---"
	line(sep)
	for _, row := range rows {
		line(row)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write markdown table: %w", err)
	}
	return nil
}

// WriteJSON writes [Summarize](rs, baseline) as one indented JSON array.
func WriteJSON(w io.Writer, rs []Result, baseline string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Summarize(rs, baseline)); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
