package config

import (
	"fmt"
	"strings"
	"time"
)

// sections is a set of section kinds where a keyword may appear.
type sections uint8

const (
	inDefaults sections = 1 << iota
	inFrontend
	inListen
	inBackend

	inAll      = inDefaults | inFrontend | inListen | inBackend
	inProxies  = inFrontend | inListen | inBackend
	inFrontish = inDefaults | inFrontend | inListen // frontend side
	inBackish  = inDefaults | inListen | inBackend  // backend side
)

// has reports whether the set includes the section kind sec.
func (s sections) has(sec sectionKind) bool {
	switch sec {
	case secDefaults:
		return s&inDefaults != 0
	case secFrontend:
		return s&inFrontend != 0
	case secListen:
		return s&inListen != 0
	case secBackend:
		return s&inBackend != 0
	}
	return false
}

// String lists the sections, for "only in ..." messages.
func (s sections) String() string {
	var names []string
	for _, n := range []struct {
		bit  sections
		name string
	}{{inDefaults, "defaults"}, {inFrontend, "frontend"}, {inListen, "listen"}, {inBackend, "backend"}} {
		if s&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	switch len(names) {
	case 0:
		return "no section"
	case 1:
		return names[0] + " sections"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " sections"
}

// lineCtx is one keyword line being applied: where it is, which keyword,
// and helpers that report a bad argument in a uniform way.
type lineCtx struct {
	p     *parser
	d     *draft // nil in global
	pos   Pos
	kw    string // the keyword as named in messages: "timeout connect"
	usage string // "timeout connect <time>"
	neg   bool   // the line started with "no"
}

// errorf records `"KW" in SECTION: MSG`.
func (c *lineCtx) errorf(format string, args ...any) {
	c.p.errorAt(c.pos, c.kw, "%q in %s: %s", c.kw, c.p.where(), fmt.Sprintf(format, args...))
}

// nargs checks that args has between lo and hi words (hi < 0: no limit).
func (c *lineCtx) nargs(args []string, lo, hi int) bool {
	switch {
	case len(args) < lo:
		c.errorf("missing argument (usage: %s)", c.usage)
		return false
	case hi >= 0 && len(args) > hi:
		c.errorf("unexpected argument %q (usage: %s)", args[hi], c.usage)
		return false
	}
	return true
}

// int parses a number in [lo, hi], reporting an error if it is not one.
func (c *lineCtx) int(s string, lo, hi int) (int, bool) {
	n, err := parseInt(s, lo, hi)
	if err != nil {
		c.errorf("%s", err)
		return 0, false
	}
	return n, true
}

// time parses a time value; positive requires it to be above zero.
func (c *lineCtx) time(s string, positive bool) (time.Duration, bool) {
	d, err := parseTime(s)
	if err != nil {
		c.errorf("%s", err)
		return 0, false
	}
	if positive && d == 0 {
		c.errorf("time must be above zero, got %q", s)
		return 0, false
	}
	return d, true
}
