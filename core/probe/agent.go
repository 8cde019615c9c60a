package probe

import (
	"bytes"
	"strings"
)

// Agent is HAProxy's agent check: connect, send the agent-send string
// (if any), read one line. It passes (L7OK) when a whole line came, with
// the line in Info for ParseAgentReply; everything else is a failure the
// caller shows without changing the server: an empty answer (L7RSP), a
// line without its newline (L7TOUT) or no answer in time (L7TOUT).
func Agent(send string) *Check {
	c := &Check{Builtin: true}
	if send != "" {
		c.Steps = append(c.Steps, Step{Action: Send, Data: []byte(send)})
	}
	c.Steps = append(c.Steps, Step{Action: Expect, Match: &Match{Kind: "custom", Tout: L7Tout, Custom: agentLine}})
	return c
}

// agentLine waits for the first line of the agent's answer. HAProxy
// numbers its (always present) send rule 1 and the expect rule 2, hence
// "step 2" whether or not anything is sent.
func agentLine(got []byte, eof bool) (Result, bool) {
	if i := bytes.IndexByte(got, '\n'); i >= 0 {
		return Result{Status: L7OK, Info: strings.TrimSuffix(string(got[:i]), "\r")}, true
	}
	if !eof {
		return Result{}, false
	}
	if len(got) == 0 {
		return Result{Status: L7Rsp, Info: "TCPCHK got an empty response at step 2"}, true
	}
	return Result{Status: L7Tout, Info: "Ignoring incomplete line from agent"}, true
}

// AgentReply is what an agent's line asks for. Each field holds the word
// as the agent sent it, or "" when the line did not say.
type AgentReply struct {
	// Health is up, down, stopped or fail (any case).
	Health string
	// Admin is ready, drain or maint: the server's administrative state.
	Admin string
	// Weight is "N%", a share of the configured weight.
	Weight string
	// Maxconn is the N of "maxconn:N".
	Maxconn string
	// Unknown is the first word the agent should not have sent.
	Unknown string
	// Reason is the text after a word starting with '#'.
	Reason string
}

// ParseAgentReply reads an agent's line as HAProxy does: words separated
// by blanks or commas, in any case and order, the last of each kind
// winning; a word beginning with '#' starts a free-text reason that runs
// to the end of the line ('#' inside a word is part of the word).
func ParseAgentReply(line string) AgentReply {
	var r AgentReply
	rest := line
	for {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			return r
		}
		if rest[0] == '#' {
			r.Reason = strings.TrimLeft(rest[1:], " \t")
			return r
		}
		end := strings.IndexAny(rest, " \t,")
		if end < 0 {
			end = len(rest)
		}
		word := rest[:end]
		rest = rest[end:]
		switch lower := strings.ToLower(word); {
		case lower == "up" || lower == "down" || lower == "stopped" || lower == "fail":
			r.Health = word
		case lower == "ready" || lower == "drain" || lower == "maint":
			r.Admin = lower
		case word[0] >= '0' && word[0] <= '9' && strings.Contains(word, "%"):
			r.Weight = word
		case strings.HasPrefix(lower, "maxconn:"):
			r.Maxconn = word[len("maxconn:"):]
		case r.Unknown == "":
			r.Unknown = word
		}
	}
}
