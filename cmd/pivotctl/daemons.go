package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"pivot/ctl"
)

// daemon is one admin socket named on the command line, with where to
// report about it.
type daemon struct {
	name   string
	client *ctl.Client // nil until dialed
	multi  bool        // several sockets: prefix reports with [name]
	stdout io.Writer
	stderr io.Writer
}

// socketNames returns the sockets named by -s (or PIVOT_SOCKET, or the
// default), without duplicates, in order.
func socketNames(c *cli.Context) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range c.StringSlice("socket") {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	if len(out) == 0 {
		out = []string{ctl.DefaultSocket}
	}
	return out
}

// dialAll dials every socket. Unreachable ones are reported at once and
// left out; the returned code is the worst so far.
func dialAll(c *cli.Context) ([]*daemon, int) {
	names := socketNames(c)
	var ds []*daemon
	worst := ctl.ExitOK
	for _, n := range names {
		d := &daemon{name: n, multi: len(names) > 1, stdout: c.App.Writer, stderr: c.App.ErrWriter}
		cl, err := ctl.Dial(n, timeout(c))
		if err != nil {
			d.report(err)
			worst = max(worst, ctl.ExitCode(err))
			continue
		}
		d.client = cl
		ds = append(ds, d)
	}
	return ds, worst
}

// forEach dials every socket and calls fn for each reachable one, reporting
// errors per daemon. It returns an exitError with the worst code, or nil.
func forEach(c *cli.Context, fn func(d *daemon) error) error {
	ds, worst := dialAll(c)
	for _, d := range ds {
		if err := fn(d); err != nil {
			d.report(err)
			worst = max(worst, ctl.ExitCode(err))
		}
	}
	return exitCode(worst)
}

func exitCode(code int) error {
	if code == ctl.ExitOK {
		return nil
	}
	return exitError{code}
}

// prefix is "[socket] " when several daemons are addressed.
func (d *daemon) prefix() string {
	if d.multi {
		return "[" + d.name + "] "
	}
	return ""
}

// print writes to standard output, each line prefixed with the socket name
// when several daemons are addressed.
func (d *daemon) print(text string) {
	if text == "" {
		return
	}
	if !d.multi {
		io.WriteString(d.stdout, text)
		return
	}
	io.WriteString(d.stdout, prefixLines(d.prefix(), text))
}

func prefixLines(p, text string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		b.WriteString(p)
		b.WriteString(line)
	}
	s := b.String()
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// report writes err to standard error. A refusal shows the daemon's own
// message (only the first line of an "Unknown command" list), then
// pivotctl's explanation when it has one.
func (d *daemon) report(err error) {
	var refused *ctl.RefusedError
	if errors.As(err, &refused) {
		msg := refused.Message
		if strings.HasPrefix(msg, "Unknown command") {
			msg, _, _ = strings.Cut(msg, "\n")
		}
		text := msg + "\n"
		if refused.Context != "" {
			text += "pivotctl: " + refused.Context + "\n"
		}
		io.WriteString(d.stderr, prefixLines(d.prefix(), text))
		return
	}
	io.WriteString(d.stderr, prefixLines(d.prefix(), fmt.Sprintf("pivotctl: %v\n", err)))
}
