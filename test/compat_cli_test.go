package test

import (
	"strings"
	"testing"
)

// compatSimpleCfg is a small configuration for the scenarios that do not
// look at servers much.
const compatSimpleCfg = compatGlobal + `
frontend fe_app
    bind $FE1
    default_backend be_app

backend be_app
    server s1 $s1
    server s2 $s2
`

func startCompatSimple(t *testing.T) *compatPair {
	t.Helper()
	s1, s2 := startBackend(t, "s1"), startBackend(t, "s2")
	return startCompat(t, compatSimpleCfg, vars{"s1": s1.Addr, "s2": s2.Addr})
}

func TestCompatFraming(t *testing.T) {
	t.Parallel()
	p := startCompatSimple(t)
	p.run(t, []compatStep{
		{cmd: "show cli level"},
		{cmd: "show cli level", sock: "oper"},
		{cmd: "show cli level", sock: "user"},
		{desc: "semicolons", cmd: "show cli level; show cli level;get weight be_app/s2"},
		{desc: "empty segment", cmd: "show cli level;;show cli level", first: true},
		{desc: "escaped semicolon", cmd: `get weight be_app/s1\;x`},
		{desc: "escaped semicolon then command", raw: "show cli level\\; foo; show cli level\n", first: true},
		{desc: "several lines in one write", raw: "show cli level\nget weight be_app/s2\nshow backend\n"},
		{desc: "last line without LF", raw: "show cli level"},
		{desc: "line then unterminated line", raw: "show cli level\nshow backend"},
		{desc: "CRLF", raw: "show cli level\r\n"},
		{desc: "CRLF on several lines", raw: "show cli level\r\nget weight be_app/s1\r\n"},
		{desc: "leading blanks", raw: "   \tshow cli level\n"},
		{desc: "tabs between words", raw: "get\tweight\t be_app/s1\n"},
		{desc: "empty line", raw: "\n", first: true},
		{desc: "empty line then command", raw: "\nshow cli level\n", first: true},
		{desc: "unknown command", cmd: "foo", first: true},
		{desc: "unknown show", cmd: "show foo", first: true},
		{desc: "unknown set", cmd: "set srv", first: true},
		{desc: "upper case", cmd: "SHOW CLI LEVEL", first: true},
		{desc: "quit stops the line", cmd: "show cli level;quit;show backend"},
		{desc: "quit alone", cmd: "quit"},
		{desc: "prompt on a one-shot line", cmd: "prompt;show cli level;prompt;show cli level"},
		{desc: "prompt then show", cmd: "prompt; show cli level"},
		{desc: "quotes are ordinary", cmd: `get weight "be_app/s1"`},
		{desc: "help usage column", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			return compatHelpUsages(send(t, d.Sock("admin"), "help"), p)
		}},
	})
}

// compatHelpUsages keeps, of a help answer, its first line and the usage
// column of the rows whose usage both daemons list (descriptions are
// pivot's own).
func compatHelpUsages(out string, p *compatPair) string {
	hap := compatUsages(send(p.t, p.Hap.Sock("admin"), "help"))
	piv := compatUsages(send(p.t, p.Piv.Sock("admin"), "help"))
	shared := map[string]bool{}
	for u := range hap {
		if piv[u] {
			shared[u] = true
		}
	}
	first, rest, _ := strings.Cut(out, "\n")
	var b strings.Builder
	b.WriteString(first + "\n")
	for _, l := range strings.Split(rest, "\n") {
		u, _, _ := strings.Cut(l, " : ")
		if shared[strings.TrimSpace(u)] {
			b.WriteString(u + "\n")
		}
	}
	return b.String()
}

// compatUsages is the set of first words (the command keywords) of help
// rows: a row is shared when both list its keywords.
func compatUsages(out string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(out, "\n")[1:] {
		u, _, ok := strings.Cut(l, " : ")
		if ok {
			m[strings.TrimSpace(u)] = true
		}
	}
	return m
}

func TestCompatPrompt(t *testing.T) {
	t.Parallel()
	p := startCompatSimple(t)
	transcript := func(lines ...string) func(t *testing.T, p *compatPair, d *compatDaemon) string {
		return func(t *testing.T, p *compatPair, d *compatDaemon) string {
			s := compatDialPrompt(t, d.Sock("admin"))
			var b strings.Builder
			for _, l := range lines {
				b.WriteString("C: " + l + "\nS: " + s.Do(l) + "\n")
			}
			return b.String()
		}
	}
	p.run(t, []compatStep{
		{desc: "prompt, commands, prompt off", do: transcript("prompt", "show cli level", "get weight be_app/s1", "prompt")},
		{desc: "prompt then quit", do: transcript("prompt", "show cli level", "quit")},
		{desc: "prompt, set, messages without LF", do: transcript("prompt", "set server be_app/s1 weight abc", "del server be_app", "set server be_app/s1 weight 1", "quit")},
		{desc: "prompt, semicolons", do: transcript("prompt", "show cli level;get weight be_app/s2", "quit")},
		{desc: "prompt, level lowered", do: transcript("prompt", "operator", "show cli level", "set server be_app/s1 weight 1", "user", "show cli level", "operator", "quit")},
		{desc: "prompt, unknown", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			s := compatDialPrompt(t, d.Sock("admin"))
			s.Do("prompt")
			out := s.Do("foo")
			first, _, _ := strings.Cut(out, "\n")
			return first + " ... ends with prompt: " + boolStr(strings.HasSuffix(out, "\n\n> ")) + "\n" + s.Do("show cli level")
		}},
	})
}

func boolStr(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func TestCompatLevels(t *testing.T) {
	t.Parallel()
	p := startCompatSimple(t)
	var steps []compatStep
	for _, sock := range []string{"oper", "user"} {
		for _, cmd := range []string{
			"set server be_app/s1 state drain",
			"set weight be_app/s1 2",
			"set maxconn server be_app/s1 10",
			"set maxconn frontend fe_app 10",
			"set maxconn global 100",
			"set rate-limit connections global 10",
			"enable server be_app/s1",
			"disable health be_app/s1",
			"add server be_app/s9 127.0.0.1:1",
			"del server be_app/s2",
			"shutdown sessions server be_app/s1",
			"shutdown session 0x1234",
			"disable frontend fe_app",
			"clear counters all",
			"clear counters",
			"show sess 0x1",
			"show env NOSUCH",
			"show errors",
			"show servers state be_app",
			"get weight be_app/s1",
			"show backend",
		} {
			steps = append(steps, compatStep{sock: sock, cmd: cmd, desc: sock + ": " + cmd})
		}
	}
	steps = append(steps,
		compatStep{desc: "admin lowers to operator", cmd: "operator; show cli level; set weight be_app/s1 1; clear counters"},
		compatStep{desc: "admin lowers to user", cmd: "user; show cli level; clear counters; show env NOSUCH"},
		compatStep{desc: "operator cannot raise", sock: "oper", cmd: "show cli level; user; operator; show cli level"},
		compatStep{desc: "user cannot raise", sock: "user", cmd: "operator; show cli level"},
		compatStep{desc: "show cli sockets", cmd: "show cli sockets"},
		compatStep{desc: "help on user", sock: "user", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			first, _, _ := strings.Cut(send(t, d.Sock("user"), "help"), "\n")
			return first
		}},
		compatStep{desc: "show stat on user hides addr", sock: "user", cmd: "show stat be_app -1 -1"},
		compatStep{desc: "show stat after user keeps addr", cmd: "user; show stat be_app -1 -1"},
		compatStep{desc: "weights unchanged", cmd: "get weight be_app/s1; get weight be_app/s2"},
	)
	p.run(t, steps)
}
