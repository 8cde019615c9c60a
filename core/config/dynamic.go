package config

import (
	"errors"
	"fmt"
	"strings"
)

// ParseServer reads the server part of an `add server` command: a name,
// an address and server keywords. As in HAProxy, a server added at
// runtime starts from the built-in defaults, not from `default-server`.
// The error is the first problem found, worded as HAProxy's CLI words it
// where HAProxy has the same problem, and ready to print as it is.
func ParseServer(name, addr string, keywords []string) (Server, error) {
	s := builtinDefaults().tmpl
	s.Name = name
	if err := checkName(name); err != nil {
		return Server{}, fmt.Errorf("%s.", err)
	}
	if msg := portCharError(addr); msg != "" {
		return Server{}, errors.New(msg)
	}
	var err error
	if s.Host, s.Port, err = parseServerAddr(addr); err != nil {
		return Server{}, fmt.Errorf("invalid address %q: %s.", addr, err)
	}
	if problems := applyServerKeywords(&s, keywords, false); len(problems) > 0 {
		return Server{}, errors.New(problems[0].cliText(name))
	}
	if s.Check && s.Track != "" {
		return Server{}, errors.New("unable to enable checks and tracking at the same time!")
	}
	if s.Agent && s.AgentPort == 0 {
		return Server{}, errors.New(errAgentPort + ".")
	}
	s.IDForced = s.ID != 0
	if s.FastInter == 0 {
		s.FastInter = s.Inter
	}
	if s.DownInter == 0 {
		s.DownInter = s.Inter
	}
	return s, nil
}

// cliText words a problem as HAProxy's `add server` does.
func (p keywordProblem) cliText(server string) string {
	switch {
	case p.kind == unknownKeyword:
		if best := suggestKeyword(p.kw); best != "" {
			return fmt.Sprintf("unknown keyword '%s'; did you mean '%s' maybe ?", p.kw, best)
		}
		return fmt.Sprintf("unknown keyword '%s'.", p.kw)
	case p.kind == badValue && p.kw == "weight":
		return fmt.Sprintf("weight of server %s is not within 0 and %d (%s)..", server, MaxWeight, p.value)
	}
	return p.configText() + "."
}

// portCharError is HAProxy's complaint about a port with a character
// that is not a digit ("host:x"), or "" when there is none.
func portCharError(addr string) string {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || strings.Count(addr, ":") > 1 && !strings.Contains(addr, "]") {
		return "" // no port, or a bare IPv6 address
	}
	port := addr[i+1:]
	if strings.HasPrefix(port, "+") || strings.HasPrefix(port, "-") {
		port = port[1:]
	}
	for j := 0; j < len(port); j++ {
		if port[j] < '0' || port[j] > '9' {
			return fmt.Sprintf("invalid character '%c' in port number '%s' in '%s'\n", port[j], addr[i+1:], addr)
		}
	}
	return ""
}
