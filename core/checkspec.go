package core

import (
	"fmt"
	"os"
	"strings"

	"pivot/core/config"
	"pivot/core/probe"
)

// newProbe turns a backend's check options into the check its servers
// run.
func newProbe(spec config.CheckSpec) (*probe.Check, error) {
	if spec.Role != "" {
		return newRoleProbe(spec)
	}
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

// newRoleProbe is a role check (pivot's `role` argument of pgsql-check,
// mysql-check and redis-check), with its password read once, now.
func newRoleProbe(spec config.CheckSpec) (*probe.Check, error) {
	cred := probe.Credentials{User: spec.User, Password: spec.Password, Database: spec.Database}
	switch {
	case spec.PasswordFile != "":
		b, err := os.ReadFile(spec.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("role check: password-file: %w", err)
		}
		cred.Password, _, _ = strings.Cut(string(b), "\n")
		cred.Password = strings.TrimRight(cred.Password, "\r")
	case spec.PasswordEnv != "":
		v, ok := os.LookupEnv(spec.PasswordEnv)
		if !ok {
			return nil, fmt.Errorf("role check: password-env: environment variable %s is not set", spec.PasswordEnv)
		}
		cred.Password = v
	}
	switch spec.Kind {
	case config.CheckPgSQL:
		if cred.Database == "" {
			cred.Database = "postgres"
		}
		return probe.PgSQLRole(spec.Role, cred), nil
	case config.CheckMySQL:
		return probe.MySQLRole(spec.Role, cred), nil
	case config.CheckRedis:
		return probe.RedisRole(spec.Role, cred), nil
	}
	return nil, fmt.Errorf("role check: not available for this check")
}
