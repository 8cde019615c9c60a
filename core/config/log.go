package config

import (
	"errors"
	"fmt"
	"strings"
)

// logFacilities are the syslog facility names, as HAProxy knows them.
var logFacilities = []string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// logLevels are the syslog levels, most severe first.
var logLevels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// logFormats are the line formats of `log ... format F`.
var logFormats = []string{"local", "rfc3164", "rfc5424", "raw", "short", "priority", "timed", "iso"}

const logUsage = "log ADDR [len N] [format FORMAT] FACILITY [LEVEL [MINLEVEL]]"

// parseLogTarget reads the words after `log` (other than `global`).
func parseLogTarget(pos Pos, args []string) (LogTarget, error) {
	t := LogTarget{Pos: pos}
	if len(args) == 0 {
		return t, fmt.Errorf("missing address (usage: %s)", logUsage)
	}
	t.Address = args[0]
	if err := checkLogAddr(t.Address); err != nil {
		return t, fmt.Errorf("invalid address %q: %s", t.Address, err)
	}
	args = args[1:]
	seen := map[string]bool{}
	for len(args) > 0 && (args[0] == "len" || args[0] == "format" || args[0] == "sample") {
		opt := args[0]
		if opt == "sample" {
			return t, errors.New("sample is not supported: pivot sends every log line")
		}
		if seen[opt] {
			return t, fmt.Errorf("%s given twice", opt)
		}
		seen[opt] = true
		if len(args) < 2 {
			return t, fmt.Errorf("%s: missing value (usage: %s)", opt, logUsage)
		}
		v := args[1]
		args = args[2:]
		if opt == "len" {
			n, err := parseInt(v, 80, 65535)
			if err != nil {
				return t, fmt.Errorf("len: %s", err)
			}
			t.Len = n
			continue
		}
		if !oneOf(v, logFormats) {
			return t, fmt.Errorf("unknown format %q (must be one of %s)", v, strings.Join(logFormats, ", "))
		}
		t.Format = v
	}
	if len(args) == 0 {
		return t, fmt.Errorf("missing facility (usage: %s)", logUsage)
	}
	if !oneOf(args[0], logFacilities) {
		return t, fmt.Errorf("unknown facility %q (must be one of %s)", args[0], strings.Join(logFacilities, ", "))
	}
	t.Facility = args[0]
	for i, v := range args[1:] {
		if i == 2 {
			return t, fmt.Errorf("unexpected argument %q (usage: %s)", v, logUsage)
		}
		if !oneOf(v, logLevels) {
			return t, fmt.Errorf("unknown level %q (must be one of %s)", v, strings.Join(logLevels, ", "))
		}
		if i == 0 {
			t.Level = v
		} else {
			t.MinLevel = v
		}
	}
	return t, nil
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// checkLogAddr accepts stdout, stderr, a Unix socket path, and
// [udp@|udp4@|udp6@]HOST[:PORT] (port 514 when absent).
func checkLogAddr(a string) error {
	if a == "stdout" || a == "stderr" || strings.HasPrefix(a, "/") {
		return nil
	}
	prefix, rest := cutPrefix(a)
	switch prefix {
	case "", "udp", "udp4", "udp6":
	case "tcp", "tcp4", "tcp6", "ring", "fd", "unix":
		return fmt.Errorf("%s@ log targets are not supported (use udp, a unix socket path, stdout or stderr)", prefix)
	default:
		return fmt.Errorf("unknown address prefix %q (use udp@, udp4@ or udp6@)", prefix+"@")
	}
	host, port, hasPort, err := splitHostPort(rest)
	if err != nil {
		return err
	}
	if host == "" {
		return errors.New("missing host")
	}
	if ip, err := parseIP(host); err == nil {
		if prefix == "udp4" && !ip.Is4() || prefix == "udp6" && !ip.Is6() {
			return fmt.Errorf("%s is not an address of the %s@ family", host, prefix)
		}
	} else if err := checkHostName(host); err != nil {
		return err
	}
	if hasPort {
		if _, err := parsePort(port, 1); err != nil {
			return err
		}
	}
	return nil
}

// parseProxyLog reads `log global`, `log ADDR ...` and `no log` in a
// proxy or defaults section.
func parseProxyLog(c *lineCtx, args []string) {
	if c.neg {
		if c.nargs(args, 0, 0) {
			c.d.logs = nil
		}
		return
	}
	if len(args) > 0 && args[0] == "global" {
		if c.nargs(args, 1, 1) {
			c.d.logs = append(c.d.logs, logEntry{global: true})
		}
		return
	}
	t, err := parseLogTarget(c.pos, args)
	if err != nil {
		c.errorf("%s", err)
		return
	}
	c.d.logs = append(c.d.logs, logEntry{target: t})
}
