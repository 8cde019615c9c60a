package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// serverKeyword is one keyword of a server or default-server line.
type serverKeyword struct {
	arg  bool // takes a value
	dflt bool // allowed on default-server
	set  func(s *Server, v string) error
}

// serverKeywords are the server options pivot implements.
var serverKeywords = map[string]serverKeyword{
	"check":     {false, true, func(s *Server, _ string) error { s.Check = true; return nil }},
	"no-check":  {false, true, func(s *Server, _ string) error { s.Check = false; return nil }},
	"inter":     {true, true, setTime(func(s *Server) *time.Duration { return &s.Inter }, true)},
	"fastinter": {true, true, setTime(func(s *Server) *time.Duration { return &s.FastInter }, true)},
	"downinter": {true, true, setTime(func(s *Server) *time.Duration { return &s.DownInter }, true)},
	"slowstart": {true, true, setTime(func(s *Server) *time.Duration { return &s.SlowStart }, false)},
	"rise":      {true, true, setInt(func(s *Server) *int { return &s.Rise }, 1, maxInt)},
	"fall":      {true, true, setInt(func(s *Server) *int { return &s.Fall }, 1, maxInt)},
	"weight":    {true, true, setInt(func(s *Server) *int { return &s.Weight }, 0, MaxWeight)},
	"maxconn":   {true, true, setInt(func(s *Server) *int { return &s.MaxConn }, 0, maxInt)},
	"maxqueue":  {true, true, setInt(func(s *Server) *int { return &s.MaxQueue }, 0, maxInt)},
	"id":        {true, false, setInt(func(s *Server) *int { return &s.ID }, 1, maxInt)},
	"port": {true, true, func(s *Server, v string) error {
		p, err := parsePort(v, 1)
		s.CheckPort = p
		return err
	}},
	"addr": {true, true, func(s *Server, v string) error {
		if _, err := parseIP(v); err != nil {
			return fmt.Errorf("%q is not an IP address", v)
		}
		s.CheckAddr = v
		return nil
	}},
	"agent-check":    {false, true, func(s *Server, _ string) error { s.Agent = true; return nil }},
	"no-agent-check": {false, true, func(s *Server, _ string) error { s.Agent = false; return nil }},
	"agent-inter":    {true, true, setTime(func(s *Server) *time.Duration { return &s.AgentInter }, true)},
	"agent-port": {true, true, func(s *Server, v string) error {
		p, err := parsePort(v, 1)
		s.AgentPort = p
		return err
	}},
	"agent-addr": {true, true, func(s *Server, v string) error {
		if _, err := parseIP(v); err != nil {
			return fmt.Errorf("%q is not an IP address", v)
		}
		s.AgentAddr = v
		return nil
	}},
	"agent-send": {true, true, func(s *Server, v string) error { s.AgentSend = v; return nil }},
	"track": {true, false, func(s *Server, v string) error {
		if v == "" || strings.HasSuffix(v, "/") || strings.HasPrefix(v, "/") {
			return fmt.Errorf("%q is not [<backend>/]<server>", v)
		}
		s.Track = v
		return nil
	}},
	"backup":   {false, true, func(s *Server, _ string) error { s.Backup = true; return nil }},
	"disabled": {false, true, func(s *Server, _ string) error { s.Disabled = true; return nil }},
	"enabled":  {false, true, func(s *Server, _ string) error { s.Disabled = false; return nil }},
	"on-marked-down": {true, true, func(s *Server, v string) error {
		if v != "shutdown-sessions" {
			return fmt.Errorf("unknown action %q (pivot supports shutdown-sessions)", v)
		}
		s.OnMarkedDownShutdown = true
		return nil
	}},
	"on-marked-up": {true, true, func(s *Server, v string) error {
		if v != "shutdown-backup-sessions" {
			return fmt.Errorf("unknown action %q (pivot supports shutdown-backup-sessions)", v)
		}
		s.OnMarkedUpShutdownBackup = true
		return nil
	}},
}

func setInt(field func(*Server) *int, lo, hi int) func(*Server, string) error {
	return func(s *Server, v string) error {
		n, err := parseInt(v, lo, hi)
		*field(s) = n
		return err
	}
}

func setTime(field func(*Server) *time.Duration, positive bool) func(*Server, string) error {
	return func(s *Server, v string) error {
		d, err := parseTime(v)
		if err == nil && positive && d == 0 {
			err = fmt.Errorf("time must be above zero, got %q", v)
		}
		*field(s) = d
		return err
	}
}

// errCheckAndTrack: a tracking server takes its health from the server it
// tracks, so a check of its own would contradict it.
const errCheckAndTrack = "check and track cannot be used together: a tracking server takes its state from the server it tracks (remove check, or add no-check after a default-server check)"

// errAgentPort: an agent listens on a port of its own, never the
// service's.
const errAgentPort = "agent-check needs agent-port (the port the agent listens on)"

// keywordProblem is something wrong with one keyword of a server line.
// Each caller words it for where the line came from: a configuration
// file (configText) or an `add server` command (cliText).
type keywordProblem struct {
	kind      problemKind
	kw, value string
	err       error // badValue: why the value was refused
}

type problemKind int

const (
	unknownKeyword problemKind = iota
	missingValue
	notOnDefault
	badValue
)

// configText words a problem for a configuration file error.
func (p keywordProblem) configText() string {
	switch p.kind {
	case unknownKeyword:
		if best := suggestKeyword(p.kw); best != "" {
			return fmt.Sprintf("unknown server keyword %q; did you mean %q?", p.kw, best)
		}
		return fmt.Sprintf("unknown server keyword %q", p.kw)
	case missingValue:
		return p.kw + ": missing value"
	case notOnDefault:
		return p.kw + " is not allowed on default-server"
	}
	return fmt.Sprintf("%s: %s", p.kw, p.err)
}

// applyServerKeywords applies the options of a server or default-server
// line to s and returns what was wrong. It stops at an unknown keyword or
// a missing value: the words after it may be its arguments.
func applyServerKeywords(s *Server, args []string, isDefault bool) []keywordProblem {
	var problems []keywordProblem
	for i := 0; i < len(args); i++ {
		kw := args[i]
		k, ok := serverKeywords[kw]
		if !ok {
			return append(problems, keywordProblem{kind: unknownKeyword, kw: kw})
		}
		v := ""
		if k.arg {
			if i+1 >= len(args) {
				return append(problems, keywordProblem{kind: missingValue, kw: kw})
			}
			i++
			v = args[i]
		}
		if isDefault && !k.dflt {
			problems = append(problems, keywordProblem{kind: notOnDefault, kw: kw})
			continue
		}
		if err := k.set(s, v); err != nil {
			problems = append(problems, keywordProblem{kind: badValue, kw: kw, value: v, err: err})
		}
	}
	return problems
}

// suggestKeyword is the server keyword that looks most like word, or ""
// when none is close: a typo gets a hint, nonsense does not.
func suggestKeyword(word string) string {
	names := make([]string, 0, len(serverKeywords))
	for kw := range serverKeywords {
		names = append(names, kw)
	}
	slices.Sort(names)
	return closestWord(word, names)
}

// parseServer reads `server NAME ADDR [options]`, starting from what
// default-server lines set.
func parseServer(c *lineCtx, args []string) {
	if !c.nargs(args, 2, -1) {
		return
	}
	name := args[0]
	report := func(format string, a ...any) {
		c.p.errorAt(c.pos, c.kw, "server %q in %s: %s", name, c.p.where(), fmt.Sprintf(format, a...))
	}
	if err := checkName(name); err != nil {
		c.errorf("%s", err)
		return
	}
	s := c.d.tmpl
	s.Pos, s.Name = c.pos, name
	var err error
	if s.Host, s.Port, err = parseServerAddr(args[1]); err != nil {
		report("invalid address %q: %s", args[1], err)
	}
	badPort := false
	for _, pr := range applyServerKeywords(&s, args[2:], false) {
		report("%s", pr.configText())
		badPort = badPort || pr.kw == "agent-port"
	}
	if s.Check && s.Track != "" {
		report("%s", errCheckAndTrack)
	}
	if s.Agent && s.AgentPort == 0 && !badPort {
		report("%s", errAgentPort)
	}
	c.d.px.Servers = append(c.d.px.Servers, &s)
}

// parseDefaultServer reads `default-server [options]` into the template
// later servers of the section, or of sections using these defaults,
// start from.
func parseDefaultServer(c *lineCtx, args []string) {
	for _, pr := range applyServerKeywords(&c.d.tmpl, args, true) {
		c.errorf("%s", pr.configText())
	}
}
