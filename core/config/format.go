package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Format writes c as a canonical configuration: the global section, then
// every proxy with everything spelled out (ids, balance, retries, server
// check settings), so that it needs no defaults section and
// Parse(Format(c)) gives back c, positions aside. It shows an operator
// what pivot understood, and lets the fuzzer check parser and model
// against each other.
func Format(c *Config) string {
	var w formatter
	w.global(&c.Global)
	for _, px := range c.Proxies {
		w.proxy(px)
	}
	return w.String()
}

type formatter struct{ strings.Builder }

// line writes one indented line of words, quoting each as needed.
func (w *formatter) line(words ...string) {
	w.WriteString("    ")
	for i, s := range words {
		if i > 0 {
			w.WriteByte(' ')
		}
		w.WriteString(quote(s))
	}
	w.WriteByte('\n')
}

func (w *formatter) global(g *Global) {
	w.WriteString("global\n")
	if g.MaxConn != 0 {
		w.line("maxconn", strconv.Itoa(g.MaxConn))
	}
	for _, s := range g.StatsSockets {
		addr := s.Addr
		if !strings.HasPrefix(addr, "/") && !strings.HasPrefix(addr, "ipv4@") && !strings.HasPrefix(addr, "ipv6@") {
			addr = "unix@" + addr
		}
		words := []string{"stats", "socket", addr}
		if s.Mode != 0 {
			words = append(words, "mode", fmt.Sprintf("%03o", uint32(s.Mode)))
		}
		if s.UID >= 0 {
			words = append(words, "uid", strconv.Itoa(s.UID))
		}
		if s.GID >= 0 {
			words = append(words, "gid", strconv.Itoa(s.GID))
		}
		if s.User != "" {
			words = append(words, "user", s.User)
		}
		if s.Group != "" {
			words = append(words, "group", s.Group)
		}
		if s.Level != "" {
			words = append(words, "level", s.Level)
		}
		if s.ExposeFdListeners {
			words = append(words, "expose-fd", "listeners")
		}
		w.line(words...)
	}
	if g.StatsTimeout != 0 {
		w.line("stats", "timeout", formatTime(g.StatsTimeout))
	}
	if g.ServerStateFile != "" {
		w.line("server-state-file", g.ServerStateFile)
	}
	if g.ServerStateBase != "" {
		w.line("server-state-base", g.ServerStateBase)
	}
	for _, l := range g.Logs {
		w.log(l)
	}
	if g.PidFile != "" {
		w.line("pidfile", g.PidFile)
	}
	if g.Daemon {
		w.line("daemon")
	}
	if g.NbThread != 0 {
		w.line("nbthread", strconv.Itoa(g.NbThread))
	}
	if g.HardStopAfter != 0 {
		w.line("hard-stop-after", formatTime(g.HardStopAfter))
	}
}

func (w *formatter) log(l LogTarget) {
	words := []string{"log", l.Address}
	if l.Len != 0 {
		words = append(words, "len", strconv.Itoa(l.Len))
	}
	if l.Format != "" {
		words = append(words, "format", l.Format)
	}
	words = append(words, l.Facility)
	if l.Level != "" {
		words = append(words, l.Level)
		if l.MinLevel != "" {
			words = append(words, l.MinLevel)
		}
	}
	w.line(words...)
}

func (w *formatter) proxy(px *Proxy) {
	w.WriteString(px.Kind.String() + " " + quote(px.Name) + "\n")
	w.line("id", strconv.Itoa(px.ID))
	w.line("mode", "tcp")
	if px.Disabled {
		w.line("disabled")
	}
	if px.Description != "" {
		w.line("description", px.Description)
	}
	for _, b := range px.Binds {
		w.bind(b)
	}
	if px.DefaultBackend != "" {
		w.line("default_backend", px.DefaultBackend)
	}
	if px.MaxConn != 0 {
		w.line("maxconn", strconv.Itoa(px.MaxConn))
	}
	if px.RateLimitSessions != 0 {
		w.line("rate-limit", "sessions", strconv.Itoa(px.RateLimitSessions))
	}
	if px.Kind.HasBackend() {
		algo := px.Balance.Algo
		if algo == "random" {
			algo = "random(" + strconv.Itoa(px.Balance.Draws) + ")"
		}
		w.line("balance", algo)
		if px.FullConn != 0 {
			w.line("fullconn", strconv.Itoa(px.FullConn))
		}
		w.line("retries", strconv.Itoa(px.Retries))
		if px.Redispatch {
			if px.RedispatchInterval != 0 {
				w.line("option", "redispatch", strconv.Itoa(px.RedispatchInterval))
			} else {
				w.line("option", "redispatch")
			}
		}
		if px.AllBackups {
			w.line("option", "allbackups")
		}
		w.check(px.Check)
		if px.LoadServerState != "" {
			w.line("load-server-state-from-file", px.LoadServerState)
		}
	}
	t := px.Timeouts
	w.timeout("connect", t.Connect)
	w.timeout("client", t.Client)
	w.timeout("server", t.Server)
	w.timeout("queue", t.Queue)
	w.timeout("check", t.Check)
	w.timeout("client-fin", t.ClientFin)
	w.timeout("server-fin", t.ServerFin)
	w.timeout("tunnel", t.Tunnel)
	if px.TCPLog {
		w.line("option", "tcplog")
	}
	if px.DontLogNull {
		w.line("option", "dontlognull")
	}
	for _, l := range px.Logs {
		w.log(l)
	}
	for _, s := range px.Servers {
		w.server(s)
	}
}

func (w *formatter) timeout(name string, d time.Duration) {
	if d != 0 {
		w.line("timeout", name, formatTime(d))
	}
}

func (w *formatter) bind(b Bind) {
	port := strconv.Itoa(b.Port)
	if b.PortEnd != 0 {
		port += "-" + strconv.Itoa(b.PortEnd)
	}
	words := []string{"bind", joinHostPort(b.Host, port)}
	if b.Name != "" {
		words = append(words, "name", b.Name)
	}
	words = append(words, "id", strconv.Itoa(b.ID))
	if b.MaxConn != 0 {
		words = append(words, "maxconn", strconv.Itoa(b.MaxConn))
	}
	if b.V4V6 {
		words = append(words, "v4v6")
	}
	if b.V6Only {
		words = append(words, "v6only")
	}
	w.line(words...)
}

// FormatServer is a server's line as Format writes it, without the
// indentation: "server NAME ADDR [KEYWORDS]", every setting explicit, so
// that parsing it alone gives the same server.
func FormatServer(s Server) string {
	var w formatter
	w.server(&s)
	return strings.TrimSpace(w.String())
}

func (w *formatter) server(s *Server) {
	addr := s.Host
	if s.Port != 0 {
		addr = joinHostPort(s.Host, strconv.Itoa(s.Port))
	} else if strings.Contains(s.Host, ":") {
		addr = "[" + s.Host + "]"
	}
	words := []string{"server", s.Name, addr}
	if s.IDForced { // an assigned id comes out the same when parsed again
		words = append(words, "id", strconv.Itoa(s.ID))
	}
	if s.Check {
		words = append(words, "check")
	}
	if s.Track != "" {
		words = append(words, "track", s.Track)
	}
	words = append(words,
		"inter", formatTime(s.Inter),
		"fastinter", formatTime(s.FastInter),
		"downinter", formatTime(s.DownInter),
		"rise", strconv.Itoa(s.Rise),
		"fall", strconv.Itoa(s.Fall),
		"weight", strconv.Itoa(s.Weight))
	if s.CheckPort != 0 {
		words = append(words, "port", strconv.Itoa(s.CheckPort))
	}
	if s.CheckAddr != "" {
		words = append(words, "addr", s.CheckAddr)
	}
	if s.Agent {
		words = append(words, "agent-check")
	}
	words = append(words, "agent-inter", formatTime(s.AgentInter))
	if s.AgentPort != 0 {
		words = append(words, "agent-port", strconv.Itoa(s.AgentPort))
	}
	if s.AgentAddr != "" {
		words = append(words, "agent-addr", s.AgentAddr)
	}
	if s.AgentSend != "" {
		words = append(words, "agent-send", quote(s.AgentSend))
	}
	if s.MaxConn != 0 {
		words = append(words, "maxconn", strconv.Itoa(s.MaxConn))
	}
	if s.MaxQueue != 0 {
		words = append(words, "maxqueue", strconv.Itoa(s.MaxQueue))
	}
	if s.Backup {
		words = append(words, "backup")
	}
	if s.Disabled {
		words = append(words, "disabled")
	}
	if s.SlowStart != 0 {
		words = append(words, "slowstart", formatTime(s.SlowStart))
	}
	if s.OnMarkedDownShutdown {
		words = append(words, "on-marked-down", "shutdown-sessions")
	}
	if s.OnMarkedUpShutdownBackup {
		words = append(words, "on-marked-up", "shutdown-backup-sessions")
	}
	w.line(words...)
}

// joinHostPort brackets IPv6 addresses, so the port is never ambiguous.
func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// quote writes s as one word that splitWords reads back unchanged:
// as is when it is plain, else with backslash escapes, including \$ so
// that no ${...} is expanded and \xHH for control and non-ASCII bytes.
func quote(s string) string {
	if s == "" {
		return `""`
	}
	plain := true
	for i := 0; i < len(s); i++ {
		if !plainByte(s[i]) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case plainByte(c):
			b.WriteByte(c)
		case c == ' ' || c == '#' || c == '\\' || c == '\'' || c == '"' || c == '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// plainByte reports whether c needs no escaping in a word.
func plainByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("-_.:/@[]*,+=%()~!^&|<>?;{}", c) >= 0
}

// check writes a backend's health check options and rules.
func (w *formatter) check(c CheckSpec) {
	if e := c.HTTPExpect; e != nil {
		w.line("http-check", "expect", negated(e.Not)+e.Match, e.Pattern)
	}
	for _, r := range c.Rules {
		switch r.Action {
		case "connect":
			if r.Port != 0 {
				w.line("tcp-check", "connect", "port", strconv.Itoa(r.Port))
			} else {
				w.line("tcp-check", "connect")
			}
		case "send", "send-binary":
			w.line("tcp-check", r.Action, r.Data)
		case "expect":
			w.line("tcp-check", "expect", negated(r.Not)+r.Match, r.Pattern)
		case "comment":
			w.line("tcp-check", "comment", r.Comment)
		}
	}
	var role []string
	if c.Role != "" {
		role = []string{"role", c.Role}
		if c.Kind == CheckRedis && c.User != "" {
			role = append(role, "user", c.User)
		}
		for _, kv := range [][2]string{{"password", c.Password}, {"password-file", c.PasswordFile}, {"password-env", c.PasswordEnv}, {"database", c.Database}} {
			if kv[1] != "" {
				role = append(role, kv[0], kv[1])
			}
		}
	}
	switch c.Kind {
	case CheckTCP:
		w.line("option", "tcp-check")
	case CheckPgSQL:
		w.line(append([]string{"option", "pgsql-check", "user", c.User}, role...)...)
	case CheckMySQL:
		switch {
		case c.User == "":
			w.line("option", "mysql-check")
		case c.MySQLPre41:
			w.line(append([]string{"option", "mysql-check", "user", c.User, "pre-41"}, role...)...)
		default:
			w.line(append([]string{"option", "mysql-check", "user", c.User}, role...)...)
		}
	case CheckRedis:
		w.line(append([]string{"option", "redis-check"}, role...)...)
	case CheckHTTP:
		words := []string{"option", "httpchk"}
		if c.HTTPMethod != "" {
			words = append(words, c.HTTPMethod)
		}
		if c.HTTPURI != "" {
			words = append(words, c.HTTPURI)
		}
		if c.HTTPVersion != "" {
			words = append(words, c.HTTPVersion)
		}
		w.line(words...)
	}
}

func negated(not bool) string {
	if not {
		return "!"
	}
	return ""
}
