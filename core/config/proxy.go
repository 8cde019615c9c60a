package config

import (
	"strings"
	"time"
)

// proxyKeyword is one row of the table of keywords allowed in defaults,
// frontend, backend and listen sections.
type proxyKeyword struct {
	where     sections
	usage     string
	negatable bool // accepts a leading "no"
	parse     func(c *lineCtx, args []string)
}

// compoundKeywords take their second word as part of the keyword
// ("timeout connect"), so an unknown one is named with both words.
var compoundKeywords = map[string]bool{"timeout": true, "option": true, "rate-limit": true, "stats": true, "tcp-check": true, "http-check": true}

// proxyKeywords is the grammar of proxy sections. Its `where` column
// follows HAProxy's keyword matrix, with one change: default_backend is
// refused in listen, whose own servers are its backend.
var proxyKeywords = map[string]proxyKeyword{
	"mode":                        {inAll, "mode tcp", false, parseMode},
	"bind":                        {inFrontend | inListen, "bind ADDR:PORT[,ADDR:PORT...] [name NAME] [id N] [maxconn N] [v4v6] [v6only]", false, parseBind},
	"default_backend":             {inDefaults | inFrontend, "default_backend BACKEND", false, parseDefaultBackend},
	"use_backend":                 {inFrontend | inListen, "use_backend BACKEND", false, parseUseBackend},
	"balance":                     {inBackish, "balance roundrobin|static-rr|leastconn|first|source|random[(N)]", false, parseBalance},
	"maxconn":                     {inFrontish, "maxconn N", false, intField(func(px *Proxy) *int { return &px.MaxConn }, 1)},
	"fullconn":                    {inBackish, "fullconn N", false, intField(func(px *Proxy) *int { return &px.FullConn }, 1)},
	"rate-limit sessions":         {inFrontish, "rate-limit sessions N", false, intField(func(px *Proxy) *int { return &px.RateLimitSessions }, 0)},
	"retries":                     {inBackish, "retries N", false, intField(func(px *Proxy) *int { return &px.Retries }, 0)},
	"timeout connect":             {inBackish, "timeout connect TIME", false, timeoutField(func(t *Timeouts) *time.Duration { return &t.Connect })},
	"timeout client":              {inFrontish, "timeout client TIME", false, timeoutField(func(t *Timeouts) *time.Duration { return &t.Client })},
	"timeout server":              {inBackish, "timeout server TIME", false, timeoutField(func(t *Timeouts) *time.Duration { return &t.Server })},
	"timeout queue":               {inBackish, "timeout queue TIME", false, timeoutField(func(t *Timeouts) *time.Duration { return &t.Queue })},
	"timeout check":               {inBackish, "timeout check TIME", false, timeoutField(func(t *Timeouts) *time.Duration { return &t.Check })},
	"timeout client-fin":          {inFrontish, "timeout client-fin TIME", false, timeoutField(func(t *Timeouts) *time.Duration { return &t.ClientFin })},
	"timeout server-fin":          {inBackish, "timeout server-fin TIME", false, timeoutField(func(t *Timeouts) *time.Duration { return &t.ServerFin })},
	"timeout tunnel":              {inBackish, "timeout tunnel TIME", false, timeoutField(func(t *Timeouts) *time.Duration { return &t.Tunnel })},
	"option redispatch":           {inBackish, "option redispatch [N]", true, parseRedispatch},
	"option tcplog":               {inFrontish, "option tcplog", true, flagOption(func(px *Proxy) *bool { return &px.TCPLog })},
	"option dontlognull":          {inFrontish, "option dontlognull", true, flagOption(func(px *Proxy) *bool { return &px.DontLogNull })},
	"option allbackups":           {inBackish, "option allbackups", true, flagOption(func(px *Proxy) *bool { return &px.AllBackups })},
	"option splice-auto":          {inAll, "option splice-auto", true, parseSplice},
	"option splice-request":       {inAll, "option splice-request", true, parseSplice},
	"option splice-response":      {inAll, "option splice-response", true, parseSplice},
	"option tcp-check":            {inBackish, "option tcp-check", false, parseCheckOption(CheckTCP)},
	"option pgsql-check":          {inBackish, "option pgsql-check user USER [role primary|standby [password P|password-file F|password-env V] [database D]]", false, parseCheckOption(CheckPgSQL)},
	"option mysql-check":          {inBackish, "option mysql-check [user USER [post-41|pre-41] [role writable|read-only [password...] [database D]]]", false, parseCheckOption(CheckMySQL)},
	"option redis-check":          {inBackish, "option redis-check [role master|replica [user U] [password P|password-file F|password-env V]]", false, parseCheckOption(CheckRedis)},
	"option httpchk":              {inBackish, "option httpchk [[METHOD] URI [VERSION]]", false, parseCheckOption(CheckHTTP)},
	"tcp-check connect":           {inBackish, "tcp-check connect [port N]", false, parseTCPCheck},
	"tcp-check send":              {inBackish, "tcp-check send STRING", false, parseTCPCheck},
	"tcp-check send-binary":       {inBackish, "tcp-check send-binary HEX", false, parseTCPCheck},
	"tcp-check expect":            {inBackish, "tcp-check expect [!]string|rstring|binary|rbinary PATTERN", false, parseTCPCheck},
	"tcp-check comment":           {inBackish, "tcp-check comment TEXT", false, parseTCPCheck},
	"load-server-state-from-file": {inBackish, "load-server-state-from-file global|none", false, parseLoadServerState},
	"http-check expect":           {inBackish, "http-check expect [!]status|rstatus|string|rstring PATTERN", false, parseHTTPCheckExpect},
	"log":                         {inAll, "log global | log ADDR [len N] [format FORMAT] FACILITY [LEVEL [MINLEVEL]]", true, parseProxyLog},
	"default-server":              {inBackish, "default-server [SERVER-KEYWORDS...]", false, parseDefaultServer},
	"server":                      {inListen | inBackend, "server NAME ADDR[:PORT] [SERVER-KEYWORDS...]", false, parseServer},
	"disabled":                    {inAll, "disabled", false, parseDisabled(true)},
	"enabled":                     {inProxies, "enabled", false, parseDisabled(false)},
	"id":                          {inProxies, "id N", false, intField(func(px *Proxy) *int { return &px.ID }, 1)},
	"description":                 {inProxies, "description TEXT", false, parseDescription},
}

// proxyLine applies one line of a defaults, frontend, backend or listen
// section.
func (p *parser) proxyLine(pos Pos, words []string) {
	kw, args := words[0], words[1:]
	neg := false
	if kw == "no" {
		if len(args) == 0 {
			p.errorAt(pos, "no", "%q in %s: missing keyword (usage: no option NAME | no log)", "no", p.where())
			return
		}
		neg, kw, args = true, args[0], args[1:]
	}
	name := kw
	k, ok := proxyKeyword{}, false
	if len(args) > 0 {
		if k, ok = proxyKeywords[kw+" "+args[0]]; ok {
			name, args = kw+" "+args[0], args[1:]
		}
	}
	if !ok {
		k, ok = proxyKeywords[kw]
	}
	if !ok || k.parse == nil {
		if compoundKeywords[kw] && len(args) > 0 {
			name = kw + " " + args[0]
		}
		if neg {
			name = "no " + name
		}
		p.errorAt(pos, name, "unknown keyword %q in %s", name, p.where())
		return
	}
	if neg && !k.negatable {
		p.errorAt(pos, name, "%q in %s: cannot be negated with \"no\"", name, p.where())
		return
	}
	if !k.where.has(p.sec) {
		p.errorAt(pos, name, "%q is not allowed in %s (only in %s)", name, p.where(), k.where)
		return
	}
	k.parse(&lineCtx{p: p, d: p.cur, pos: pos, kw: name, usage: k.usage, neg: neg}, args)
}

func parseMode(c *lineCtx, args []string) {
	if !c.nargs(args, 1, 1) {
		return
	}
	switch args[0] {
	case "tcp":
		c.d.px.Mode = "tcp"
	case "http", "health":
		c.p.errorAt(c.pos, c.kw, "mode %s is not supported in %s: pivot is a TCP (layer 4) load balancer", args[0], c.p.where())
	default:
		c.errorf("unknown mode %q (pivot supports only tcp)", args[0])
	}
}

func parseDefaultBackend(c *lineCtx, args []string) {
	if !c.nargs(args, 1, 1) {
		return
	}
	c.d.px.DefaultBackend = args[0]
	c.d.defaultBackendPos = c.pos
}

func parseUseBackend(c *lineCtx, _ []string) {
	c.errorf("not supported: pivot has no content switching rules; each frontend sends every connection to its default_backend")
}

// balanceAlgos are the algorithms pivot implements, in the order the
// error message lists them.
var balanceAlgos = []string{"roundrobin", "static-rr", "leastconn", "first", "source", "random"}

func parseBalance(c *lineCtx, args []string) {
	if !c.nargs(args, 1, 1) {
		return
	}
	a := args[0]
	if inner, ok := strings.CutPrefix(a, "random("); ok && strings.HasSuffix(inner, ")") {
		n, err := parseInt(strings.TrimSuffix(inner, ")"), 1, maxInt)
		if err != nil {
			c.errorf("random(N): %s", err)
			return
		}
		c.d.px.Balance = Balance{Algo: "random", Draws: n}
		return
	}
	for _, algo := range balanceAlgos {
		if a == algo {
			c.d.px.Balance = Balance{Algo: a}
			if a == "random" {
				c.d.px.Balance.Draws = 2
			}
			return
		}
	}
	c.errorf("unknown algorithm %q (must be one of %s or random(N))", a, strings.Join(balanceAlgos, ", "))
}

// intField sets a number of at least lo.
func intField(field func(*Proxy) *int, lo int) func(*lineCtx, []string) {
	return func(c *lineCtx, args []string) {
		if !c.nargs(args, 1, 1) {
			return
		}
		if n, ok := c.int(args[0], lo, maxInt); ok {
			*field(&c.d.px) = n
		}
	}
}

// timeoutField sets a timeout. Zero is refused: in HAProxy it means "no
// timeout at all", which pivot does not offer, and in the model it means
// "unset", so accepting it would silently change its meaning.
func timeoutField(field func(*Timeouts) *time.Duration) func(*lineCtx, []string) {
	return func(c *lineCtx, args []string) {
		if !c.nargs(args, 1, 1) {
			return
		}
		if d, ok := c.time(args[0], true); ok {
			*field(&c.d.px.Timeouts) = d
		}
	}
}

// flagOption sets an option, or clears it after "no".
func flagOption(field func(*Proxy) *bool) func(*lineCtx, []string) {
	return func(c *lineCtx, args []string) {
		if c.nargs(args, 0, 0) {
			*field(&c.d.px) = !c.neg
		}
	}
}

func parseRedispatch(c *lineCtx, args []string) {
	if c.neg {
		if c.nargs(args, 0, 0) {
			c.d.px.Redispatch, c.d.px.RedispatchInterval = false, 0
		}
		return
	}
	if !c.nargs(args, 0, 1) {
		return
	}
	n := 0
	if len(args) == 1 {
		var ok bool
		if n, ok = c.int(args[0], -maxInt, maxInt); !ok {
			return
		}
		if n == 0 {
			c.errorf("interval 0 would never redispatch; write \"no option redispatch\" instead")
			return
		}
	}
	c.d.px.Redispatch, c.d.px.RedispatchInterval = true, n
}

// parseSplice accepts the splice options and changes nothing: pivot
// always lets the kernel splice where it can.
func parseSplice(c *lineCtx, args []string) {
	c.nargs(args, 0, 0)
}

func parseDisabled(disabled bool) func(*lineCtx, []string) {
	return func(c *lineCtx, args []string) {
		if c.nargs(args, 0, 0) {
			c.d.px.Disabled = disabled
		}
	}
}

// parseDescription keeps the rest of the line, words joined by one
// space, as HAProxy does.
func parseDescription(c *lineCtx, args []string) {
	if c.nargs(args, 1, -1) {
		c.d.px.Description = strings.Join(args, " ")
	}
}

func parseLoadServerState(c *lineCtx, args []string) {
	if !c.nargs(args, 1, 1) {
		return
	}
	switch args[0] {
	case "global", "none":
		c.d.px.LoadServerState = args[0]
	case "local":
		c.errorf("local is not supported: pivot keeps one state file (use global, the default)")
	default:
		c.errorf("%q: expects global or none", args[0])
	}
}
