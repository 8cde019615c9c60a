package runtime

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// Level is an access level of the admin socket, HAProxy's three.
type Level int

// Levels, lowest first. A command runs when the connection's level is at
// least the command's.
const (
	LevelUser Level = iota
	LevelOperator
	LevelAdmin
)

func (l Level) String() string {
	switch l {
	case LevelUser:
		return "user"
	case LevelOperator:
		return "operator"
	}
	return "admin"
}

// ParseLevel reads a `level` word of a `stats socket` line; empty means
// operator, HAProxy's default.
func ParseLevel(s string) (Level, error) {
	switch s {
	case "user":
		return LevelUser, nil
	case "", "operator":
		return LevelOperator, nil
	case "admin":
		return LevelAdmin, nil
	}
	return 0, fmt.Errorf("'level' only supports 'user', 'operator', and 'admin' (got '%s')", s)
}

// command is one row of the command table: the leading keywords, the
// usage and help line `help` prints, the lowest level allowed (checked
// once by the dispatcher) and the handler. A handler parses its words,
// makes one call into core, and writes the reply; the dispatcher adds the
// terminator.
type command struct {
	words  []string
	args   string // usage after the words
	help   string // one line
	level  Level
	hidden bool // runs but is never listed (pivot extensions under test, aliases)
	run    func(c *adminConn, w io.Writer, args []string)
}

// usage is the left column of `help`: the words and their arguments.
func (cmd *command) usage() string {
	u := strings.Join(cmd.words, " ")
	if cmd.args != "" {
		u += " " + cmd.args
	}
	return u
}

// fixedHelp are the three lines HAProxy prints last in every command list.
var fixedHelp = []*command{
	{words: []string{"help"}, args: "[<command>]", help: "list matching or all commands"},
	{words: []string{"prompt"}, help: "toggle interactive mode with prompt"},
	{words: []string{"quit"}, help: "disconnect"},
}

// lookup finds the command whose words start args, taking the longest
// match so that the table's order does not matter.
func lookup(args []string) *command {
	var best *command
	for i := range commands {
		cmd := &commands[i]
		if len(cmd.words) > len(args) || (best != nil && len(cmd.words) <= len(best.words)) {
			continue
		}
		if slices.Equal(cmd.words, args[:len(cmd.words)]) {
			best = cmd
		}
	}
	return best
}

// writeHelp lists the visible commands whose words start with prefix,
// sorted by usage, then the three fixed lines, under header.
func writeHelp(w io.Writer, header string, prefix []string) {
	var list []*command
	for i := range commands {
		cmd := &commands[i]
		if cmd.hidden || isFixed(cmd) {
			continue
		}
		n := min(len(prefix), len(cmd.words))
		if slices.Equal(cmd.words[:n], prefix[:n]) {
			list = append(list, cmd)
		}
	}
	if len(list) == 0 && len(prefix) > 0 {
		writeHelp(w, header, nil)
		return
	}
	sort.Slice(list, func(i, j int) bool { return list[i].usage() < list[j].usage() })
	io.WriteString(w, header)
	for _, cmd := range append(list, fixedHelp...) {
		fmt.Fprintf(w, "  %-40s: %s\n", cmd.usage(), cmd.help)
	}
}

func isFixed(cmd *command) bool {
	for _, f := range fixedHelp {
		if slices.Equal(f.words, cmd.words) {
			return true
		}
	}
	return false
}

// suggest answers an unknown command with the commands that share its
// first word (HAProxy ranks by similarity; tools only read the header).
func suggest(w io.Writer, args []string) {
	header := "Unknown command, but maybe one of the following ones is a better match:\n"
	if len(args) == 0 {
		writeHelp(w, "Unknown command. Please enter one of the following commands only:\n", nil)
		return
	}
	writeHelp(w, header, args[:1])
}
