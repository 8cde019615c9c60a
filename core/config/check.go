package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// CheckKind says how a backend's servers are checked.
type CheckKind int

// The kinds of health check. CheckConnect, the default, only connects.
const (
	CheckConnect CheckKind = iota
	CheckTCP               // option tcp-check: the backend's tcp-check rules
	CheckPgSQL             // option pgsql-check user U
	CheckMySQL             // option mysql-check [user U [post-41|pre-41]]
	CheckRedis             // option redis-check
	CheckHTTP              // option httpchk [METHOD] [URI] [VERSION]
)

// CheckSpec is how the servers of a backend that have `check` are
// checked: HAProxy's `option *-check` and `tcp-check`/`http-check` lines.
type CheckSpec struct {
	Kind CheckKind
	// User is the user name pgsql-check and mysql-check log in as; empty
	// for mysql-check without a user (handshake only).
	User string
	// MySQLPre41 selects the pre-4.1 MySQL client packet.
	MySQLPre41 bool
	// Rules are the tcp-check rules in order (CheckTCP).
	Rules []TCPCheckRule
	// HTTP request and expectation (CheckHTTP).
	HTTPMethod, HTTPURI, HTTPVersion string
	HTTPExpect                       *HTTPExpect

	// Role, pivot's extension of pgsql-check, mysql-check and
	// redis-check: the check logs in as a real client and passes only
	// while the server holds this role ("primary" or "standby",
	// "writable" or "read-only", "master" or "replica").
	Role string
	// The role check's password, given inline, in a file (its first line)
	// or in an environment variable; and the database it connects to.
	Password, PasswordFile, PasswordEnv string
	Database                            string
}

// roles are the roles each role check knows.
var roles = map[CheckKind][]string{
	CheckPgSQL: {"primary", "standby"},
	CheckMySQL: {"writable", "read-only"},
	CheckRedis: {"master", "replica"},
}

// parseRole reads "role R [user U] [password P|password-file F|
// password-env V] [database D]" at the end of a check option.
func parseRole(c *lineCtx, spec *CheckSpec, args []string) bool {
	if len(args) < 2 || args[0] != "role" {
		c.errorf("expects role %s after its own arguments (usage: %s)", strings.Join(roles[spec.Kind], "|"), c.usage)
		return false
	}
	if !slices.Contains(roles[spec.Kind], args[1]) {
		c.errorf("role %q: expects %s", args[1], strings.Join(roles[spec.Kind], " or "))
		return false
	}
	spec.Role = args[1]
	rest := args[2:]
	for i := 0; i < len(rest); i += 2 {
		if i+1 >= len(rest) {
			c.errorf("%s: missing value", rest[i])
			return false
		}
		v := rest[i+1]
		switch rest[i] {
		case "user":
			if spec.Kind != CheckRedis {
				c.errorf("user goes before role")
				return false
			}
			spec.User = v
		case "password":
			spec.Password = v
		case "password-file":
			spec.PasswordFile = v
		case "password-env":
			spec.PasswordEnv = v
		case "database":
			if spec.Kind == CheckRedis {
				c.errorf("database: redis-check has no database")
				return false
			}
			spec.Database = v
		default:
			if i >= 2 && rest[i-2] == "password" {
				// Most likely the rest of a password with a space: never
				// echo it (errors are logged).
				c.errorf("unexpected word after the password: quote a password that holds spaces, or use password-file")
				return false
			}
			c.errorf("%q: expects user, password, password-file, password-env or database", rest[i])
			return false
		}
	}
	given := 0
	for _, v := range []string{spec.Password, spec.PasswordFile, spec.PasswordEnv} {
		if v != "" {
			given++
		}
	}
	if given > 1 {
		c.errorf("give one of password, password-file and password-env")
		return false
	}
	return true
}

// TCPCheckRule is one `tcp-check` line.
type TCPCheckRule struct {
	Pos Pos
	// Action is "connect", "send", "send-binary", "expect" or "comment".
	Action string
	// Port is connect's `port N`; 0 keeps the server's check port.
	Port int
	// Data is what send writes (escapes resolved) or send-binary's hex.
	Data string
	// Match is expect's kind: "string", "rstring", "binary" or "rbinary";
	// Not is its leading "!".
	Match   string
	Not     bool
	Pattern string
	// Comment is comment's text.
	Comment string
}

// HTTPExpect is an `http-check expect` line.
type HTTPExpect struct {
	// Match is "status", "rstatus", "string" or "rstring".
	Match   string
	Not     bool
	Pattern string
}

func parseCheckOption(kind CheckKind) func(c *lineCtx, args []string) {
	return func(c *lineCtx, args []string) {
		spec := CheckSpec{Kind: kind}
		switch kind {
		case CheckPgSQL:
			if len(args) < 2 || args[0] != "user" {
				c.errorf("expects user <username> (usage: %s)", c.usage)
				return
			}
			spec.User = args[1]
			if len(args) > 2 && !parseRole(c, &spec, args[2:]) {
				return
			}
		case CheckMySQL:
			if len(args) > 0 {
				if args[0] != "user" || len(args) < 2 {
					c.errorf("expects nothing, or user <username> [post-41|pre-41] [role ...] (usage: %s)", c.usage)
					return
				}
				spec.User = args[1]
				rest := args[2:]
				if len(rest) > 0 && rest[0] != "role" {
					switch rest[0] {
					case "post-41":
					case "pre-41":
						spec.MySQLPre41 = true
					default:
						c.errorf("%q: expects post-41 or pre-41", rest[0])
						return
					}
					rest = rest[1:]
				}
				if len(rest) > 0 && !parseRole(c, &spec, rest) {
					return
				}
			}
		case CheckRedis:
			if len(args) > 0 && !parseRole(c, &spec, args) {
				return
			}
		case CheckHTTP:
			if !c.nargs(args, 0, 3) {
				return
			}
			switch len(args) {
			case 1:
				spec.HTTPURI = args[0]
			case 2, 3:
				spec.HTTPMethod, spec.HTTPURI = args[0], args[1]
				if len(args) == 3 {
					spec.HTTPVersion = args[2]
				}
			}
			if strings.ContainsAny(spec.HTTPVersion, "\r\n") {
				c.errorf("headers after the HTTP version are not supported: give the version alone")
				return
			}
			spec.HTTPExpect = c.d.px.Check.HTTPExpect
		default:
			if !c.nargs(args, 0, 0) {
				return
			}
		}
		if kind == CheckTCP {
			spec.Rules = c.d.px.Check.Rules
		}
		c.d.px.Check = spec
	}
}

// parseTCPCheck reads a `tcp-check` rule.
func parseTCPCheck(c *lineCtx, args []string) {
	r := TCPCheckRule{Pos: c.pos, Action: strings.TrimPrefix(c.kw, "tcp-check ")}
	switch r.Action {
	case "connect":
		for _, prev := range c.d.px.Check.Rules {
			if prev.Action != "comment" && prev.Action != "connect" {
				c.errorf("the first step must be a connect (comments aside) when the rules have one: move this connect before the %s at line %d", prev.Action, prev.Pos.Line)
				return
			}
		}
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "port":
				if i+1 >= len(args) {
					c.errorf("port: missing value")
					return
				}
				p, err := parsePort(args[i+1], 1)
				if err != nil {
					c.errorf("port: %s", err)
					return
				}
				r.Port = p
				i++
			default:
				c.errorf("%q is not supported (pivot supports: port N)", args[i])
				return
			}
		}
	case "send", "send-binary", "comment":
		if !c.nargs(args, 1, 1) {
			return
		}
		r.Data = args[0]
		if r.Action == "comment" {
			r.Comment, r.Data = args[0], ""
		}
		if r.Action == "send-binary" {
			if err := checkHex(args[0]); err != nil {
				c.errorf("%s", err)
				return
			}
		}
	case "expect":
		if len(args) != 2 {
			c.errorf("expects [!]string|rstring|binary|rbinary <pattern> (usage: %s)", c.usage)
			return
		}
		m := args[0]
		if r.Not = strings.HasPrefix(m, "!"); r.Not {
			m = m[1:]
		}
		if !slices.Contains([]string{"string", "rstring", "binary", "rbinary"}, m) {
			c.errorf("unknown match %q (pivot supports string, rstring, binary, rbinary)", args[0])
			return
		}
		r.Match, r.Pattern = m, args[1]
		if err := checkPattern(m, args[1]); err != nil {
			c.errorf("%s", err)
			return
		}
	}
	c.d.px.Check.Rules = append(slices.Clip(c.d.px.Check.Rules), r)
}

// parseHTTPCheckExpect reads `http-check expect [!]status|rstatus|string|rstring <pattern>`.
func parseHTTPCheckExpect(c *lineCtx, args []string) {
	if len(args) != 2 {
		c.errorf("expects [!]status|rstatus|string|rstring <pattern> (usage: %s)", c.usage)
		return
	}
	e := &HTTPExpect{Match: args[0], Pattern: args[1]}
	if e.Not = strings.HasPrefix(e.Match, "!"); e.Not {
		e.Match = e.Match[1:]
	}
	switch e.Match {
	case "status":
		for _, code := range strings.Split(e.Pattern, ",") {
			lo, hi, isRange := strings.Cut(code, "-")
			if _, err := parseInt(lo, 100, 599); err != nil {
				c.errorf("status %q: expects a code or a range of codes (200, 200-399)", e.Pattern)
				return
			}
			if isRange {
				if _, err := parseInt(hi, 100, 599); err != nil {
					c.errorf("status %q: expects a code or a range of codes (200, 200-399)", e.Pattern)
					return
				}
			}
		}
	case "rstatus", "rstring":
		if err := checkPattern("rstring", e.Pattern); err != nil {
			c.errorf("%s", err)
			return
		}
	case "string":
	default:
		c.errorf("unknown match %q (pivot supports status, rstatus, string, rstring)", args[0])
		return
	}
	c.d.px.Check.HTTPExpect = e
}

// checkPattern checks an expect pattern: a valid regular expression for
// the r* kinds, hex for binary.
func checkPattern(kind, pattern string) error {
	switch kind {
	case "rstring", "rbinary":
		if _, err := regexp.Compile(pattern); err != nil {
			return fmt.Errorf("invalid regular expression %q: %v", pattern, err)
		}
	case "binary":
		return checkHex(pattern)
	}
	return nil
}

func checkHex(s string) error {
	if len(s)%2 != 0 {
		return fmt.Errorf("hex string %q has an odd number of digits", s)
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return fmt.Errorf("%q is not a hex string", s)
		}
	}
	return nil
}
