package ctl

import (
	"fmt"
	"strings"
)

// Reply texts that mean "refused" whatever the command. The HAProxy 2.6 CLI
// starts its generic errors with these words.
var refusalPrefixes = []string{
	"Unknown command",
	"Permission denied",
	"No such ",
	"Require ",
	"This command is restricted to ",
	"Proxy is disabled.",
	"A frontend name is expected.",
	"Session not found.",
	"Session pointer expected",
	"Can't find backend.",
	"Invalid statistics domain.",
	"Variable not found",
	"usage: ",
}

// Notices that HAProxy prints where success is silent, but that leave things
// in the state asked for. ClassifyReply counts them as success so that
// scripts can repeat a command safely.
var harmlessNotices = []string{
	"All sockets are already disabled.",
	"All sockets are already enabled.",
}

// ClassifyReply tells whether reply, the raw answer to cmd, is a refusal. It
// returns nil on success and a *RefusedError otherwise.
//
// The rules, for each `;`-separated command of the line:
//   - a command whose success prints nothing (set, enable, disable,
//     shutdown, clear, add, del, commit, operator, user) is refused when it
//     prints anything, except for the success messages `New server
//     registered.` (add server), `Server deleted.` (del server),
//     `server ssl setting updated.`, the report of `set server ... addr`,
//     the mode report of `expert-mode` without argument, and the
//     "already enabled/disabled" notices of `enable|disable frontend`;
//   - any other command (show, get, help, ...) is refused when its answer
//     starts with a known error text: `Unknown command`, `Permission
//     denied`, `No such ...`, `Require ...` and a few more.
//
// A line with several commands has one answer per command and they cannot
// be told apart reliably, so it is refused when any line of the reply starts
// with a known error text.
func ClassifyReply(cmd, reply string) error {
	msg := trimReply(reply)
	if msg == "" {
		return nil
	}
	cmds := SplitCommands(cmd)
	if len(cmds) > 1 {
		for _, line := range strings.Split(msg, "\n") {
			if isErrorText(stripSeverity(line)) {
				return refused(cmd, msg)
			}
		}
		return nil
	}
	words := strings.Fields(cmd)
	text := stripSeverity(msg)
	if isErrorText(text) {
		return refused(cmd, msg)
	}
	if !silentOnSuccess(words) {
		return nil
	}
	if successText(words, text) {
		return nil
	}
	return refused(cmd, msg)
}

// Refusal is the daemon's answer to cmd as a *RefusedError, with
// pivotctl's explanation when it has one: for commands whose success is
// a report, once the caller has seen that the answer is not one.
func Refusal(cmd, reply string) error { return refused(cmd, trimReply(reply)) }

func refused(cmd, msg string) *RefusedError {
	return &RefusedError{Cmd: cmd, Message: msg, Context: explain(cmd, msg)}
}

// trimReply removes the framing: the newlines that end an answer.
func trimReply(reply string) string {
	return strings.TrimRight(reply, "\n")
}

// TrimReply returns a command's output without the newlines that end every
// answer (the empty terminator line), with exactly one final newline if any
// output remains.
func TrimReply(reply string) string {
	s := trimReply(reply)
	if s == "" {
		return ""
	}
	return s + "\n"
}

func isErrorText(s string) bool {
	for _, p := range refusalPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// stripSeverity removes the `[3]: ` or `[err]: ` prefix that a socket with
// severity-output adds to feedback messages.
func stripSeverity(s string) string {
	if !strings.HasPrefix(s, "[") {
		return s
	}
	i := strings.Index(s, "]: ")
	if i < 0 || i > 10 {
		return s
	}
	return s[i+3:]
}

// silentOnSuccess tells whether the command prints nothing when it succeeds.
func silentOnSuccess(words []string) bool {
	if len(words) == 0 {
		return false
	}
	switch words[0] {
	case "set", "enable", "disable", "shutdown", "clear", "add", "del", "commit", "operator", "user", "expert-mode", "experimental-mode":
	default:
		return false
	}
	// TLS certificate commands answer with transaction reports; pivot has
	// no TLS, so leave them to the user's eyes.
	if len(words) > 1 && words[1] == "ssl" {
		return false
	}
	return true
}

// successText recognises the few non-empty success answers of otherwise
// silent commands.
func successText(words []string, text string) bool {
	for _, n := range harmlessNotices {
		if text == n {
			return true
		}
	}
	switch {
	case len(words) >= 2 && words[0] == "add" && words[1] == "server":
		return text == "New server registered."
	case len(words) >= 2 && words[0] == "del" && words[1] == "server":
		return text == "Server deleted."
	case len(words) == 1 && (words[0] == "expert-mode" || words[0] == "experimental-mode"):
		return strings.HasPrefix(text, words[0]+" is ")
	case len(words) >= 4 && words[0] == "set" && words[1] == "server" && words[3] == "ssl":
		return text == "server ssl setting updated."
	case len(words) >= 4 && words[0] == "set" && words[1] == "server" && words[3] == "addr":
		// set server B/S addr always reports what it did; these are the
		// reports of a change that was made (or not needed).
		return strings.HasSuffix(text, "by 'stats socket command'") &&
			!strings.HasPrefix(text, "Invalid addr") &&
			!strings.HasPrefix(text, "Update ") &&
			!strings.Contains(text, "problem converting port") &&
			!strings.Contains(text, "can't change")
	}
	return false
}

// SplitCommands splits a socket line into its commands at each `;` that is
// not escaped with a backslash, as the daemon does. Empty commands are kept.
func SplitCommands(line string) []string {
	var (
		out []string
		cur strings.Builder
	)
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line):
			cur.WriteByte(c)
			cur.WriteByte(line[i+1])
			i++
		case c == ';':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String())
}

// explain turns a daemon's terse refusal into a sentence naming the objects
// of the command, when it can tell which object was meant.
func explain(cmd, msg string) string {
	words := strings.Fields(cmd)
	text := stripSeverity(firstLine(msg))
	be, srv, hasRef := serverRefIn(words)
	fe := frontendIn(words)
	switch {
	case text == "No such server." && hasRef:
		return fmt.Sprintf("backend %q: no server named %q", be, srv)
	case text == "No such backend." && hasRef:
		return fmt.Sprintf("no backend named %q", be)
	case text == "No such frontend." && fe != "":
		return fmt.Sprintf("no frontend named %q", fe)
	case text == "Only servers in maintenance mode can be deleted." && hasRef:
		return fmt.Sprintf("server %s/%s is not in maintenance; put it there first (pivotctl server maint %s/%s)", be, srv, be, srv)
	case text == "Server still has connections attached to it, cannot remove it." && hasRef:
		return fmt.Sprintf("server %s/%s still has sessions; cut them first (pivotctl kill %s/%s)", be, srv, be, srv)
	case text == "Already exists a server with the same name in backend." && hasRef:
		return fmt.Sprintf("backend %q already has a server named %q", be, srv)
	case text == "Backend must use a dynamic load balancing to support dynamic servers." && hasRef:
		return fmt.Sprintf("backend %q uses a static balance algorithm; servers cannot be added at runtime", be)
	case strings.HasPrefix(text, "Permission denied"):
		return fmt.Sprintf("%q needs a higher access level than this socket's (admin commands need `level admin`)", cmd)
	case strings.HasPrefix(text, "Unknown command"):
		return fmt.Sprintf("the daemon does not know the command %q", cmd)
	}
	return ""
}

// serverRefIn finds the B/S designator of a server command.
func serverRefIn(words []string) (be, srv string, ok bool) {
	var i int
	switch {
	case len(words) >= 3 && (words[0] == "set" || words[0] == "add" || words[0] == "del") && words[1] == "server",
		len(words) >= 3 && (words[0] == "enable" || words[0] == "disable") && (words[1] == "server" || words[1] == "health" || words[1] == "agent"),
		len(words) >= 3 && (words[0] == "get" || words[0] == "set") && words[1] == "weight":
		i = 2
	case len(words) >= 2 && words[0] == "failover":
		i = 1
	case len(words) >= 4 && words[0] == "shutdown" && words[1] == "sessions" && words[2] == "server",
		len(words) >= 4 && words[0] == "set" && words[1] == "maxconn" && words[2] == "server":
		i = 3
	default:
		return "", "", false
	}
	be, srv, ok = strings.Cut(words[i], "/")
	return be, srv, ok && be != "" && srv != ""
}

// frontendIn finds the frontend named by enable/disable/shutdown frontend.
func frontendIn(words []string) string {
	if len(words) >= 3 && words[1] == "frontend" && (words[0] == "enable" || words[0] == "disable" || words[0] == "shutdown") {
		return words[2]
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
