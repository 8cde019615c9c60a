package logging

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"pivot/core/config"
)

// accept returns a wall-clock time on 23 Nov 2026 in the local zone, the
// zone TCPLogLine prints in.
func accept(h, m, s, ms int) time.Time {
	return time.Date(2026, 11, 23, h, m, s, ms*int(time.Millisecond), time.Local)
}

const ms = time.Millisecond

// The golden lines are HAProxy 2.6's, from the transcripts (section 23),
// plus IPv6 and redispatch cases built from HAProxy's rules.
func TestTCPLogLine(t *testing.T) {
	tests := []struct {
		desc string
		rec  SessionRecord
		want string
	}{
		{"normal session", SessionRecord{
			Client: netip.MustParseAddrPort("127.0.0.1:52212"), Accept: accept(6, 58, 37, 512),
			Frontend: "pg_fe", Backend: "pg_be", Server: "pg1",
			Tw: 1 * ms, Tc: 0, Tt: 3 * ms, BytesRead: 13, BytesWritten: 6,
			Termination: Termination(CauseNone, PhaseNone), ActConn: 1, FeConn: 1,
		}, "127.0.0.1:52212 [23/Nov/2026:06:58:37.512] pg_fe pg_be/pg1 1/0/3 13 -- 1/1/0/0/0 0/0"},
		{"no server available", SessionRecord{
			Client: netip.MustParseAddrPort("127.0.0.1:35688"), Accept: accept(6, 58, 37, 559),
			Frontend: "dead_fe", Backend: "dead_be",
			Tw: -1, Tc: -1, Tt: 0,
			Termination: Termination(CauseServerAbort, PhaseConnect), ActConn: 1, FeConn: 1,
		}, "127.0.0.1:35688 [23/Nov/2026:06:58:37.559] dead_fe dead_be/<NOSRV> -1/-1/0 0 SC 1/1/0/0/0 0/0"},
		{"killed by admin", SessionRecord{
			Client: netip.MustParseAddrPort("127.0.0.1:55484"), Accept: accept(7, 2, 44, 914),
			Frontend: "pg_fe", Backend: "pg_be", Server: "new1",
			Tw: 1 * ms, Tc: 0, Tt: 1021 * ms, BytesRead: 11,
			Termination: Termination(CauseKilled, PhaseNone), ActConn: 2, FeConn: 2, BeConn: 1,
		}, "127.0.0.1:55484 [23/Nov/2026:07:02:44.914] pg_fe pg_be/new1 1/0/1021 11 K- 2/2/1/0/0 0/0"},
		{"connect failed after 3 retries", SessionRecord{
			Client: netip.MustParseAddrPort("127.0.0.1:51124"), Accept: accept(7, 5, 51, 170),
			Frontend: "mysql", Backend: "mysql", Server: "my2",
			Tw: 1 * ms, Tc: -1, Tt: 3005 * ms,
			Termination: "SC", ActConn: 1, FeConn: 1, Retries: 3,
		}, "127.0.0.1:51124 [23/Nov/2026:07:05:51.170] mysql mysql/my2 1/-1/3005 0 SC 1/1/0/0/3 0/0"},
		{"redispatched prints + before retries", SessionRecord{
			Client: netip.MustParseAddrPort("10.0.0.7:40000"), Accept: accept(7, 5, 51, 170),
			Frontend: "mysql", Backend: "mysql", Server: "my1",
			Tw: 0, Tc: 2 * ms, Tt: 2010 * ms, BytesRead: 8,
			Termination: "--", ActConn: 3, FeConn: 2, BeConn: 2, SrvConn: 1, Retries: 1, Redispatched: true,
		}, "10.0.0.7:40000 [23/Nov/2026:07:05:51.170] mysql mysql/my1 0/2/2010 8 -- 3/2/2/1/+1 0/0"},
		{"queue timeout", SessionRecord{
			Client: netip.MustParseAddrPort("10.0.0.7:40001"), Accept: accept(0, 0, 0, 0),
			Frontend: "fe", Backend: "be", Server: "s1",
			Tw: 5000 * ms, Tc: -1, Tt: 5000 * ms,
			Termination: Termination(CauseServerTimeout, PhaseQueue), ActConn: 9, FeConn: 9, BeConn: 9, SrvConn: 4,
			SrvQueue: 2, BackendQueue: 5,
		}, "10.0.0.7:40001 [23/Nov/2026:00:00:00.000] fe be/s1 5000/-1/5000 0 sQ 9/9/9/4/0 2/5"},
		{"IPv6 client has no brackets", SessionRecord{
			Client: netip.MustParseAddrPort("[2001:db8::42]:52212"), Accept: accept(6, 58, 37, 5),
			Frontend: "pg_fe", Backend: "pg_be", Server: "pg1", Tw: 1 * ms, Tt: 3 * ms, BytesRead: 13,
			ActConn: 1, FeConn: 1,
		}, "2001:db8::42:52212 [23/Nov/2026:06:58:37.005] pg_fe pg_be/pg1 1/0/3 13 -- 1/1/0/0/0 0/0"},
		{"IPv4-mapped client as the kernel gives it", SessionRecord{
			Client: netip.MustParseAddrPort("[::ffff:127.0.0.1]:52212"), Accept: accept(6, 58, 37, 5),
			Frontend: "pg_fe", Backend: "pg_be", Server: "pg1", Tw: 1 * ms, Tt: 3 * ms, BytesRead: 13,
			ActConn: 1, FeConn: 1,
		}, "::ffff:127.0.0.1:52212 [23/Nov/2026:06:58:37.005] pg_fe pg_be/pg1 1/0/3 13 -- 1/1/0/0/0 0/0"},
		{"IPv6 zone is not printed", SessionRecord{
			Client: netip.MustParseAddrPort("[fe80::1%eth0]:52212"), Accept: accept(6, 58, 37, 5),
			Frontend: "f", Backend: "b", Server: "s",
		}, "fe80::1:52212 [23/Nov/2026:06:58:37.005] f b/s 0/0/0 0 -- 0/0/0/0/0 0/0"},
		{"timers are truncated to milliseconds", SessionRecord{
			Client: netip.MustParseAddrPort("127.0.0.1:1"), Accept: accept(6, 58, 37, 999),
			Frontend: "f", Backend: "b", Server: "s",
			Tw: 999 * time.Microsecond, Tc: 1999 * time.Microsecond, Tt: 3999999 * time.Nanosecond,
		}, "127.0.0.1:1 [23/Nov/2026:06:58:37.999] f b/s 0/1/3 0 -- 0/0/0/0/0 0/0"},
		{"unknown client and empty state", SessionRecord{
			Accept: accept(6, 58, 37, 0), Frontend: "f", Backend: "b",
		}, "-:- [23/Nov/2026:06:58:37.000] f b/<NOSRV> 0/0/0 0 -- 0/0/0/0/0 0/0"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := tt.rec.TCPLogLine(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// The date is the accept time in local time, whatever zone it came in.
func TestTCPLogLineLocalTime(t *testing.T) {
	at := time.Date(2026, 11, 23, 6, 58, 37, 512*int(ms), time.Local)
	rec := SessionRecord{Accept: at.UTC()}
	want := at.Format("[02/Jan/2006:15:04:05.000]")
	if got := rec.TCPLogLine(); got[4:4+len(want)] != want {
		t.Errorf("got %q; want the date %q", got, want)
	}
}

func TestIsNull(t *testing.T) {
	tests := []struct {
		desc          string
		read, written int64
		want          bool
	}{
		{"nothing either way", 0, 0, true},
		{"server spoke", 13, 0, false},
		{"client spoke", 0, 6, false},
		{"both", 13, 6, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r := SessionRecord{BytesRead: tt.read, BytesWritten: tt.written}
			if got := r.IsNull(); got != tt.want {
				t.Errorf("IsNull() = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestTermination(t *testing.T) {
	tests := []struct {
		c    Cause
		p    Phase
		want string
	}{
		{CauseNone, PhaseNone, "--"},
		{CauseServerAbort, PhaseConnect, "SC"},
		{CauseKilled, PhaseNone, "K-"},
		{CauseServerTimeout, PhaseQueue, "sQ"},
		{CauseClientTimeout, PhaseData, "cD"},
		{CauseClientAbort, PhaseData, "CD"},
		{CauseServerDown, PhaseData, "DD"},
		{CauseServerUp, PhaseData, "UD"},
		{CauseProxy, PhaseConnect, "PC"},
		{CauseResource, PhaseConnect, "RC"},
		{CauseInternal, PhaseData, "ID"},
		{CauseClientAbort, PhaseLast, "CL"},
		{CauseClientTimeout, PhaseRequest, "cR"},
	}
	for _, tt := range tests {
		if got := Termination(tt.c, tt.p); got != tt.want {
			t.Errorf("Termination(%q, %q) = %q; want %q", tt.c, tt.p, got, tt.want)
		}
	}
}

// A session line through `log stdout format raw` is what the transcripts
// show on HAProxy's stdout.
func TestTCPLogLineOnStdout(t *testing.T) {
	var out lockedBuffer
	l := newTestLogger(t, []config.LogTarget{{Address: "stdout", Format: "raw", Facility: "local0"}}, Options{Stdout: &out})
	rec := SessionRecord{
		Client: netip.MustParseAddrPort("127.0.0.1:47852"), Accept: accept(6, 58, 37, 550),
		Frontend: "w_fe", Backend: "weighted", Server: "w1",
		Tw: 1 * ms, Tt: 3 * ms, BytesRead: 5, ActConn: 1, FeConn: 1,
	}
	l.Log(Info, rec.TCPLogLine())
	if got, want := out.String(), "127.0.0.1:47852 [23/Nov/2026:06:58:37.550] w_fe weighted/w1 1/0/3 5 -- 1/1/0/0/0 0/0\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func ExampleSessionRecord_TCPLogLine() {
	rec := SessionRecord{
		Client:      netip.MustParseAddrPort("127.0.0.1:35688"),
		Accept:      time.Date(2026, 11, 23, 6, 58, 37, 559*int(time.Millisecond), time.Local),
		Frontend:    "dead_fe",
		Backend:     "dead_be",
		Tw:          -1, // never queued
		Tc:          -1, // never connected
		Termination: Termination(CauseServerAbort, PhaseConnect),
		ActConn:     1,
		FeConn:      1,
	}
	fmt.Println(rec.TCPLogLine())
	// Output: 127.0.0.1:35688 [23/Nov/2026:06:58:37.559] dead_fe dead_be/<NOSRV> -1/-1/0 0 SC 1/1/0/0/0 0/0
}
