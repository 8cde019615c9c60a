package runtime

import (
	"fmt"
	"io"
	"strconv"

	"pivot/core"
)

// frontendState is `enable|disable|shutdown frontend <fe>`.
func (c *adminConn) frontendState(w io.Writer, args []string) {
	fe, ok := c.frontendArg(w, arg(args, 2))
	if !ok {
		return
	}
	cur, err := c.srv.core.FrontendState(fe)
	if err != nil {
		reply(w, errorText(err))
		return
	}
	var want core.FrontendState
	switch args[0] {
	case "enable":
		want = core.FrontendOpen
		switch cur {
		case core.FrontendStopped:
			reply(w, "Frontend was previously shut down, cannot enable.")
			return
		case core.FrontendOpen:
			reply(w, "All sockets are already enabled.")
			return
		}
	case "disable":
		want = core.FrontendPaused
		switch cur {
		case core.FrontendStopped:
			reply(w, "Frontend was previously shut down, cannot disable.")
			return
		case core.FrontendPaused:
			reply(w, "All sockets are already disabled.")
			return
		}
	default: // shutdown
		want = core.FrontendStopped
		if cur == core.FrontendStopped {
			reply(w, "Frontend was already shut down.")
			return
		}
	}
	if err := c.srv.core.SetFrontendState(fe, want); err != nil {
		if want == core.FrontendOpen {
			reply(w, "Failed to resume frontend, check logs for precise cause (port conflict?).")
			c.srv.opts.Diag.Warning(fmt.Sprintf("enable frontend %s: %v", fe, err))
			return
		}
		reply(w, errorText(err))
	}
}

// setMaxconnFrontend is `set maxconn frontend <fe> <n>`. HAProxy 2.6
// takes a word as 0 and a 0 that stops the frontend for good (and aborts
// when it is raised again); pivot refuses both.
func (c *adminConn) setMaxconnFrontend(w io.Writer, args []string) {
	fe, ok := c.frontendArg(w, arg(args, 3))
	if !ok {
		return
	}
	n, err := strconv.Atoi(arg(args, 4))
	switch {
	case err != nil:
		reply(w, "Integer value expected.")
	case n < 1:
		reply(w, "Value out of range.")
	default:
		c.apply(w, c.srv.core.SetFrontendMaxconn(fe, n))
	}
}

// setMaxconnGlobal is `set maxconn global <n>`; 0 restores the limit the
// file descriptors allow, as in HAProxy.
func (c *adminConn) setMaxconnGlobal(w io.Writer, args []string) {
	n, err := strconv.Atoi(arg(args, 3))
	hard := c.srv.core.Info().HardMaxconn
	switch {
	case err != nil:
		reply(w, "Expects an integer value.")
	case hard > 0 && n > hard:
		reply(w, "Value out of range.")
	case n <= 0: // HAProxy: zero or less restores the hard limit
		c.apply(w, c.srv.core.SetGlobalMaxconn(hard))
	default:
		c.apply(w, c.srv.core.SetGlobalMaxconn(n))
	}
}

// setRateLimit is `set rate-limit connections|sessions global <n>`. In
// TCP a session is a connection, so both limits cap new connections per
// second; pivot has neither TLS nor HTTP compression to limit.
func (c *adminConn) setRateLimit(w io.Writer, args []string) {
	setting := arg(args, 2)
	if arg(args, 3) != "global" || (setting != "connections" && setting != "sessions" && setting != "ssl-sessions" && setting != "http-compression") {
		io.WriteString(w, "'set rate-limit' only supports :\n"+
			"   - 'connections global' to set the per-process maximum connection rate\n"+
			"   - 'sessions global' to set the per-process maximum session rate\n"+
			"   - 'ssl-sessions global' to set the per-process maximum SSL session rate\n"+
			"   - 'http-compression global' to set the per-process maximum compression speed in kB/s\n")
		return
	}
	n, err := strconv.Atoi(arg(args, 4))
	switch {
	case err != nil:
		reply(w, "Expects an integer value.")
	case n < 0:
		reply(w, "Value out of range.")
	case setting == "connections":
		c.apply(w, c.srv.core.SetGlobalRateLimit(n))
	case setting == "sessions":
		c.apply(w, c.srv.core.SetGlobalSessionRateLimit(n))
	default:
		reply(w, fmt.Sprintf("'%s global' does not apply to pivot: it has no TLS and no HTTP compression.", setting))
	}
}

// clearCounters is `clear counters` (maxima) and `clear counters all`.
func (c *adminConn) clearCounters(w io.Writer, args []string) {
	c.srv.core.ClearCounters(arg(args, 2) == "all")
}
