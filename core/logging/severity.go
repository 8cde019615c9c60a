package logging

import (
	"fmt"
	"strings"
)

// Severity is a syslog level. Lower is more severe, as in syslog(3), so
// that a target's `level` keeps every message whose Severity is <= it.
type Severity int

// The eight syslog levels, in HAProxy's names.
const (
	Emerg   Severity = iota // system is unusable
	Alert                   // action must be taken immediately
	Crit                    // critical conditions
	Err                     // error conditions
	Warning                 // warning conditions
	Notice                  // normal but significant condition
	Info                    // informational, e.g. session logs
	Debug                   // debug-level messages
)

var severityNames = [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// ParseSeverity reads a level as written in a `log` line. Only HAProxy's
// eight names are accepted, so a configuration pivot takes is one HAProxy
// takes too.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if n == name {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown log level %q; must be one of: %s", name, strings.Join(severityNames[:], ", "))
}

// String returns the name ParseSeverity reads back.
func (s Severity) String() string {
	if s >= Emerg && s <= Debug {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

var facilityNames = [...]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// parseFacility returns the syslog facility number of name. HAProxy
// requires a facility on every `log` line; an empty one (a config built
// in code) means "user", syslog(3)'s default.
func parseFacility(name string) (int, error) {
	if name == "" {
		return 1, nil
	}
	for i, n := range facilityNames {
		if n == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown log facility %q; must be one of: %s", name, strings.Join(facilityNames[:], ", "))
}
