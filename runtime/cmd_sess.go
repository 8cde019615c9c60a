package runtime

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"pivot/core"
)

// sessPointer is how a session is named on the socket: HAProxy prints a
// pointer, pivot its id in the same hexadecimal shape.
func sessPointer(id uint64) string { return fmt.Sprintf("%#x", id) }

// parsePointer reads a session designator as HAProxy's strtoul(..., 0)
// does: 0x for hexadecimal, a leading 0 for octal, else decimal.
func parsePointer(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 0, 64)
	return n, err == nil && n != 0
}

// showSess is `show sess [<id>|all]`: one line per session, whose fixed
// part (`<ptr>: proto=... src=... fe=... be=... srv=...`) is HAProxy's.
func (c *adminConn) showSess(w io.Writer, args []string) {
	list := c.srv.core.Sessions()
	which := arg(args, 2)
	if which == "" {
		for _, s := range list {
			fmt.Fprintf(w, "%s: proto=%s src=%s fe=%s be=%s srv=%s age=%s bin=%d bout=%d\n",
				sessPointer(s.ID), proto(s), s.Client, s.Frontend, s.Backend, orNone(s.Server), age(s.Age), s.BytesIn, s.BytesOut)
		}
		return
	}
	id, ok := parsePointer(which)
	for _, s := range list {
		if which == "all" || (ok && s.ID == id) {
			writeSessDetail(w, s)
			if which != "all" {
				return
			}
		}
	}
	if which != "all" {
		reply(w, "Session not found.")
	}
}

func writeSessDetail(w io.Writer, s core.SessionInfo) {
	fmt.Fprintf(w, "%s: [%s] id=%d proto=%s source=%s\n", sessPointer(s.ID),
		time.Now().Add(-s.Age).Format("02/Jan/2006:15:04:05.000000"), s.ID, proto(s), s.Client)
	fmt.Fprintf(w, "  frontend=%s (mode=tcp)\n", s.Frontend)
	fmt.Fprintf(w, "  backend=%s (mode=tcp)\n", s.Backend)
	fmt.Fprintf(w, "  server=%s\n", orNone(s.Server))
	fmt.Fprintf(w, "  age=%s bytes_in=%d bytes_out=%d\n", age(s.Age), s.BytesIn, s.BytesOut)
}

func proto(s core.SessionInfo) string {
	if s.Client.Addr().Is6() {
		return "tcpv6"
	}
	return "tcpv4"
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// age prints a duration the way HAProxy's human_time does: 45s, 3m12s,
// 2h05m, 1d04h.
func age(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// shutdownSession is `shutdown session <id>`.
func (c *adminConn) shutdownSession(w io.Writer, args []string) {
	id, ok := parsePointer(strings.TrimSpace(arg(args, 2)))
	if !ok {
		reply(w, "Session pointer expected (use 'show sess').")
		return
	}
	if err := c.srv.core.ShutdownSession(id); err != nil {
		reply(w, "No such session (use 'show sess').")
	}
}
