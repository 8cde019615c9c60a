package core

import (
	"fmt"

	"pivot/core/config"
	"pivot/core/probe"
)

// newProbe turns a backend's check options into the check its servers
// run.
func newProbe(spec config.CheckSpec) (*probe.Check, error) {
	switch spec.Kind {
	case config.CheckPgSQL:
		return probe.PgSQL(spec.User), nil
	case config.CheckMySQL:
		return probe.MySQL(spec.User, spec.MySQLPre41), nil
	case config.CheckRedis:
		return probe.Redis(), nil
	case config.CheckHTTP:
		var exp *probe.HTTPExpect
		if e := spec.HTTPExpect; e != nil {
			exp = &probe.HTTPExpect{Match: e.Match, Not: e.Not, Pattern: e.Pattern}
		}
		return probe.HTTP(spec.HTTPMethod, spec.HTTPURI, spec.HTTPVersion, exp)
	case config.CheckTCP:
		return tcpCheckRules(spec.Rules)
	}
	return &probe.Check{Builtin: true}, nil // connect only
}

// tcpCheckRules is `option tcp-check` with its rules.
func tcpCheckRules(rules []config.TCPCheckRule) (*probe.Check, error) {
	c := &probe.Check{}
	for _, r := range rules {
		var st probe.Step
		switch r.Action {
		case "connect":
			st = probe.Step{Action: probe.Connect, Port: r.Port}
		case "send":
			st = probe.Step{Action: probe.Send, Data: []byte(r.Data)}
		case "send-binary":
			b, err := probe.DecodeHex(r.Data)
			if err != nil {
				return nil, err
			}
			st = probe.Step{Action: probe.Send, Data: b}
		case "comment":
			st = probe.Step{Action: probe.Comment, Text: r.Comment}
		case "expect":
			m := &probe.Match{Kind: r.Match, Pattern: r.Pattern, Not: r.Not}
			if err := m.Compile(); err != nil {
				return nil, err
			}
			st = probe.Step{Action: probe.Expect, Match: m}
		default:
			return nil, fmt.Errorf("tcp-check %s: unknown action", r.Action)
		}
		c.Steps = append(c.Steps, st)
	}
	return c, nil
}
