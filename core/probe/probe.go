// Package probe runs one health check of a server: a TCP connect, or a
// sequence of steps that connect, send and expect (HAProxy's tcp-check),
// in which the PostgreSQL, MySQL/MariaDB, Redis and HTTP checks are
// written. It knows nothing of servers or their state: it dials, talks
// and returns a Result worded as HAProxy words its check results.
package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"syscall"
	"time"
	"unicode"
)

// Status is a check result code. The numbers are HAProxy's (`show servers
// state` prints them), so callers may convert them as they are.
type Status uint8

// The result codes a check can end with.
const (
	SockErr Status = 5  // SOCKERR: the socket could not be used
	L4OK    Status = 6  // L4OK: the connection was accepted
	L4Tout  Status = 7  // L4TOUT: connecting timed out
	L4Con   Status = 8  // L4CON: connecting failed (refused, unreachable)
	L6OK    Status = 9  // L6OK
	L6Tout  Status = 10 // L6TOUT
	L6Rsp   Status = 11 // L6RSP
	L7Tout  Status = 12 // L7TOUT: no (complete) answer in time
	L7Rsp   Status = 13 // L7RSP: an answer that is not the protocol
	L7OK    Status = 15 // L7OK: the expected answer
	L7OKC   Status = 16 // L7OKC: conditionally passed
	L7Sts   Status = 17 // L7STS: the protocol, with a failure status
)

// Passed reports whether the status counts as a successful check.
func (s Status) Passed() bool { return s == L4OK || s == L6OK || s == L7OK || s == L7OKC }

// Result is the outcome of one check.
type Result struct {
	Status Status
	// Info is the detail HAProxy shows in last_chk: an error text, the
	// server's answer, or what the check says on success.
	Info string
	// LogInfo is a detail only the state-change log shows (where a
	// tcp-check timed out); last_chk stays empty then, as in HAProxy.
	LogInfo string
	// Code is the layer 7 status (an HTTP status), 0 when there is none.
	Code int
	// Definitive says the answer will not change by itself (a server in
	// the wrong role): the server is taken down at once.
	Definitive bool
	// Took is how long the check ran, connect included.
	Took time.Duration
	// Connected says a connection was established; Sent and Received
	// count the bytes of the exchange (HAProxy counts an HTTP check's in
	// its HTTP/1 statistics).
	Connected      bool
	Sent, Received int
}

// Action is what one step does.
type Action int

// The actions of a check sequence.
const (
	Connect Action = iota // open (or reopen) the connection
	Send                  // write Data
	Expect                // read until Match decides
	Comment               // names the following steps in error texts
)

// Step is one action of a check.
type Step struct {
	Action Action
	// Port is where Connect connects; 0 keeps the check's port.
	Port int
	// Data is what Send writes.
	Data []byte
	// Match decides an Expect.
	Match *Match
	// Text is a Comment's text.
	Text string
}

// Match is the condition of an Expect step.
type Match struct {
	// Kind is "string", "rstring", "binary", "rbinary", or "custom".
	Kind string
	// Pattern is the string, regular expression or hex string as written.
	Pattern string
	// Not inverts the match ("expect !string ...").
	Not bool
	// MinRecv waits for this many bytes before judging.
	MinRecv int
	// OK, Err and Tout are the statuses on success, failure and timeout
	// (defaults L7OK, L7RSP, L7TOUT).
	OK, Err, Tout Status
	// OnSuccess is the info on success; OnError, when set, words a
	// failure from what was received.
	OnSuccess string
	OnError   func(got []byte) string
	// Custom judges protocols no pattern can (MySQL's handshake, HTTP):
	// it returns done=false to wait for more data.
	Custom func(got []byte, eof bool) (r Result, done bool)

	re  *regexp.Regexp
	bin []byte
}

// Compile checks a match's pattern and prepares it.
func (m *Match) Compile() error {
	switch m.Kind {
	case "string", "custom":
	case "rstring":
		re, err := regexp.Compile(m.Pattern)
		if err != nil {
			return fmt.Errorf("invalid regular expression %q: %v", m.Pattern, err)
		}
		m.re = re
	case "binary":
		b, err := DecodeHex(m.Pattern)
		if err != nil {
			return err
		}
		m.bin = b
	case "rbinary":
		// The regular expression applies to the hex form of the data,
		// upper case, as HAProxy does.
		re, err := regexp.Compile(m.Pattern)
		if err != nil {
			return fmt.Errorf("invalid regular expression %q: %v", m.Pattern, err)
		}
		m.re = re
	default:
		return fmt.Errorf("unknown match %q", m.Kind)
	}
	if m.OK == 0 {
		m.OK = L7OK
	}
	if m.Err == 0 {
		m.Err = L7Rsp
	}
	if m.Tout == 0 {
		m.Tout = L7Tout
	}
	return nil
}

// DecodeHex reads a hex string such as "50494e470d0a".
func DecodeHex(s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("hex string %q has an odd number of digits", s)
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("%q is not a hex string", s)
		}
		out[i] = byte(v)
	}
	return out, nil
}

// found reports whether the pattern occurs in got.
func (m *Match) found(got []byte) bool {
	switch m.Kind {
	case "string":
		return bytes.Contains(got, []byte(m.Pattern))
	case "rstring":
		return m.re.Match(got)
	case "binary":
		return bytes.Contains(got, m.bin)
	case "rbinary":
		return m.re.MatchString(fmt.Sprintf("%X", got))
	}
	return false
}

// Check is a whole check: its steps, run in order on one connection.
type Check struct {
	// Steps run in order; without a leading Connect, the check connects
	// first. No steps at all is a plain connect (L4OK).
	Steps []Step
	// Builtin marks a plain connect and the checks of `option
	// pgsql-check` and the like; the others are `option tcp-check` rule
	// sets, whose failures say at which step they happened.
	Builtin bool
	// role, when set, is the whole check (a role check, see roles.go).
	role roleCheck
}

// IsRoleCheck reports whether the check asks the server for its role: its
// servers start out of rotation until it has passed once.
func (c *Check) IsRoleCheck() bool { return c.role != nil }

// Timeouts bound a check. Connect bounds connecting; Read, when set
// (`timeout check`), bounds the exchange once connected, else Connect
// bounds the whole check.
type Timeouts struct {
	Connect, Read time.Duration
}

// Run checks target ("ip:port").
func (c *Check) Run(ctx context.Context, target string, to Timeouts) Result {
	start := time.Now()
	if c.role != nil {
		ctx, cancel := context.WithTimeout(ctx, to.Connect+to.Read)
		defer cancel()
		r := c.role(ctx, target)
		r.Took = time.Since(start)
		return r
	}
	var io ioCount
	r := c.run(ctx, target, to, &io)
	r.Took = time.Since(start)
	r.Connected, r.Sent, r.Received = io.connected, io.sent, io.received
	return r
}

// ioCount is what a check moved.
type ioCount struct {
	connected      bool
	sent, received int
}

func (c *Check) run(ctx context.Context, target string, to Timeouts, io *ioCount) Result {
	deadline := time.Now().Add(to.Connect)
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return Result{Status: SockErr, Info: err.Error()}
	}
	steps := c.Steps
	implicit := 0
	if len(steps) == 0 || steps[0].Action != Connect {
		steps = append([]Step{{Action: Connect}}, steps...)
		implicit = 1 // HAProxy numbers the configured rules only
	}
	var conn net.Conn
	unwatch := func() bool { return false }
	defer func() {
		unwatch()
		if conn != nil {
			conn.Close()
		}
	}()
	var got []byte
	eof := false
	comment := ""
	expects := 0
	last := Result{Status: L4OK}
	for i, st := range steps {
		step := i + 1 - implicit
		switch st.Action {
		case Comment:
			comment = st.Text
		case Connect:
			if conn != nil {
				unwatch()
				conn.Close()
			}
			addr := target
			if st.Port != 0 {
				addr = net.JoinHostPort(host, strconv.Itoa(st.Port))
			}
			dctx, cancel := context.WithDeadline(ctx, deadline)
			var d net.Dialer
			conn, err = d.DialContext(dctx, "tcp", addr)
			cancel()
			if err != nil {
				r := connectError(err)
				if !c.Builtin && r.Status == L4Con {
					// A tcp-check says at which step it failed.
					if implicit == 1 && i == 0 {
						r.Info += " at initial connection step of tcp-check"
					} else if st.Port != 0 {
						r.Info += fmt.Sprintf(" at step %d of tcp-check (connect port %d)", step, st.Port)
					} else {
						r.Info += fmt.Sprintf(" at step %d of tcp-check (connect)", step)
					}
				}
				return r
			}
			io.connected = true
			if to.Read > 0 {
				deadline = time.Now().Add(to.Read)
			}
			conn.SetDeadline(deadline)
			unwatch = cutWhenDone(ctx, conn)
			got, eof = nil, false
		case Send:
			got, eof = nil, false
			n, err := conn.Write(st.Data)
			io.sent += n
			if err != nil {
				return Result{Status: SockErr}
			}
		case Expect:
			expects++
			before := len(got)
			r, ok := expect(conn, st.Match, &got, &eof)
			io.received += len(got) - before
			if !ok {
				if r.Status == st.Match.Tout && !c.Builtin {
					r.LogInfo = timeoutText(step, comment, st.Match)
				} else if r.Status != st.Match.Tout && st.Match.Custom == nil && st.Match.OnError == nil {
					r.Info = st.Match.failText(got, step, comment)
				}
				return r
			}
			last = r
		}
	}
	if expects == 0 {
		return Result{Status: L4OK}
	}
	if !c.Builtin && last.Info == "" {
		last.Info = "(tcp-check)"
	}
	return last
}

// cutWhenDone makes conn's reads and writes fail as soon as ctx ends
// (pivotd stopping, the server deleted) rather than at the check's
// timeout, which a server that answers nothing would make pivotd wait
// for; the function returned undoes it.
func cutWhenDone(ctx context.Context, conn net.Conn) (unwatch func() bool) {
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}

// expect reads from conn into got until m can judge, and returns the
// step's result; ok is false when the check fails here. As in HAProxy, a
// pattern that is not (yet) there waits for more data unless a minimum
// of bytes was set and reached or the server closed; a negated pattern
// therefore passes only then.
func expect(conn net.Conn, m *Match, got *[]byte, eof *bool) (Result, bool) {
	buf := make([]byte, 16384)
	for {
		if m.Custom != nil {
			if r, done := m.Custom(*got, *eof); done {
				return r, r.Status.Passed()
			}
		} else if len(*got) >= m.MinRecv || *eof {
			hit := m.found(*got)
			conclusive := hit || *eof || m.MinRecv > 0 || len(*got) >= len(buf)
			switch {
			case !conclusive:
			case hit != m.Not:
				return Result{Status: m.OK, Info: m.OnSuccess}, true
			default:
				r := Result{Status: m.Err}
				if m.OnError != nil {
					r.Info = m.OnError(*got)
				}
				return r, false
			}
		}
		if *eof {
			return Result{Status: m.Err}, false
		}
		n, err := conn.Read(buf)
		*got = append(*got, buf[:n]...)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			return Result{Status: m.Tout}, false
		default: // EOF or reset: judge what came
			*eof = true
		}
	}
}

// failText words a failed expectation of a tcp-check rule as HAProxy
// does.
func (m *Match) failText(got []byte, step int, comment string) string {
	verb := "did not match"
	if m.Not {
		verb = "matched unwanted"
	}
	var s string
	switch m.Kind {
	case "string":
		s = fmt.Sprintf("TCPCHK %s content '%s' at step %d", verb, m.Pattern, step)
	case "binary":
		s = fmt.Sprintf("TCPCHK %s content (binary) at step %d", verb, step)
	default:
		s = fmt.Sprintf("TCPCHK %s content (regex) at step %d", verb, step)
	}
	if comment != "" {
		s += " comment: " + comment
	}
	return s
}

// timeoutText is the detail of a tcp-check rule that timed out; the
// leading space is HAProxy's.
func timeoutText(step int, comment string, m *Match) string {
	s := fmt.Sprintf(" at step %d of tcp-check (expect %s '%s')", step, m.Kind, m.Pattern)
	if comment != "" {
		s += fmt.Sprintf(" comment: '%s'", comment)
	}
	return s
}

// connectError words a failed connect as HAProxy does: a timeout is
// L4TOUT, a refusal or unreachable host L4CON with the system's error.
func connectError(err error) Result {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return Result{Status: L4Tout}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return Result{Status: L4Con, Info: strerror(errno)}
	}
	return Result{Status: SockErr, Info: err.Error()}
}

// strerror words an errno as C's strerror does ("Connection refused").
func strerror(e syscall.Errno) string {
	s := e.Error()
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
