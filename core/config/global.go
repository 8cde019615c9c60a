package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// globalKeyword is one row of the grammar of the global section.
type globalKeyword struct {
	usage string
	parse func(c *lineCtx, g *Global, args []string)
}

// globalKeywords are the global settings pivot implements.
var globalKeywords = map[string]globalKeyword{
	"maxconn": {"maxconn N", func(c *lineCtx, g *Global, args []string) {
		if c.nargs(args, 1, 1) {
			g.MaxConn, _ = c.int(args[0], 1, maxInt)
		}
	}},
	"maxpipes": {"maxpipes N", func(c *lineCtx, g *Global, args []string) {
		if c.nargs(args, 1, 1) {
			g.MaxPipes, _ = c.int(args[0], 0, maxInt)
		}
	}},
	"stats socket": {"stats socket ADDR [mode OCTAL] [uid N] [gid N] [user NAME] [group NAME] [level user|operator|admin] [expose-fd listeners]", parseStatsSocket},
	"stats timeout": {"stats timeout TIME", func(c *lineCtx, g *Global, args []string) {
		if c.nargs(args, 1, 1) {
			g.StatsTimeout, _ = c.time(args[0], true)
		}
	}},
	"server-state-file": {"server-state-file PATH", stringSetting(func(g *Global) *string { return &g.ServerStateFile })},
	"server-state-base": {"server-state-base DIR", stringSetting(func(g *Global) *string { return &g.ServerStateBase })},
	"pidfile":           {"pidfile PATH", stringSetting(func(g *Global) *string { return &g.PidFile })},
	"log": {logUsage, func(c *lineCtx, g *Global, args []string) {
		if len(args) > 0 && args[0] == "global" {
			c.errorf("\"log global\" only makes sense in a proxy section")
			return
		}
		t, err := parseLogTarget(c.pos, args)
		if err != nil {
			c.errorf("%s", err)
			return
		}
		g.Logs = append(g.Logs, t)
	}},
	"daemon": {"daemon", func(c *lineCtx, g *Global, args []string) {
		if c.nargs(args, 0, 0) {
			g.Daemon = true
		}
	}},
	"nbthread": {"nbthread N", func(c *lineCtx, g *Global, args []string) {
		if c.nargs(args, 1, 1) {
			g.NbThread, _ = c.int(args[0], 1, 4096)
		}
	}},
	"hard-stop-after": {"hard-stop-after TIME", func(c *lineCtx, g *Global, args []string) {
		if c.nargs(args, 1, 1) {
			g.HardStopAfter, _ = c.time(args[0], false)
		}
	}},
}

func stringSetting(field func(*Global) *string) func(*lineCtx, *Global, []string) {
	return func(c *lineCtx, g *Global, args []string) {
		if !c.nargs(args, 1, 1) {
			return
		}
		if args[0] == "" {
			c.errorf("empty path")
			return
		}
		*field(g) = args[0]
	}
}

// globalLine applies one line of the global section.
func (p *parser) globalLine(pos Pos, words []string) {
	name, args := words[0], words[1:]
	k, ok := globalKeyword{}, false
	if len(args) > 0 {
		if k, ok = globalKeywords[name+" "+args[0]]; ok {
			name, args = name+" "+args[0], args[1:]
		}
	}
	if !ok {
		k, ok = globalKeywords[name]
	}
	if !ok {
		if name == "stats" && len(args) > 0 {
			name += " " + args[0]
		}
		p.errorAt(pos, name, "unknown keyword %q in global section", name)
		return
	}
	k.parse(&lineCtx{p: p, pos: pos, kw: name, usage: k.usage}, &p.global, args)
}

// parseStatsSocket reads a `stats socket` line.
func parseStatsSocket(c *lineCtx, g *Global, args []string) {
	if !c.nargs(args, 1, -1) {
		return
	}
	s := StatsSocket{Pos: c.pos, UID: -1, GID: -1}
	addr, err := statsAddr(args[0])
	if err != nil {
		c.errorf("invalid address %q: %s", args[0], err)
		return
	}
	s.Addr = addr
	ok := true
	for i := 1; i < len(args); i++ {
		opt := args[i]
		switch opt {
		case "mode", "uid", "gid", "user", "group", "level", "expose-fd":
		default:
			c.errorf("unknown option %q (pivot knows mode, uid, gid, user, group, level and expose-fd)", opt)
			return
		}
		if i+1 >= len(args) {
			c.errorf("%s: missing value", opt)
			ok = false
			break
		}
		i++
		v := args[i]
		var err error
		switch opt {
		case "mode":
			var m uint64
			m, err = strconv.ParseUint(v, 8, 32)
			if err != nil || m > 0o777 {
				err = fmt.Errorf("invalid mode %q (an octal permission such as 660)", v)
			}
			s.Mode = os.FileMode(m)
		case "uid":
			s.UID, err = parseInt(v, 0, maxInt)
		case "gid":
			s.GID, err = parseInt(v, 0, maxInt)
		case "user":
			s.User = v
		case "group":
			s.Group = v
		case "level":
			if v != "user" && v != "operator" && v != "admin" {
				err = fmt.Errorf("unknown level %q (must be user, operator or admin)", v)
			}
			s.Level = v
		case "expose-fd":
			if v != "listeners" {
				err = fmt.Errorf("unknown value %q (must be listeners)", v)
			}
			s.ExposeFdListeners = true
		}
		if err != nil {
			c.errorf("%s: %s", opt, err)
			ok = false
		}
	}
	if ok {
		g.StatsSockets = append(g.StatsSockets, s)
	}
}

// statsAddr checks a stats socket address: a Unix socket path
// (optionally written unix@PATH), or ipv4@HOST:PORT / ipv6@HOST:PORT for
// a TCP socket. A bare HOST:PORT is taken as TCP, as HAProxy does, and
// given its family prefix so the model stays unambiguous.
func statsAddr(a string) (string, error) {
	prefix, rest := cutPrefix(a)
	switch {
	case prefix == "unix":
		if rest == "" {
			return "", fmt.Errorf("missing path")
		}
		if p, _ := cutPrefix(rest); p != "" {
			return "", fmt.Errorf("path %q looks like a prefixed address", rest)
		}
		return rest, nil
	case prefix == "ipv4" || prefix == "ipv6":
	case prefix != "":
		return "", fmt.Errorf("unknown address prefix %q (use a path, unix@, ipv4@ or ipv6@)", prefix+"@")
	case a == "":
		return "", fmt.Errorf("missing path")
	case strings.HasPrefix(a, "/") || !strings.Contains(a, ":"):
		return a, nil
	}
	host, port, hasPort, err := splitHostPort(rest)
	if err != nil {
		return "", err
	}
	if !hasPort {
		return "", fmt.Errorf("missing port")
	}
	if _, err := parsePort(port, 1); err != nil {
		return "", err
	}
	if host != "" && host != "*" {
		ip, err := parseIP(host)
		if err != nil {
			return "", fmt.Errorf("%q is not an IP address", host)
		}
		if prefix != "" {
			if err := checkFamily(prefix, ip); err != nil {
				return "", err
			}
		} else if ip.Is6() {
			prefix = "ipv6"
		}
	}
	if prefix == "" {
		prefix = "ipv4"
	}
	return prefix + "@" + rest, nil
}
