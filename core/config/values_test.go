package config

import (
	"strconv"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"1500", 1500 * time.Millisecond}, // no unit: milliseconds, as HAProxy
		{"250us", 250 * time.Microsecond},
		{"20ms", 20 * time.Millisecond},
		{"5s", 5 * time.Second},
		{"2m", 2 * time.Minute},
		{"3h", 3 * time.Hour},
		{"1d", 24 * time.Hour},
		{"24d", 24 * 24 * time.Hour},
		{"2147483647", maxTime},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseTime(tc.in)
			if err != nil {
				t.Fatalf("parseTime(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
			if back, _ := parseTime(formatTime(got)); back != got {
				t.Errorf("formatTime(%v) = %q reads back as %v", got, formatTime(got), back)
			}
		})
	}
}

func TestParseTimeErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `invalid time "": expected a number and an optional unit (us, ms, s, m, h or d)`},
		{"s", `invalid time "s": expected a number and an optional unit (us, ms, s, m, h or d)`},
		{"-5s", `invalid time "-5s": expected a number and an optional unit (us, ms, s, m, h or d)`},
		{"5x", `invalid time "5x": unknown unit "x" (use us, ms, s, m, h or d)`},
		{"5 s", `invalid time "5 s": unknown unit " s" (use us, ms, s, m, h or d)`},
		{"1.5s", `invalid time "1.5s": unknown unit ".5s" (use us, ms, s, m, h or d)`},
		{"25d", `time "25d" is too large (the maximum is 2147483647ms, about 24.8 days)`},
		{"2147483648", `time "2147483648" is too large (the maximum is 2147483647ms, about 24.8 days)`},
		{"99999999999999999999s", `time "99999999999999999999s" is too large (the maximum is 2147483647ms, about 24.8 days)`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := parseTime(tc.in)
			if err == nil {
				t.Fatalf("parseTime(%q) succeeded; want %q", tc.in, tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi int
		want   string // the number, or the error
	}{
		{"42", 0, 100, "42"},
		{"-3", -10, 10, "-3"},
		{"0", 1, 10, "number 0 out of range 1..10"},
		{"-1", 0, 10, `invalid number "-1": must not be negative`},
		{"+5", 0, 10, `invalid number "+5"`},
		{"5k", 0, 10, `invalid number "5k"`},
		{"", 0, 10, `invalid number ""`},
		{"0x10", 0, 100, `invalid number "0x10"`},
		{"2147483648", 0, maxInt, "number 2147483648 out of range 0..2147483647"},
		{"99999999999999999999", 0, maxInt, "number 99999999999999999999 out of range 0..2147483647"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			n, err := parseInt(tc.in, tc.lo, tc.hi)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = strconv.Itoa(n)
			}
			if got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}
