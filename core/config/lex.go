package config

import (
	"errors"
	"fmt"
	"strings"
)

// lookupEnv finds an environment variable; Parse uses os.LookupEnv, tests
// may pass their own so that they do not depend on the process environment.
type lookupEnv func(name string) (string, bool)

// splitWords cuts one configuration line into words the way HAProxy does:
//
//   - words are separated by blanks (spaces, tabs);
//   - '#' outside quotes starts a comment that runs to the end of the line;
//   - "double quotes" keep blanks, '#' and single quotes, but still honour
//     backslash escapes and environment variables;
//   - 'single quotes' keep everything literally;
//   - outside single quotes a backslash escapes: `\ ` `\#` `\\` `\'` `\"`
//     `\$` give the character itself, `\r` `\n` `\t` a control character and
//     `\xHH` the byte HH; before any other character the backslash is kept,
//     as HAProxy keeps it;
//   - outside single quotes, ${NAME} is replaced by the variable's value and
//     ${NAME-default} by its value or, when unset, by default. The value is
//     taken literally: it is neither split into words nor unescaped.
//
// Quoted parts and plain parts next to each other form one word, so
// 'a b'"c" is the single word "a bc". A quoted empty string is an empty
// word; an unquoted variable that expands to nothing is no word at all.
//
// Unlike HAProxy, which silently expands an undefined variable to nothing,
// an undefined variable without a default is an error: a missing address
// or port is better refused at load time than discovered on the wire.
func splitWords(s string, env lookupEnv) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			flush()
			i++
		case c == '#':
			flush()
			return words, nil
		case c == 0:
			return nil, errors.New("NUL byte in line")
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+end])
			inWord = true
			i += end + 2
		case c == '"':
			n, err := doubleQuoted(s[i+1:], &cur, env)
			if err != nil {
				return nil, err
			}
			inWord = true
			i += n + 1
		case c == '\\':
			n, err := escape(s[i:], &cur)
			if err != nil {
				return nil, err
			}
			inWord = true
			i += n
		case c == '$' && strings.HasPrefix(s[i:], "${"):
			n, val, err := expand(s[i:], env)
			if err != nil {
				return nil, err
			}
			if val != "" {
				cur.WriteString(val)
				inWord = true
			}
			i += n
		default:
			cur.WriteByte(c)
			inWord = true
			i++
		}
	}
	flush()
	return words, nil
}

// doubleQuoted copies the inside of a double-quoted string, s starting
// just after the opening quote, and returns how many bytes it used,
// closing quote included.
func doubleQuoted(s string, b *strings.Builder, env lookupEnv) (int, error) {
	i := 0
	for i < len(s) {
		switch c := s[i]; {
		case c == '"':
			return i + 1, nil
		case c == 0:
			return 0, errors.New("NUL byte in line")
		case c == '\\':
			n, err := escape(s[i:], b)
			if err != nil {
				return 0, err
			}
			i += n
		case c == '$' && strings.HasPrefix(s[i:], "${"):
			n, val, err := expand(s[i:], env)
			if err != nil {
				return 0, err
			}
			b.WriteString(val)
			i += n
		default:
			b.WriteByte(c)
			i++
		}
	}
	return 0, errors.New("unterminated double quote")
}

// escape decodes the backslash sequence at the start of s and returns its
// length.
func escape(s string, b *strings.Builder) (int, error) {
	if len(s) < 2 {
		return 0, errors.New("backslash at end of line")
	}
	switch c := s[1]; c {
	case ' ', '#', '\\', '\'', '"', '$':
		b.WriteByte(c)
	case 'r':
		b.WriteByte('\r')
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case 'x':
		if len(s) < 4 || unhex(s[2]) < 0 || unhex(s[3]) < 0 {
			end := min(len(s), 4)
			return 0, fmt.Errorf("invalid escape %q: \\x needs two hexadecimal digits", s[:end])
		}
		b.WriteByte(byte(unhex(s[2])<<4 | unhex(s[3])))
		return 4, nil
	default:
		// HAProxy keeps a backslash it does not know, so regular
		// expressions and Windows paths survive unquoted.
		b.WriteByte('\\')
		return 1, nil
	}
	return 2, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// expand resolves the ${NAME} or ${NAME-default} at the start of s,
// returning its length and its value.
func expand(s string, env lookupEnv) (int, string, error) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return 0, "", fmt.Errorf("unterminated variable %q: missing '}'", s)
	}
	body := s[2:end]
	name, def, hasDef := strings.Cut(body, "-")
	if !validEnvName(name) {
		return 0, "", fmt.Errorf("invalid variable name %q in %q: use letters, digits and '_'", name, s[:end+1])
	}
	if v, ok := env(name); ok {
		return end + 1, v, nil
	}
	if hasDef {
		return end + 1, def, nil
	}
	return 0, "", fmt.Errorf("environment variable %q is not defined (use ${%s-default} to give a default)", name, name)
}

func validEnvName(name string) bool {
	if name == "" || ('0' <= name[0] && name[0] <= '9') {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
