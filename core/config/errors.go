package config

import (
	"sort"
	"strconv"
	"strings"
)

// Error is one problem found in a configuration. It is typed rather than a
// plain string so that pivotd can group, count or highlight errors, and so
// tests can check where an error points without parsing its text.
type Error struct {
	// File is the configuration file as it was named to Load or Parse.
	File string
	// Line is the 1-based line number; zero for a problem with the file
	// as a whole (it cannot be read, for instance).
	Line int
	// Keyword is the keyword of the offending line ("bind",
	// "timeout connect", ...), or empty when the error is not about one.
	Keyword string
	// Msg says what is wrong. It already names the keyword, the section
	// and the value, so Error() only prefixes the position.
	Msg string
}

// Error renders "FILE:LINE: MSG", or "FILE: MSG" when Line is zero, the
// form compilers use, so that editors can jump to the line.
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// ErrorList is every error found in a configuration, in file and line
// order. The parser never stops at the first error, so `pivotd -c` can
// report them all in one run.
type ErrorList []*Error

// Error renders one error per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives errors.As and errors.Is access to each *Error.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// sortErrors orders errors by the position of their file in the load
// order, then by line, keeping the order of discovery for ties.
func sortErrors(l ErrorList, fileOrder map[string]int) {
	sort.SliceStable(l, func(i, j int) bool {
		fi, fj := fileOrder[l[i].File], fileOrder[l[j].File]
		if fi != fj {
			return fi < fj
		}
		return l[i].Line < l[j].Line
	})
}
