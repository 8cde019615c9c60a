package probe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// PgSQL is `option pgsql-check user U`: a startup message for user U;
// any authentication request ('R') means PostgreSQL answers, an error
// ('E') is reported with its text.
func PgSQL(user string) *Check {
	msg := binary.BigEndian.AppendUint32(nil, uint32(15+len(user)))
	msg = binary.BigEndian.AppendUint32(msg, 3<<16) // protocol 3.0
	msg = append(msg, "user\x00"+user+"\x00\x00"...)
	return &Check{Builtin: true, Steps: []Step{
		{Action: Connect},
		{Action: Send, Data: msg},
		{Action: Expect, Match: mustCompile(&Match{Kind: "rstring", Pattern: "^E", Not: true, MinRecv: 5,
			Err: L7Rsp, OnError: func(got []byte) string { return cString(got, 6) }})},
		{Action: Expect, Match: mustCompile(&Match{Kind: "rbinary", Pattern: "^52000000[A-Z0-9]{2}000000(00|02|03|04|05|06|07|09|0A)", MinRecv: 9,
			Err: L7Sts, OnSuccess: "PostgreSQL server is ok", OnError: fixed("PostgreSQL unknown error")})},
	}}
}

// Redis is `option redis-check`: PING must get +PONG.
func Redis() *Check {
	return &Check{Builtin: true, Steps: []Step{
		{Action: Connect},
		{Action: Send, Data: []byte("*1\r\n$4\r\nPING\r\n")},
		{Action: Expect, Match: mustCompile(&Match{Kind: "string", Pattern: "+PONG",
			Err: L7Sts, OnSuccess: "Redis server is ok", OnError: func(got []byte) string { return cutCRLF(string(got)) }})},
	}}
}

// MySQL is `option mysql-check [user U [pre-41]]`: the server's greeting
// must be a handshake, not an error; with a user, a login without
// password must be accepted (then the check quits cleanly).
func MySQL(user string, pre41 bool) *Check {
	steps := []Step{{Action: Connect}}
	if user != "" {
		var body []byte
		if pre41 {
			body = append([]byte{0x00, 0x80, 0x00, 0x00, 0x01}, user...)
		} else {
			body = append([]byte{0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21}, make([]byte, 23)...)
			body = append(body, user...)
		}
		body = append(body, 0x00, 0x00)
		pkt := []byte{byte(len(body)), byte(len(body) >> 8), byte(len(body) >> 16), 1}
		pkt = append(pkt, body...)
		pkt = append(pkt, 0x01, 0x00, 0x00, 0x00, 0x01) // COM_QUIT
		steps = append(steps, Step{Action: Send, Data: pkt})
	}
	final := user == ""
	steps = append(steps, Step{Action: Expect, Match: mustCompile(&Match{Kind: "custom", Custom: func(got []byte, eof bool) (Result, bool) {
		p, rest, ok := mysqlPacket(got)
		if !ok {
			return mysqlIncomplete(got, eof)
		}
		if len(p) > 0 && p[0] == 0xff {
			return mysqlError(p), true
		}
		if final {
			return Result{Status: L7OK}, true
		}
		// The answer to the login follows the handshake.
		p, _, ok = mysqlPacket(rest)
		if !ok {
			return mysqlIncomplete(rest, eof)
		}
		if len(p) > 0 && p[0] == 0xff {
			return mysqlError(p), true
		}
		return Result{Status: L7OK}, true
	}})})
	return &Check{Builtin: true, Steps: steps}
}

// mysqlPacket splits the first packet off b: its payload and what
// follows; ok is false until it is complete.
func mysqlPacket(b []byte) (payload, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	if len(b) < 4+n {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

func mysqlIncomplete(got []byte, eof bool) (Result, bool) {
	if !eof {
		return Result{}, false
	}
	return Result{Status: L7Rsp}, true
}

// mysqlError is an ERR packet as HAProxy reports it: L7STS, the error
// number as the code, and the rest (SQL state included) as the detail.
func mysqlError(p []byte) Result {
	if len(p) < 3 {
		return Result{Status: L7Sts}
	}
	return Result{Status: L7Sts, Code: int(p[1]) | int(p[2])<<8, Info: string(p[3:])}
}

// HTTPExpect is what an HTTP check wants from the answer: a status (list
// of codes and ranges, or a regular expression over the code) or a
// string (or regular expression) in the body. Nil accepts 2xx and 3xx.
type HTTPExpect struct {
	Match   string // "status", "rstatus", "string", "rstring"
	Not     bool
	Pattern string
	re      *regexp.Regexp
}

// HTTP is `option httpchk [METHOD] [URI] [VERSION]` with its optional
// `http-check expect`: one request on a fresh connection, judged on the
// status line (and body for string expectations).
func HTTP(method, uri, version string, exp *HTTPExpect) (*Check, error) {
	if method == "" {
		method = "OPTIONS"
	}
	if uri == "" {
		uri = "/"
	}
	if version == "" {
		version = "HTTP/1.0"
	}
	if exp != nil && (exp.Match == "rstatus" || exp.Match == "rstring") {
		re, err := regexp.Compile(exp.Pattern)
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression %q: %v", exp.Pattern, err)
		}
		exp.re = re
	}
	req := method + " " + uri + " " + version + "\r\n\r\n"
	return &Check{Builtin: true, Steps: []Step{
		{Action: Connect},
		{Action: Send, Data: []byte(req)},
		{Action: Expect, Match: mustCompile(&Match{Kind: "custom", Custom: func(got []byte, eof bool) (Result, bool) {
			return judgeHTTP(got, eof, exp)
		}})},
	}}, nil
}

func judgeHTTP(got []byte, eof bool, exp *HTTPExpect) (Result, bool) {
	line, _, complete := bytes.Cut(got, []byte("\r\n"))
	if !complete {
		if line, _, complete = bytes.Cut(got, []byte("\n")); !complete && !eof {
			return Result{}, false
		}
	}
	f := strings.SplitN(string(line), " ", 3)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") || len(f[1]) != 3 {
		return Result{Status: L7Rsp}, true
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return Result{Status: L7Rsp}, true
	}
	reason := ""
	if len(f) == 3 {
		reason = f[2]
	}
	if exp != nil && (exp.Match == "string" || exp.Match == "rstring") {
		if !eof {
			return Result{}, false // the body ends with the connection
		}
		_, body, _ := bytes.Cut(got, []byte("\r\n\r\n"))
		hit := exp.Match == "string" && bytes.Contains(body, []byte(exp.Pattern)) ||
			exp.Match == "rstring" && exp.re.Match(body)
		if hit != exp.Not {
			return Result{Status: L7OK, Code: code}, true
		}
		return Result{Status: L7Rsp, Code: code, Info: "HTTP content check did not match"}, true
	}
	ok := code >= 200 && code < 400
	if exp != nil {
		ok = exp.statusMatches(code) != exp.Not
	}
	if ok {
		return Result{Status: L7OK, Code: code}, true
	}
	return Result{Status: L7Sts, Code: code, Info: reason}, true
}

func (e *HTTPExpect) statusMatches(code int) bool {
	if e.Match == "rstatus" {
		return e.re.MatchString(strconv.Itoa(code))
	}
	for _, part := range strings.Split(e.Pattern, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		l, _ := strconv.Atoi(lo)
		h := l
		if isRange {
			h, _ = strconv.Atoi(hi)
		}
		if code >= l && code <= h {
			return true
		}
	}
	return false
}

func mustCompile(m *Match) *Match {
	if err := m.Compile(); err != nil {
		panic(err)
	}
	return m
}

func fixed(s string) func([]byte) string { return func([]byte) string { return s } }

// cString is the NUL-terminated string at offset off of b.
func cString(b []byte, off int) string {
	if off >= len(b) {
		return ""
	}
	s, _, _ := bytes.Cut(b[off:], []byte{0})
	return string(s)
}

func cutCRLF(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
