package ratelimit

import (
	"math"
	"testing"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Limit
		wantErr bool
	}{
		{name: "per second", in: "10/s", want: Limit{Rate: 10, Burst: 10}},
		{name: "per minute", in: "100/m", want: Limit{Rate: 100.0 / 60, Burst: 100}},
		{name: "per hour", in: "1000/h", want: Limit{Rate: 1000.0 / 3600, Burst: 1000}},
		{name: "per day", in: "5/d", want: Limit{Rate: 5.0 / 86400, Burst: 5}},
		{name: "burst", in: "5/s:20", want: Limit{Rate: 5, Burst: 20}},
		{name: "burst smaller", in: "100/m:1", want: Limit{Rate: 100.0 / 60, Burst: 1}},
		{name: "fraction", in: "0.5/s", want: Limit{Rate: 0.5, Burst: 1}},
		{name: "fraction rounds burst up", in: "2.5/s", want: Limit{Rate: 2.5, Burst: 3}},
		{name: "spaces", in: " 10 / s : 3 ", want: Limit{Rate: 10, Burst: 3}},
		{name: "empty is unlimited", in: "", want: Limit{}},
		{name: "unlimited", in: "unlimited", want: Limit{}},
		{name: "no unit", in: "10", wantErr: true},
		{name: "bad unit", in: "10/w", wantErr: true},
		{name: "long unit", in: "10/sec", wantErr: true},
		{name: "zero", in: "0/s", wantErr: true},
		{name: "negative", in: "-1/s", wantErr: true},
		{name: "nan", in: "NaN/s", wantErr: true},
		{name: "inf", in: "Inf/s", wantErr: true},
		{name: "too many", in: "2000000000/s", wantErr: true},
		{name: "zero burst", in: "1/s:0", wantErr: true},
		{name: "fractional burst", in: "1/s:1.5", wantErr: true},
		{name: "empty burst", in: "1/s:", wantErr: true},
		{name: "garbage", in: "ten per second", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLimit(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseLimit(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ParseLimit(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestLimitString(t *testing.T) {
	tests := []struct {
		in   Limit
		want string
	}{
		{Limit{}, "unlimited"},
		{Limit{Rate: -1}, "unlimited"},
		{Limit{Rate: 10, Burst: 10}, "10/s"},
		{Limit{Rate: 10, Burst: 0}, "10/s:1"},
		{Limit{Rate: 5, Burst: 20}, "5/s:20"},
		{Limit{Rate: 100.0 / 60, Burst: 100}, "100/m"},
		{Limit{Rate: 1000.0 / 3600, Burst: 1000}, "1000/h"},
		{Limit{Rate: 0.5, Burst: 1}, "30/m:1"},
		{Limit{Rate: 1.0 / 86400, Burst: 1}, "1/d"},
		{Limit{Rate: math.Pi, Burst: 4}, "3.141592653589793/s"},
	}
	for _, tc := range tests {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzParseLimit checks that ParseLimit never panics and that whatever it
// accepts survives a round trip through String.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"10/s", "100/m", "1000/h", "5/s:20", "0.5/s", "", "unlimited", "1e9/d:1000000000", "7/m:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLimit(s)
		if err != nil {
			return
		}
		if l.Unlimited() {
			if l != (Limit{}) {
				t.Fatalf("ParseLimit(%q) = %+v: unlimited but not zero", s, l)
			}
			return
		}
		if l.Burst < 1 || math.IsInf(l.Rate, 0) || math.IsNaN(l.Rate) {
			t.Fatalf("ParseLimit(%q) = %+v: invalid", s, l)
		}
		back, err := ParseLimit(l.String())
		if err != nil {
			t.Fatalf("ParseLimit(%q) = %+v; String %q does not parse: %v", s, l, l.String(), err)
		}
		if back.Burst != l.Burst || math.Abs(back.Rate-l.Rate) > 1e-9*l.Rate {
			t.Fatalf("round trip %q -> %+v -> %q -> %+v", s, l, l.String(), back)
		}
	})
}

func TestGCRAExtremes(t *testing.T) {
	tests := []struct {
		name string
		l    Limit
	}{
		{name: "huge burst slow rate", l: Limit{Rate: 1.0 / 86400, Burst: 1e9}},
		{name: "tiny rate", l: Limit{Rate: 1e-300, Burst: 2}},
		{name: "huge rate", l: Limit{Rate: 1e300, Burst: 1}},
	}
	const now = int64(1_900_000_000) * 1e9
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			iv, b := tc.l.intervalNanos(), tc.l.burst()
			tat, allowed, remaining, reset, _ := gcra(now, 0, iv, b)
			if !allowed || tat <= now || remaining < 0 || reset <= 0 {
				t.Fatalf("first event: tat %d allowed %v remaining %d reset %d", tat, allowed, remaining, reset)
			}
			if _, allowed2, _, _, _ := gcra(now, tat, iv, b); allowed2 != (b > 1) {
				t.Errorf("second event allowed = %v, want %v", allowed2, b > 1)
			}
		})
	}
}
