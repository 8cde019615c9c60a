package logging

import (
	"testing"
	"time"

	"pivot/core/config"
)

// Each HAProxy 2.6 format, byte for byte, as written on stdout (where a
// "\n" ends every line). Target: facility local0, message at info, so
// PRI is 16*8+6 = 134; tag "pivot", pid 4242.
func TestFormats(t *testing.T) {
	const iso = "2026-11-03T07:00:00.123456+00:00"
	tests := []struct {
		desc     string
		format   string
		hostname string
		want     string
	}{
		{"default is local without hostname", "", "", "<134>Nov  3 07:00:00 pivot[4242]: hello\n"},
		{"default is rfc3164 with hostname", "", "lb1", "<134>Nov  3 07:00:00 lb1 pivot[4242]: hello\n"},
		{"local", "local", "lb1", "<134>Nov  3 07:00:00 pivot[4242]: hello\n"},
		{"rfc3164 without hostname says localhost", "rfc3164", "", "<134>Nov  3 07:00:00 localhost pivot[4242]: hello\n"},
		{"rfc3164", "rfc3164", "lb1", "<134>Nov  3 07:00:00 lb1 pivot[4242]: hello\n"},
		{"rfc5424 without hostname says -", "rfc5424", "", "<134>1 " + iso + " - pivot 4242 - - hello\n"},
		{"rfc5424", "rfc5424", "lb1", "<134>1 " + iso + " lb1 pivot 4242 - - hello\n"},
		{"priority", "priority", "lb1", "<134>hello\n"},
		{"short has the level only", "short", "lb1", "<6>hello\n"},
		{"timed has the level only", "timed", "lb1", "<6>" + iso + " hello\n"},
		{"iso", "iso", "lb1", iso + " hello\n"},
		{"raw", "raw", "lb1", "hello\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var out lockedBuffer
			l := newTestLogger(t, []config.LogTarget{{Address: "stdout", Format: tt.format, Facility: "local0"}},
				Options{Hostname: tt.hostname, Stdout: &out})
			l.Log(Info, "hello")
			if got := out.String(); got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}

// Header times are printed in the zone of the time Options.Now returns,
// with a numeric offset, as HAProxy prints local time.
func TestFormatTimeZones(t *testing.T) {
	tests := []struct {
		desc   string
		now    time.Time
		format string
		want   string
	}{
		{"rfc5424 east of UTC", time.Date(2026, 1, 31, 23, 59, 59, 1000, time.FixedZone("IST", 5*3600+1800)),
			"rfc5424", "<14>1 2026-01-31T23:59:59.000001+05:30 - pivot 4242 - - m\n"},
		{"iso west of UTC", time.Date(2026, 7, 4, 12, 0, 0, 0, time.FixedZone("BRT", -3*3600)),
			"iso", "2026-07-04T12:00:00.000000-03:00 m\n"},
		{"rfc3164 two-digit day", time.Date(2026, 12, 25, 1, 2, 3, 0, time.UTC),
			"rfc3164", "<14>Dec 25 01:02:03 localhost pivot[4242]: m\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var out lockedBuffer
			l := newTestLogger(t, []config.LogTarget{{Address: "stdout", Format: tt.format, Facility: "user"}},
				Options{Stdout: &out, Now: func() time.Time { return tt.now }})
			l.Log(Info, "m")
			if got := out.String(); got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}

// `len` bounds the whole line, header included. On stdout the "\n" counts
// in it, as in HAProxy's fd_write_frag_line.
func TestTruncation(t *testing.T) {
	tests := []struct {
		desc   string
		format string
		len    int
		msg    string
		want   string
	}{
		{"short enough", "raw", 80, "0123456789", "0123456789\n"},
		{"exactly len with the newline", "raw", 11, "0123456789", "0123456789\n"},
		{"cut to len-1 plus newline", "raw", 10, "0123456789", "012345678\n"},
		{"header counts", "priority", 8, "0123456789", "<134>01\n"},
		{"header itself cut", "rfc3164", 12, "0123456789", "<134>Nov  3\n"},
		{"default len is 1024", "raw", 0, string(make([]byte, 2000)) + "x", string(make([]byte, 1023)) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var out lockedBuffer
			l := newTestLogger(t, []config.LogTarget{{Address: "stdout", Format: tt.format, Facility: "local0", Len: tt.len}},
				Options{Stdout: &out})
			l.Log(Info, tt.msg)
			if got := out.String(); got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}

// A message's own trailing newlines are removed, so callers may pass
// either form and a line never ends with an empty one.
func TestTrailingNewlineRemoved(t *testing.T) {
	var out lockedBuffer
	l := newTestLogger(t, []config.LogTarget{{Address: "stdout", Format: "raw"}}, Options{Stdout: &out})
	l.Log(Info, "one\n")
	l.Log(Info, "two\n\n")
	if got, want := out.String(), "one\ntwo\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

// `level` drops less severe messages. `minlevel` drops nothing: HAProxy
// raises more severe messages to it, so the header shows minlevel.
func TestLevels(t *testing.T) {
	tests := []struct {
		desc            string
		level, minLevel string
		sev             Severity
		want            string
	}{
		{"default level sends debug", "", "", Debug, "<7>m\n"},
		{"default level sends emerg", "", "", Emerg, "<0>m\n"},
		{"at level", "warning", "", Warning, "<4>m\n"},
		{"more severe than level", "warning", "", Err, "<3>m\n"},
		{"less severe than level is dropped", "warning", "", Notice, ""},
		{"info drops debug", "info", "", Debug, ""},
		{"minlevel raises emerg", "info", "notice", Emerg, "<5>m\n"},
		{"minlevel leaves less severe alone", "info", "notice", Info, "<6>m\n"},
		{"level still filters with minlevel", "notice", "err", Info, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var out lockedBuffer
			l := newTestLogger(t, []config.LogTarget{{Address: "stdout", Format: "short", Level: tt.level, MinLevel: tt.minLevel}},
				Options{Stdout: &out})
			l.Log(tt.sev, "m")
			if got := out.String(); got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}

// Every target gets its own format; stderr is a target of its own.
func TestSeveralTargets(t *testing.T) {
	var out, errOut lockedBuffer
	l := newTestLogger(t, []config.LogTarget{
		{Address: "stdout", Format: "raw"},
		{Address: "stderr", Format: "short", Level: "warning"},
		{Address: "fd@1", Format: "priority", Facility: "daemon"},
	}, Options{Stdout: &out, Stderr: &errOut})
	l.Log(Info, "started")
	l.Log(Alert, "backend dead_be has no server available!")

	wantOut := "started\n<30>started\nbackend dead_be has no server available!\n<25>backend dead_be has no server available!\n"
	if got := out.String(); got != wantOut {
		t.Errorf("stdout: got %q; want %q", got, wantOut)
	}
	if got, want := errOut.String(), "<1>backend dead_be has no server available!\n"; got != want {
		t.Errorf("stderr: got %q; want %q", got, want)
	}
}
