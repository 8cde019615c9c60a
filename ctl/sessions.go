package ctl

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Session is one line of `show sess`. Only the fixed part that HAProxy
// documents is parsed; the scheduling and buffer details that follow it are
// kept in Rest.
type Session struct {
	ID       string // the stream pointer, e.g. 0x55edec196bb0; `shutdown session` takes it
	Proto    string // tcpv4, tcpv6, unix_stream, ...
	Src      string // client ip:port, or unix:<listener id>
	Frontend string // fe=
	Backend  string // be=, "<NONE>" before a backend is chosen
	Server   string // srv=, "<none>" before a server is chosen
	Age      string // age= from the rest of the line, e.g. "3s"; "" if absent
	Rest     string // everything after the srv= field
}

// sessFixed are the fields of the fixed part, in order.
var sessFixed = []string{"proto=", "src=", "fe=", "be=", "srv="}

// ParseSessions reads the answer of `show sess`, one session per line:
//
//	<ptr>: proto=<p> src=<addr> fe=<frontend> be=<backend> srv=<server> ...
//
// Empty lines are skipped. A line without this fixed part is an error that
// quotes it.
func ParseSessions(r io.Reader) ([]Session, error) {
	var out []Session
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		s, err := parseSessionLine(line)
		if err != nil {
			return out, fmt.Errorf("show sess: line %d: %w", n, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseSessionLine(line string) (Session, error) {
	id, rest, ok := strings.Cut(line, ": ")
	if !ok || id == "" || strings.ContainsAny(id, " \t") {
		return Session{}, fmt.Errorf("no session pointer before \": \" in %q", line)
	}
	s := Session{ID: id}
	words := strings.Fields(rest)
	if len(words) < len(sessFixed) {
		return Session{}, fmt.Errorf("want %s in %q", strings.Join(sessFixed, "... "), line)
	}
	vals := make([]string, len(sessFixed))
	for i, key := range sessFixed {
		v, ok := strings.CutPrefix(words[i], key)
		if !ok {
			return Session{}, fmt.Errorf("want %q as field %d, got %q in %q", key, i+1, words[i], line)
		}
		vals[i] = v
	}
	s.Proto, s.Src, s.Frontend, s.Backend, s.Server = vals[0], vals[1], vals[2], vals[3], vals[4]
	s.Rest = strings.Join(words[len(sessFixed):], " ")
	for _, w := range words[len(sessFixed):] {
		if v, ok := strings.CutPrefix(w, "age="); ok {
			s.Age = v
			break
		}
	}
	return s, nil
}

// SessionsOf returns the sessions attached to server srv of backend be.
func SessionsOf(all []Session, be, srv string) []Session {
	var out []Session
	for _, s := range all {
		if s.Backend == be && s.Server == srv {
			out = append(out, s)
		}
	}
	return out
}
