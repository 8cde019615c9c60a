package config

import (
	"errors"
	"fmt"
	"strings"
)

// ParseServer reads the server part of an `add server` command: a name,
// an address and server keywords. As in HAProxy, a server added at
// runtime starts from the built-in defaults, not from `default-server`.
// The error lists every problem found, worded as in a configuration file
// but without file and line.
func ParseServer(name, addr string, keywords []string) (Server, error) {
	s := builtinDefaults().tmpl
	s.Name = name
	var problems []string
	report := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if err := checkName(name); err != nil {
		report("%s", err)
	}
	var err error
	if s.Host, s.Port, err = parseServerAddr(addr); err != nil {
		report("invalid address %q: %s", addr, err)
	}
	applyServerKeywords(&s, keywords, false, report)
	if len(problems) > 0 {
		return Server{}, errors.New(strings.Join(problems, "; "))
	}
	if s.FastInter == 0 {
		s.FastInter = s.Inter
	}
	if s.DownInter == 0 {
		s.DownInter = s.Inter
	}
	return s, nil
}
