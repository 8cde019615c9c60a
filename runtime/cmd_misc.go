package runtime

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"pivot/core"
)

// showEnv is `show env [<name>]`.
func (c *adminConn) showEnv(w io.Writer, args []string) {
	if name := arg(args, 2); name != "" {
		v, ok := os.LookupEnv(name)
		if !ok {
			reply(w, "Variable not found")
			return
		}
		fmt.Fprintf(w, "%s=%s\n", name, v)
		return
	}
	env := os.Environ()
	sort.Strings(env)
	for _, kv := range env {
		reply(w, kv)
	}
}

// showErrors is `show errors [<proxy>] [request|response]`. A TCP proxy
// has no protocol parser, so nothing is ever captured, as in HAProxy.
func (c *adminConn) showErrors(w io.Writer, args []string) {
	if px := arg(args, 2); px != "" && px != "request" && px != "response" && px != "-1" {
		if _, err := c.srv.core.Backend(px); err != nil {
			if _, err := c.srv.core.ResolveFrontend(px); err != nil {
				reply(w, "No such proxy.")
				return
			}
		}
	}
	fmt.Fprintf(w, "Total events captured on [%s] : 0\n", time.Now().Format("02/Jan/2006:15:04:05.000"))
}

// wait is `wait <delay> [srv-removable|srv-unused <b>/<s>]` (HAProxy 3.0;
// srv-unused is pivot's): the daemon waits until the condition holds or
// the delay passes. srv-removable needs the server in maintenance with no
// session and nothing queued; srv-unused needs only no session and
// nothing queued, so it works while the server drains.
func (c *adminConn) wait(w io.Writer, args []string) {
	v := arg(args, 1)
	if v == "" {
		reply(w, "Expects a duration in milliseconds.")
		return
	}
	delay, err := parseDelay(v)
	if err != nil {
		reply(w, "Invalid duration.")
		return
	}
	cond := arg(args, 2)
	var be, srv string
	switch cond {
	case "":
	case "srv-removable", "srv-unused":
		d := arg(args, 3)
		if d == "" {
			reply(w, "Missing server name (<backend>/<server>).")
			return
		}
		var ok bool
		if be, srv, ok = c.serverArg(w, d); !ok {
			return
		}
	default:
		reply(w, "Usage: wait {-h|<duration>} [condition [args...]]\n"+
			"  conditions: srv-removable <backend>/<server>   the server can be deleted\n"+
			"              srv-unused <backend>/<server>      the server has no session and nothing queued")
		return
	}
	deadline := time.Now().Add(delay)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var sessions, queued int64
	for {
		if cond != "" {
			var admin core.Admin
			var err error
			sessions, queued, admin, err = c.srv.core.ServerUsage(be, srv)
			switch {
			case err != nil:
				reply(w, errorText(err))
				return
			case cond == "srv-removable" && !admin.Maint():
				reply(w, "Only servers in maintenance mode can be deleted.")
				return
			case sessions == 0 && queued == 0:
				reply(w, "Done.")
				return
			}
		}
		if !time.Now().Before(deadline) {
			switch cond {
			case "":
				reply(w, "Done.")
			case "srv-unused": // pivot's condition says what is left
				reply(w, fmt.Sprintf("Wait delay expired (%d sessions, %d queued).", sessions, queued))
			default:
				reply(w, "Wait delay expired.")
			}
			return
		}
		select {
		case <-tick.C:
		case <-c.srv.stop:
			reply(w, "Interrupted.")
			return
		}
	}
}

// parseDelay reads a delay in milliseconds unless a unit (us ms s m h d)
// follows the number.
func parseDelay(s string) (time.Duration, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], s[i:]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, err
	}
	mult := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[unit]
	if mult == 0 || n > int64(365*24*time.Hour/mult) {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return time.Duration(n) * mult, nil
}
