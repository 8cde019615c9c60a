package logging

import (
	"fmt"
	"strconv"
	"time"
)

// format is a `log ... format <name>` line format. The header of each is
// built exactly as HAProxy 2.6 builds it (src/log.c, build_log_header).
type format int

const (
	// formatLocal is HAProxy's default: rfc3164 without the hostname,
	// `<PRI>Mmm _d hh:mm:ss TAG[PID]: MSG`.
	formatLocal format = iota
	// formatRFC3164 adds the hostname, "localhost" when none is set:
	// `<PRI>Mmm _d hh:mm:ss HOST TAG[PID]: MSG`.
	formatRFC3164
	// formatRFC5424 is `<PRI>1 ISOTIME HOST TAG PID - - MSG`, "-" for an
	// unset hostname (no MSGID, no structured data).
	formatRFC5424
	// formatPriority is `<PRI>MSG`.
	formatPriority
	// formatShort is `<SEV>MSG`: the level alone, without the facility,
	// which is what systemd's journal reads on stdout.
	formatShort
	// formatTimed is `<SEV>ISOTIME MSG`.
	formatTimed
	// formatISO is `ISOTIME MSG`.
	formatISO
	// formatRaw is the message alone.
	formatRaw
)

var formatNames = [...]string{"local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw"}

func (f format) String() string { return formatNames[f] }

// parseFormat reads a format name. An empty name is HAProxy's default:
// "local", or "rfc3164" once a hostname is set (log-send-hostname).
func parseFormat(name, hostname string) (format, error) {
	if name == "" {
		if hostname != "" {
			return formatRFC3164, nil
		}
		return formatLocal, nil
	}
	for i, n := range formatNames {
		if n == name {
			return format(i), nil
		}
	}
	return 0, fmt.Errorf("unknown log format %q; must be one of: rfc3164, rfc5424, local, priority, short, timed, iso, raw", name)
}

// Time layouts of the headers. The legacy one pads the day with a space
// ("Nov  3"); the ISO one always has microseconds and a numeric offset
// ("+00:00", never "Z"), as HAProxy's timeofday_as_iso_us.
const (
	legacyTimeLayout = "Jan _2 15:04:05"
	isoTimeLayout    = "2006-01-02T15:04:05.000000-07:00"
)

// identity is what the headers say about the sender.
type identity struct {
	tag      string // log-tag; "pivot" by default
	pid      string
	hostname string // log-send-hostname; empty when not sent
}

// appendLine appends one log line for msg to b: header, then the message,
// cut so that the whole is at most limit bytes. A negative limit means
// no limit. sev is the level written in the header (already raised to the
// target's minimum level).
func appendLine(b []byte, f format, facility int, sev Severity, now time.Time, id *identity, msg string, limit int) []byte {
	start := len(b)
	switch f {
	case formatLocal, formatRFC3164, formatRFC5424, formatPriority:
		b = appendPRI(b, facility*8+int(sev))
	case formatShort, formatTimed:
		b = appendPRI(b, int(sev))
	}

	switch f {
	case formatLocal, formatRFC3164:
		b = now.AppendFormat(b, legacyTimeLayout)
		b = append(b, ' ')
	case formatRFC5424:
		b = append(b, "1 "...)
		b = now.AppendFormat(b, isoTimeLayout)
		b = append(b, ' ')
	case formatTimed, formatISO:
		b = now.AppendFormat(b, isoTimeLayout)
		b = append(b, ' ')
	}

	switch f {
	case formatRFC3164:
		if id.hostname != "" {
			b = append(b, id.hostname...)
		} else {
			b = append(b, "localhost"...) // the field is mandatory in RFC 3164
		}
		b = append(b, ' ')
		b = appendLocalTag(b, id)
	case formatLocal:
		b = appendLocalTag(b, id)
	case formatRFC5424:
		b = appendNil(b, id.hostname)
		b = appendNil(b, id.tag)
		b = appendNil(b, id.pid)
		b = append(b, "- - "...) // no MSGID, no structured data
	}

	b = append(b, msg...)
	if limit >= 0 && len(b)-start > limit {
		b = b[:start+limit]
	}
	return b
}

// appendPRI appends "<n>".
func appendPRI(b []byte, n int) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '>')
}

// appendLocalTag appends "TAG[PID]: ", or nothing without a tag.
func appendLocalTag(b []byte, id *identity) []byte {
	if id.tag == "" {
		return b
	}
	b = append(b, id.tag...)
	if id.pid != "" {
		b = append(b, '[')
		b = append(b, id.pid...)
		b = append(b, ']')
	}
	return append(b, ": "...)
}

// appendNil appends an RFC 5424 header field and a space, "-" (NILVALUE)
// when it is empty.
func appendNil(b []byte, field string) []byte {
	if field == "" {
		field = "-"
	}
	b = append(b, field...)
	return append(b, ' ')
}
