package runtime

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestCommandTable walks the table: no two rows with the same words, a
// help line on every visible row, usages that fit help's 40 columns.
func TestCommandTable(t *testing.T) {
	seen := map[string]bool{}
	for _, cmd := range commands {
		key := strings.Join(cmd.words, " ")
		if seen[key] {
			t.Errorf("%q appears twice", key)
		}
		seen[key] = true
		if cmd.run == nil {
			t.Errorf("%q has no handler", key)
		}
		if cmd.hidden {
			continue
		}
		if cmd.help == "" {
			t.Errorf("%q has no help line", key)
		}
		if n := len(cmd.usage()); n > 40 {
			t.Errorf("usage %q is %d columns; help pads to 40", cmd.usage(), n)
		}
	}
}

func TestLookupTakesLongestMatch(t *testing.T) {
	tests := []struct {
		line string
		want string // words of the row found, "" for none
	}{
		{"clear counters", "clear counters"},
		{"clear counters all", "clear counters all"},
		{"clear counters foo", "clear counters"},
		{"set maxconn server be/s 1", "set maxconn server"},
		{"set server be/s state ready", "set server"},
		{"show servers state be", "show servers state"},
		{"show servers", ""},
		{"SHOW stat", ""},
		{"shutdown sessions server be/s", "shutdown sessions server"},
		{"shutdown session 0x1", "shutdown session"},
	}
	for _, tt := range tests {
		got := ""
		if cmd := lookup(strings.Fields(tt.line)); cmd != nil {
			got = strings.Join(cmd.words, " ")
		}
		if got != tt.want {
			t.Errorf("lookup(%q) = %q; want %q", tt.line, got, tt.want)
		}
	}
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"show stat", []string{"show", "stat"}},
		{"  set   server\tbe/s  state ready ", []string{"set", "server", "be/s", "state", "ready"}},
		{`set server be/s agent-send hello\ world`, []string{"set", "server", "be/s", "agent-send", "hello world"}},
		{`say "two words"`, []string{"say", `"two`, `words"`}},
		{`it's #4/#1`, []string{"it's", "#4/#1"}},
		{`a\\b \x`, []string{`a\b`, "x"}},
		{`trailing\`, []string{"trailing"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := tokenize(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("tokenize(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitCommands(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"show info;show stat", []string{"show info", "show stat"}},
		{`show cli level\;x`, []string{`show cli level\;x`}},
		{";", []string{"", ""}},
		{"a", []string{"a"}},
	}
	for _, tt := range tests {
		if got := splitCommands(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitCommands(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestHelpListsEveryVisibleCommand(t *testing.T) {
	var b bytes.Buffer
	writeHelp(&b, "The following commands are valid at this level:\n", nil)
	out := b.String()
	if !strings.HasPrefix(out, "The following commands are valid at this level:\n") {
		t.Fatalf("header missing: %q", out)
	}
	if !strings.HasSuffix(out, "  quit                                    : disconnect\n") {
		t.Errorf("help does not end with the quit line:\n%s", out)
	}
	for _, cmd := range commands {
		if !cmd.hidden && !strings.Contains(out, "  "+cmd.usage()) {
			t.Errorf("help lacks %q", cmd.usage())
		}
	}
}
