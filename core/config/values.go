package config

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// maxInt is the largest number any keyword accepts: HAProxy stores its
// counters and limits in 32-bit integers, and so a value it would refuse
// is refused here too.
const maxInt = math.MaxInt32

// maxTime is HAProxy's largest time value, 2^31-1 ms (about 24.8 days):
// its timers are signed 32-bit millisecond ticks.
const maxTime = math.MaxInt32 * time.Millisecond

// parseInt reads a decimal integer in [lo, hi]. Only digits and, when lo
// is negative, a leading '-' are accepted: "+5", "0x10" or "5k" are junk.
func parseInt(s string, lo, hi int) (int, error) {
	digits := s
	if lo < 0 && len(s) > 0 && s[0] == '-' {
		digits = s[1:]
	}
	if digits == "" || !allDigits(digits) {
		if len(s) > 0 && s[0] == '-' {
			return 0, fmt.Errorf("invalid number %q: must not be negative", s)
		}
		return 0, fmt.Errorf("invalid number %q", s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return 0, fmt.Errorf("number %s out of range %d..%d", s, lo, hi)
	}
	return int(n), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// timeUnits are HAProxy's time units; a number without one is in
// milliseconds.
var timeUnits = []struct {
	name string
	d    time.Duration
}{
	{"d", 24 * time.Hour},
	{"h", time.Hour},
	{"m", time.Minute},
	{"s", time.Second},
	{"ms", time.Millisecond},
	{"us", time.Microsecond},
}

// parseTime reads an HAProxy time value: digits followed by an optional
// unit (us, ms, s, m, h, d); no unit means milliseconds.
func parseTime(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid time %q: expected a number and an optional unit (us, ms, s, m, h or d)", s)
	}
	unit := time.Millisecond
	if suffix := s[i:]; suffix != "" {
		unit = 0
		for _, u := range timeUnits {
			if u.name == suffix {
				unit = u.d
			}
		}
		if unit == 0 {
			return 0, fmt.Errorf("invalid time %q: unknown unit %q (use us, ms, s, m, h or d)", s, suffix)
		}
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n > int64(maxTime/unit) {
		return 0, fmt.Errorf("time %q is too large (the maximum is 2147483647ms, about 24.8 days)", s)
	}
	return time.Duration(n) * unit, nil
}

// formatTime writes d with the largest unit that represents it exactly,
// so that parseTime(formatTime(d)) == d for every value parseTime returns.
func formatTime(d time.Duration) string {
	for _, u := range timeUnits {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d/time.Microsecond), 10) + "us"
}
