package ctl

import (
	"regexp"
	"strings"
)

// ServerRef names a server as B/S: backend then server.
type ServerRef struct {
	Backend, Server string
}

func (r ServerRef) String() string { return r.Backend + "/" + r.Server }

// ParseServerRef reads a B/S designator. Both sides must be non-empty names
// without blanks, `;`, `\` or control characters, so that the designator is
// one word on the socket. `#<id>` forms are accepted as written.
func ParseServerRef(s string) (ServerRef, error) {
	be, srv, ok := strings.Cut(s, "/")
	if !ok || be == "" || srv == "" {
		return ServerRef{}, Usagef("%q: want BACKEND/SERVER", s)
	}
	if err := checkName("backend", be); err != nil {
		return ServerRef{}, err
	}
	if err := checkName("server", srv); err != nil {
		return ServerRef{}, err
	}
	return ServerRef{Backend: be, Server: srv}, nil
}

// CheckName refuses a frontend, backend or server name that could not be
// sent as one word: empty, or holding blanks, `;`, `\`, `/` or control
// characters. kind names the object in the error.
func CheckName(kind, name string) error { return checkName(kind, name) }

func checkName(kind, name string) error {
	if name == "" {
		return Usagef("empty %s name", kind)
	}
	for _, r := range name {
		if r <= ' ' || r == ';' || r == '\\' || r == '/' || r == 0x7f {
			return Usagef("%s name %q: %q is not allowed in a name", kind, name, r)
		}
	}
	return nil
}

var weightRE = regexp.MustCompile(`^[0-9]+%?$`)

// CheckWeight accepts an absolute weight (digits) or a relative one (digits
// then %). The range is the daemon's to check (0..256 in HAProxy).
func CheckWeight(w string) error {
	if !weightRE.MatchString(w) {
		return Usagef("weight %q: want a number (0-256) or a percentage of the initial weight like 50%%", w)
	}
	return nil
}

// EscapeWord makes s one word of a socket line: blanks, `;` and `\` are
// preceded by a backslash, as the Runtime API expects (`agent-send hello\
// world`). Line breaks cannot be escaped; callers must refuse them.
func EscapeWord(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case ' ', '\t', ';', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
