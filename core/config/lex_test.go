package config

import (
	"fmt"
	"testing"
)

// testEnv is a fixed environment, so lexer tests do not depend on the
// process's.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{"PORT": "5432", "HOST": "10.0.0.1", "EMPTY": "", "SPACED": "a b"}[name]
	return v, ok
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		desc, in string
		want     []string
	}{
		{"blanks", "  server \t s1   1.2.3.4:5 ", []string{"server", "s1", "1.2.3.4:5"}},
		{"comment", "bind :80 # the port", []string{"bind", ":80"}},
		{"comment inside a word", "bind :80#x", []string{"bind", ":80"}},
		{"only a comment", "   # nothing", nil},
		{"double quotes keep blanks and #", `description "a  b # c"`, []string{"description", "a  b # c"}},
		{"single quotes are literal", `description '${PORT} \n "x"'`, []string{"description", `${PORT} \n "x"`}},
		{"quoted parts join", `x 'a b'"c"d`, []string{"x", "a bcd"}},
		{"empty quotes are a word", `x "" ''`, []string{"x", "", ""}},
		{"escaped blank", `x a\ b`, []string{"x", "a b"}},
		{"escapes", `x \#\\\'\"\$`, []string{"x", `#\'"$`}},
		{"control escapes", `x \r\n\t`, []string{"x", "\r\n\t"}},
		{"hex escape", `x \x41\x7a`, []string{"x", "Az"}},
		{"escapes in double quotes", `x "\"\x41\t"`, []string{"x", "\"A\t"}},
		{"unknown escape keeps the backslash", `x a\db`, []string{"x", `a\db`}},
		{"env", "bind :${PORT}", []string{"bind", ":5432"}},
		{"env in double quotes", `x "${HOST}:${PORT}"`, []string{"x", "10.0.0.1:5432"}},
		{"env value is not split", "x ${SPACED}", []string{"x", "a b"}},
		{"env default", "x ${NOPE-7}", []string{"x", "7"}},
		{"env default unused", "x ${PORT-7}", []string{"x", "5432"}},
		{"env empty default", "x ${NOPE-}y", []string{"x", "y"}},
		{"unquoted empty env is no word", "x ${EMPTY} y", []string{"x", "y"}},
		{"quoted empty env is a word", `x "${EMPTY}" y`, []string{"x", "", "y"}},
		{"dollar alone is literal", "x $PORT a$", []string{"x", "$PORT", "a$"}},
		{"escaped env is literal", `x \${PORT}`, []string{"x", "${PORT}"}},
		{"CRLF", "x y\r", []string{"x", "y"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := splitWords(tc.in, testEnv)
			if err != nil {
				t.Fatalf("splitWords(%q): %v", tc.in, err)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestSplitWordsErrors(t *testing.T) {
	tests := []struct{ desc, in, want string }{
		{"unterminated double quote", `x "abc`, "unterminated double quote"},
		{"unterminated single quote", `x 'abc`, "unterminated single quote"},
		{"undefined variable", "x ${NOPE}", `environment variable "NOPE" is not defined (use ${NOPE-default} to give a default)`},
		{"undefined variable in quotes", `x "${NOPE}"`, `environment variable "NOPE" is not defined (use ${NOPE-default} to give a default)`},
		{"unterminated variable", "x ${PORT", `unterminated variable "${PORT": missing '}'`},
		{"bad variable name", "x ${1A}", `invalid variable name "1A" in "${1A}": use letters, digits and '_'`},
		{"empty variable name", "x ${}", `invalid variable name "" in "${}": use letters, digits and '_'`},
		{"bad hex escape", `x \xZZ`, `invalid escape "\\xZZ": \x needs two hexadecimal digits`},
		{"trailing backslash", `x \`, "backslash at end of line"},
		{"NUL", "x \x00", "NUL byte in line"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := splitWords(tc.in, testEnv)
			if err == nil {
				t.Fatalf("splitWords(%q) succeeded; want error %q", tc.in, tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}
