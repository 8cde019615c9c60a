package runtime

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"pivot/core"
	"pivot/core/config"
)

// setServer is `set server <b>/<s> <what> ...`.
func (c *adminConn) setServer(w io.Writer, args []string) {
	be, srv, ok := c.serverArg(w, arg(args, 2))
	if !ok {
		return
	}
	value := arg(args, 4)
	switch arg(args, 3) {
	case "state":
		st, ok := map[string]core.AdminState{"ready": core.StateReady, "drain": core.StateDrain, "maint": core.StateMaint}[value]
		if !ok {
			reply(w, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.")
			return
		}
		c.apply(w, c.srv.core.SetServerState(be, srv, st))
	case "weight":
		c.setWeight(w, be, srv, value)
	case "health":
		h, ok := map[string]core.Health{"up": core.HealthUp, "stopping": core.HealthStopping, "down": core.HealthDown}[value]
		if !ok {
			reply(w, "'set server <srv> health' expects 'up', 'stopping', or 'down'.")
			return
		}
		c.apply(w, c.srv.core.SetServerHealth(be, srv, h))
	case "agent":
		c.setAgent(w, be, srv, value)
	case "addr":
		c.setAddr(w, be, srv, args[4:])
	case "check-addr":
		c.setCheckAddr(w, be, srv, args[4:])
	case "check-port":
		if value == "" {
			reply(w, "set server <b>/<s> check-port requires a port.")
			return
		}
		port, ok := portArg(w, value)
		if !ok {
			return
		}
		if err := c.srv.core.SetServerCheckPort(be, srv, port); err != nil {
			c.checkWarning(w, err)
		}
	case "agent-addr":
		if value == "" {
			reply(w, "set server <b>/<s> agent-addr requires an address and optionally a port.")
			return
		}
		port := ""
		if arg(args, 5) == "port" {
			port = arg(args, 6)
		}
		c.setAgentTarget(w, be, srv, value, port)
	case "agent-port":
		if value == "" {
			reply(w, "set server <b>/<s> agent-port requires a port.")
			return
		}
		c.setAgentTarget(w, be, srv, "", value)
	case "agent-send":
		c.apply(w, c.srv.core.SetServerAgentSend(be, srv, value))
	case "maxconn": // pivot's extension: the same as `set maxconn server`
		c.setMaxconn(w, be, srv, value)
	case "fqdn":
		reply(w, "set server <b>/<s> fqdn failed because no resolution is configured.")
	case "ssl":
		reply(w, "'set server <srv> ssl' is not supported: pivot relays TCP and does not speak TLS to servers.")
	default:
		reply(w, "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight")
	}
}

// apply reports the outcome of a change whose success prints nothing.
func (c *adminConn) apply(w io.Writer, err error) {
	if err != nil {
		reply(w, errorText(err))
	}
}

// setWeightCmd is `set weight <b>/<s> <weight>[%]`.
func (c *adminConn) setWeightCmd(w io.Writer, args []string) {
	if be, srv, ok := c.serverArg(w, arg(args, 2)); ok {
		c.setWeight(w, be, srv, arg(args, 3))
	}
}

// setWeight parses a weight as HAProxy does (strtol, then an optional
// `%`) and applies it.
func (c *adminConn) setWeight(w io.Writer, be, srv, value string) {
	if value == "" {
		reply(w, "Require <weight> or <weight%>.")
		return
	}
	n, rest, ok := leadingInt(value)
	switch {
	case !ok:
		replyBare(w, "Empty weight string empty or preceded by garbage")
		return
	case rest != "" && rest != "%":
		replyBare(w, "Trailing garbage in weight string")
		return
	case n > 1<<30 || n < -(1<<30):
		reply(w, "Absolute weight can only be between 0 and 256 inclusive.")
		return
	}
	c.apply(w, c.srv.core.SetServerWeight(be, srv, int(n), rest == "%"))
}

// getWeight is `get weight <b>/<s>`: "<current> (initial <configured>)".
func (c *adminConn) getWeight(w io.Writer, args []string) {
	// As in HAProxy, an empty backend is looked up (and not found), an
	// empty server is a usage error.
	b, s, found := strings.Cut(arg(args, 2), "/")
	if !found || s == "" {
		reply(w, "Require 'backend/server'.")
		return
	}
	be, srv, err := c.srv.core.ResolveServer(b, s)
	if err != nil && !errors.Is(err, core.ErrProxyDisabled) {
		reply(w, errorText(err))
		return
	}
	cur, initial, err := c.srv.core.ServerWeight(be, srv)
	if err != nil {
		reply(w, errorText(err))
		return
	}
	fmt.Fprintf(w, "%d (initial %d)\n", cur, initial)
}

// setAddr is `set server <b>/<s> addr <ip> [port <port>]`; it always
// reports what it did, as HAProxy does.
func (c *adminConn) setAddr(w io.Writer, be, srv string, args []string) {
	if len(args) == 0 {
		reply(w, "set server <b>/<s> addr requires an address and optionally a port.")
		return
	}
	ip, err := netip.ParseAddr(args[0])
	if err != nil {
		reply(w, fmt.Sprintf("Invalid addr '%s' by 'stats socket command'", args[0]))
		return
	}
	// As HAProxy, the address is applied first, then the port, and the
	// report says what happened to each.
	port, portErr := 0, ""
	if arg(args, 1) == "port" {
		p, err := strconv.Atoi(arg(args, 2))
		switch {
		case strings.HasPrefix(arg(args, 2), "+") || strings.HasPrefix(arg(args, 2), "-"):
			// A port map (+N/-N): HAProxy refuses it unless the checks
			// have a port of their own; pivot has no port maps at all.
			portErr = "can't change <port> to port map because it is incompatible with current health check port configuration (use 'port' statement from the 'server' directive."
		case err != nil:
			portErr = fmt.Sprintf("problem converting port '%s' to an int", arg(args, 2))
		case p < 1 || p > 65535: // HAProxy 2.6 wraps 70000 to 4464; pivot refuses
			reply(w, fmt.Sprintf("port %d is out of range 1-65535: nothing changed", p))
			return
		default:
			port = p
		}
	}
	ch, err := c.srv.core.SetServerAddr(be, srv, ip.String(), port)
	if err != nil {
		reply(w, errorText(err))
		return
	}
	var parts []string
	if ch.OldHost == ch.NewHost {
		parts = append(parts, "no need to change the addr")
	} else {
		parts = append(parts, fmt.Sprintf("IP changed from '%s' to '%s'", ch.OldHost, ch.NewHost))
	}
	if portErr != "" {
		parts = append(parts, portErr)
	} else if port != 0 {
		if ch.OldPort == ch.NewPort {
			parts = append(parts, "no need to change the port")
		} else {
			parts = append(parts, fmt.Sprintf("port changed from '%d' to '%d'", ch.OldPort, ch.NewPort))
		}
	}
	reply(w, strings.Join(parts, ", ")+" by 'stats socket command'")
}

// setCheckAddr is `set server <b>/<s> check-addr <ip> [port <port>]`.
func (c *adminConn) setCheckAddr(w io.Writer, be, srv string, args []string) {
	if len(args) == 0 {
		reply(w, "set server <b>/<s> check-addr requires an address and optionally a port.")
		return
	}
	if _, err := netip.ParseAddr(args[0]); err != nil {
		replyBare(w, fmt.Sprintf("invalid addr '%s'", args[0]))
		return
	}
	port := 0
	if arg(args, 1) == "port" {
		p, ok := portArg(w, arg(args, 2))
		if !ok {
			return
		}
		port = p
	}
	if err := c.srv.core.SetServerCheckAddr(be, srv, args[0], port); err != nil {
		c.checkWarning(w, err)
	}
}

// portArg parses a check port, answering HAProxy's warnings.
func portArg(w io.Writer, s string) (int, bool) {
	p, err := strconv.Atoi(s)
	switch {
	case err != nil:
		replyBare(w, "provided port is not an integer")
		return 0, false
	case p < 1 || p > 65535:
		replyBare(w, "provided port is invalid")
		return 0, false
	}
	return p, true
}

// checkWarning answers a refused check-addr/check-port change.
func (c *adminConn) checkWarning(w io.Writer, err error) {
	if errors.Is(err, core.ErrNoCheck) {
		replyBare(w, "health checks are not enabled on this server")
		return
	}
	reply(w, errorText(err))
}

// enableServer is `enable server` / `disable server`: ready / maint.
func (c *adminConn) enableServer(w io.Writer, args []string) {
	be, srv, ok := c.serverArg(w, arg(args, 2))
	if !ok {
		return
	}
	st := core.StateReady
	if args[0] == "disable" {
		st = core.StateMaint
	}
	c.apply(w, c.srv.core.SetServerState(be, srv, st))
}

// enableHealth is `enable health` / `disable health`.
func (c *adminConn) enableHealth(w io.Writer, args []string) {
	be, srv, ok := c.serverArg(w, arg(args, 2))
	if !ok {
		return
	}
	on := args[0] == "enable"
	err := c.srv.core.SetServerCheckEnabled(be, srv, on)
	switch {
	case errors.Is(err, core.ErrNoCheck) && on:
		reply(w, "Health check was not configured on this server, cannot enable.")
	case errors.Is(err, core.ErrNoCheck):
		// HAProxy says nothing when disabling a check that is not there.
	default:
		c.apply(w, err)
	}
}

// setAgent is `set server <b>/<s> agent up|down`.
func (c *adminConn) setAgent(w io.Writer, be, srv, value string) {
	if value != "up" && value != "down" {
		// HAProxy looks at the agent before the word.
		if c.agentEnabled(w, be, srv) {
			reply(w, "'set server <srv> agent' expects 'up' or 'down'.")
		}
		return
	}
	c.apply(w, c.srv.core.SetServerAgent(be, srv, value == "up"))
}

// agentEnabled reports whether the server's agent check is enabled, and
// answers HAProxy's refusal when it is not.
func (c *adminConn) agentEnabled(w io.Writer, be, srv string) bool {
	on, err := c.srv.core.ServerAgentEnabled(be, srv)
	if err != nil {
		c.apply(w, err)
		return false
	}
	if !on {
		c.apply(w, core.ErrNoAgent)
	}
	return on
}

// setAgentTarget is `set server ... agent-addr <ip> [port <port>]` and
// `agent-port <port>`, answered with HAProxy's warnings; host or port
// is "" when not given.
func (c *adminConn) setAgentTarget(w io.Writer, be, srv, host, port string) {
	on, err := c.srv.core.ServerAgentEnabled(be, srv)
	if err != nil {
		c.apply(w, err)
		return
	}
	p := -1 // unchanged
	switch n, perr := strconv.Atoi(port); {
	case !on:
		replyBare(w, "agent checks are not enabled on this server")
		return
	case host != "" && !validIP(host):
		replyBare(w, fmt.Sprintf("invalid addr '%s'", host))
		return
	case port == "":
	case perr != nil:
		replyBare(w, "provided port is not an integer")
		return
	case n < 0 || n > 65535:
		replyBare(w, "provided port is invalid")
		return
	default:
		p = n
	}
	c.apply(w, c.srv.core.SetServerAgentTarget(be, srv, host, p))
}

func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// enableAgent is `enable agent` / `disable agent`.
func (c *adminConn) enableAgent(w io.Writer, args []string) {
	be, srv, ok := c.serverArg(w, arg(args, 2))
	if !ok {
		return
	}
	err := c.srv.core.SetServerAgentEnabled(be, srv, args[0] == "enable")
	switch {
	case errors.Is(err, core.ErrAgentNotConfigured) && args[0] == "enable":
		reply(w, "Agent was not configured on this server, cannot enable.")
	case errors.Is(err, core.ErrAgentNotConfigured):
		// HAProxy says nothing when disabling an agent that is not there.
	default:
		c.apply(w, err)
	}
}

// setMaxconnServer is `set maxconn server <b>/<s> <n>`.
func (c *adminConn) setMaxconnServer(w io.Writer, args []string) {
	if be, srv, ok := c.serverArg(w, arg(args, 3)); ok {
		c.setMaxconn(w, be, srv, arg(args, 4))
	}
}

func (c *adminConn) setMaxconn(w io.Writer, be, srv, value string) {
	if value == "" {
		reply(w, "Require <maxconn>.")
		return
	}
	n, rest, ok := leadingInt(value)
	switch {
	case !ok:
		replyBare(w, "maxconn string empty or preceded by garbage")
	case rest != "":
		replyBare(w, "Trailing garbage in maxconn string")
	case n < 0 || n > 1<<31-1: // HAProxy 2.6 wraps -5 to 4294967291; pivot refuses
		reply(w, fmt.Sprintf("maxconn %s is out of range: 0 (no limit) to 2147483647.", value))
	default:
		c.apply(w, c.srv.core.SetServerMaxconn(be, srv, int(n)))
	}
}

// addServer is `add server <b>/<s> <addr>[:<port>] [keywords...]`.
func (c *adminConn) addServer(w io.Writer, args []string) {
	b, name, found := strings.Cut(arg(args, 2), "/")
	if !found || b == "" || name == "" {
		replyBare(w, "Require 'backend/server'.")
		return
	}
	b, err := c.srv.core.ResolveBackend(b)
	if err != nil {
		replyBare(w, "No such backend.")
		return
	}
	if len(args) < 4 {
		reply(w, "'server' expects <name> and <addr>[:<port>] as arguments.")
		return
	}
	for _, kw := range args[4:] {
		if refused[kw] {
			reply(w, fmt.Sprintf("'%s' option is not accepted for dynamic server", kw))
			return
		}
	}
	sc, err := config.ParseServer(name, args[3], args[4:])
	if err != nil {
		reply(w, err.Error())
		return
	}
	// HAProxy: `enabled` on the line puts the server in service at once.
	ready := false
	for _, kw := range args[4:] {
		switch kw {
		case "enabled":
			ready = true
		case "disabled":
			ready = false
		}
	}
	if err := c.srv.core.AddServer(b, sc, ready); err != nil {
		msg := errorText(err)
		if errors.Is(err, core.ErrStaticBackend) {
			replyBare(w, msg)
			return
		}
		reply(w, msg)
		return
	}
	reply(w, "New server registered.")
}

// refused are the server keywords HAProxy refuses on `add server`.
var refused = map[string]bool{"cookie": true, "init-addr": true, "resolvers": true, "redir": true,
	"namespace": true, "socks4": true, "stick": true, "non-stick": true, "no-check": true}

// delServer is `del server <b>/<s>`. Every answer ends without LF, as in
// HAProxy 2.6.
func (c *adminConn) delServer(w io.Writer, args []string) {
	b, s, found := strings.Cut(arg(args, 2), "/")
	if !found || b == "" || s == "" {
		replyBare(w, "Require 'backend/server'.")
		return
	}
	be, srv, err := c.srv.core.ResolveServer(b, s)
	if err == nil {
		err = c.srv.core.DelServer(be, srv)
	}
	if err != nil {
		replyBare(w, errorText(err))
		return
	}
	replyBare(w, "Server deleted.")
}

// shutdownServerSessions is `shutdown sessions server <b>/<s>`.
func (c *adminConn) shutdownServerSessions(w io.Writer, args []string) {
	be, srv, ok := c.serverArg(w, arg(args, 3))
	if !ok {
		return
	}
	_, err := c.srv.core.ShutdownServerSessions(be, srv)
	c.apply(w, err)
}

// reload is pivot's `reload`: the configuration files are read again and
// what changed is applied without closing a connection (as SIGHUP does).
// A configuration with errors is refused with them, and the running one
// stays as it was.
func (c *adminConn) reload(w io.Writer, _ []string) {
	if c.srv.opts.Reload == nil {
		reply(w, "Reload is not available in this process.")
		return
	}
	changes, err := c.srv.opts.Reload()
	if err != nil {
		lines := []string{"Reload refused, the running configuration is unchanged:"}
		var list config.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				lines = append(lines, e.Error())
			}
		} else {
			lines = append(lines, err.Error())
		}
		reply(w, strings.Join(lines, "\n"))
		return
	}
	reply(w, "Configuration reloaded:\n"+strings.Join(changes, "\n"))
}

// failover is `failover <b>/<s> [keep-sessions]`, pivot's: the server
// becomes the only one of its backend taking new connections, the others
// enter maintenance and (unless keep-sessions) lose their sessions, all
// in one step. It reports each server it changed.
func (c *adminConn) failover(w io.Writer, args []string) {
	be, srv, ok := c.serverArg(w, arg(args, 1))
	if !ok {
		return
	}
	keep := false
	switch arg(args, 2) {
	case "":
	case "keep-sessions":
		keep = true
	default:
		reply(w, "Usage: failover <backend>/<server> [keep-sessions]")
		return
	}
	changes, err := c.srv.core.Failover(be, srv, keep)
	if err != nil {
		reply(w, errorText(err))
		return
	}
	if len(changes) == 0 {
		reply(w, fmt.Sprintf("Nothing to change: %s/%s already takes every new connection.", be, srv))
		return
	}
	var b strings.Builder
	for _, ch := range changes {
		fmt.Fprintf(&b, "%s/%s: %s -> %s", be, ch.Server, ch.From, ch.To)
		if ch.Cut > 0 {
			fmt.Fprintf(&b, ", %d sessions cut", ch.Cut)
		}
		b.WriteString("\n")
	}
	io.WriteString(w, b.String())
}
