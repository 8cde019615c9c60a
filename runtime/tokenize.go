package runtime

import (
	"strings"

	"github.com/google/shlex"
)

// maxArgs is HAProxy's MAX_CLI_ARGS: words past it are ignored.
const maxArgs = 64

// splitCommands cuts one request line into commands at every `;` that is
// not escaped with a backslash. Escapes are left in place for tokenize.
func splitCommands(line string) []string {
	var cmds []string
	start := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++ // the next byte is literal, `;` included
		case ';':
			cmds = append(cmds, line[start:i])
			start = i + 1
		}
	}
	return append(cmds, line[start:])
}

// tokenize splits one command into words the way HAProxy's CLI does:
// words are separated by blanks, a backslash makes the next character
// literal (`\ ` keeps a blank inside a word), and nothing else is special —
// quotes and `#` are ordinary characters. shlex does the splitting; those
// characters are escaped first so that shlex leaves them alone.
func tokenize(cmd string) []string {
	var b strings.Builder
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch c {
		case '\\':
			if i+1 == len(cmd) {
				continue // a lone backslash at the end escapes nothing
			}
			b.WriteByte(c)
			i++
			b.WriteByte(cmd[i])
		case '"', '\'', '#':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r', '\n':
			// Only blanks (space, tab) separate words in HAProxy; a CR left
			// inside a command is an ordinary byte.
			b.WriteString(`\` + string(c))
		default:
			b.WriteByte(c)
		}
	}
	words, err := shlex.Split(b.String())
	if err != nil {
		// Cannot happen: every special character was escaped. Fall back to
		// plain blanks rather than refusing the command.
		words = strings.Fields(cmd)
	}
	if len(words) > maxArgs {
		words = words[:maxArgs]
	}
	return words
}
