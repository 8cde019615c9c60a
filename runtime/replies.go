package runtime

import (
	"errors"
	"io"
	"strconv"
	"strings"

	"pivot/core"
)

// reply writes a message and its LF: most of HAProxy's answers.
func reply(w io.Writer, msg string) { io.WriteString(w, msg+"\n") }

// replyBare writes a message without LF, as HAProxy 2.6 does for some
// errors (add/del server, weight and maxconn parse errors, check-addr
// warnings): the answer then ends with a single LF, not an empty line.
func replyBare(w io.Writer, msg string) { io.WriteString(w, msg) }

// arg returns args[i], or "" past the end.
func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

// notFound words core's NotFoundError as HAProxy does.
func notFound(err error) (string, bool) {
	var nf *core.NotFoundError
	if !errors.As(err, &nf) {
		return "", false
	}
	switch nf.Kind {
	case "backend":
		return "No such backend.", true
	case "server":
		return "No such server.", true
	case "frontend":
		return "No such frontend.", true
	}
	return "No such session (use 'show sess').", true
}

// errorText is HAProxy's wording for a refusal from core; unknown errors
// are shown as they are (pivot's own words).
func errorText(err error) string {
	if msg, ok := notFound(err); ok {
		return msg
	}
	for _, e := range []struct {
		err error
		msg string
	}{
		{core.ErrWeightRange, "Absolute weight can only be between 0 and 256 inclusive."},
		{core.ErrWeightNegative, "Relative weight must be positive."},
		{core.ErrStaticWeight, "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'."},
		{core.ErrNoAgent, "agent checks are not enabled on this server."},
		{core.ErrNotInMaint, "Only servers in maintenance mode can be deleted."},
		{core.ErrHasSessions, "Server still has connections attached to it, cannot remove it."},
		{core.ErrServerExists, "Already exists a server with the same name in backend."},
		{core.ErrStaticBackend, "Backend must use a dynamic load balancing to support dynamic servers."},
		{core.ErrProxyDisabled, "Proxy is disabled."},
		{core.ErrTracking, "cannot change health on a tracking server."},
		{core.ErrTracked, "This server cannot be removed at runtime due to other configuration elements pointing to it."},
	} {
		if errors.Is(err, e.err) {
			return e.msg
		}
	}
	return err.Error()
}

// serverArg resolves a `<backend>/<server>` argument (either part may be
// `#<id>`). On failure it writes HAProxy's answer and returns ok false.
func (c *adminConn) serverArg(w io.Writer, designator string) (backend, server string, ok bool) {
	b, s, found := strings.Cut(designator, "/")
	if !found || b == "" || s == "" {
		reply(w, "Require 'backend/server'.")
		return "", "", false
	}
	backend, server, err := c.srv.core.ResolveServer(b, s)
	if err != nil {
		reply(w, errorText(err))
		return "", "", false
	}
	return backend, server, true
}

// frontendArg resolves a frontend argument (a name or `#<id>`).
func (c *adminConn) frontendArg(w io.Writer, name string) (string, bool) {
	if name == "" {
		reply(w, "A frontend name is expected.")
		return "", false
	}
	fe, err := c.srv.core.ResolveFrontend(name)
	if err != nil {
		reply(w, errorText(err))
		return "", false
	}
	return fe, true
}

// leadingInt reads an integer the way C's strtol does: optional blanks
// and sign, then digits. It returns the value, what follows, and whether
// any digit was read.
func leadingInt(s string) (int64, string, bool) {
	t := strings.TrimLeft(s, " \t")
	i := 0
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		i++
	}
	j := i
	for j < len(t) && t[j] >= '0' && t[j] <= '9' {
		j++
	}
	if j == i {
		return 0, s, false
	}
	n, err := strconv.ParseInt(t[:j], 10, 64)
	if err != nil { // out of int64 range: saturate, callers refuse it
		n = 1 << 62
		if t[0] == '-' {
			n = -n
		}
	}
	return n, t[j:], true
}
