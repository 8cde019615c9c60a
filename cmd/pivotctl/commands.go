package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"pivot/ctl"
)

func commands() []*cli.Command {
	return []*cli.Command{
		{
			Name:   "show",
			Usage:  "show state and counters",
			Action: groupAction,
			Subcommands: []*cli.Command{
				showStatCommand(),
			},
		},
		{
			Name:   "server",
			Usage:  "change a server: state, weight, add, delete",
			Action: groupAction,
			Subcommands: []*cli.Command{
				stateCommand("ready", "let the server take new connections (clears drain and maint)"),
				stateCommand("drain", "no new connections; running sessions continue"),
				stateCommand("maint", "no traffic at all; health checks paused"),
				{
					Name:      "weight",
					Usage:     "set the server's weight: 0-256, or N% of its initial weight",
					ArgsUsage: "BACKEND/SERVER WEIGHT[%]",
					Action:    serverWeight,
				},
				{
					Name:      "add",
					Usage:     "add a server at runtime (HAProxy starts it in maintenance unless `enabled` is given)",
					ArgsUsage: "BACKEND/SERVER ADDR[:PORT] [KEYWORD...]",
					Action:    serverAdd,
				},
				{
					Name:      "del",
					Usage:     "delete a server (it must be in maintenance, without sessions)",
					ArgsUsage: "BACKEND/SERVER",
					Action:    serverDel,
				},
			},
		},
		drainCommand(),
		failoverCommand(),
		reloadCommand(),
		{
			Name:      "ready",
			Usage:     "put a server back in service (clears drain and maint)",
			ArgsUsage: "BACKEND/SERVER",
			Action:    onServer("set server ", " state ready"),
		},
		{
			Name:      "maint",
			Usage:     "take a server out of service: no traffic at all, health checks paused",
			ArgsUsage: "BACKEND/SERVER",
			Action:    onServer("set server ", " state maint"),
		},
		{
			Name:      "sessions",
			Usage:     "list the sessions attached to a server",
			ArgsUsage: "BACKEND/SERVER",
			Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print a JSON array"}},
			Action:    sessions,
		},
		{
			Name:      "kill",
			Usage:     "cut every session attached to a server (shutdown sessions server)",
			ArgsUsage: "BACKEND/SERVER",
			Action:    kill,
		},
		{
			Name:   "frontend",
			Usage:  "enable or disable a frontend",
			Action: groupAction,
			Subcommands: []*cli.Command{
				frontendCommand("enable", "accept connections again"),
				frontendCommand("disable", "stop accepting connections (the listening socket is closed)"),
			},
		},
		{
			Name:      "exec",
			Usage:     "send any command and print the raw answer; `-` or a pipe reads commands from standard input, one per line",
			ArgsUsage: "'COMMAND' | -",
			Flags: []cli.Flag{&cli.BoolFlag{
				Name:  "raw",
				Usage: "print the answer byte for byte, with its terminating empty line",
			}},
			Action: execCmd,
		},
		completionCommand(),
	}
}

// args checks the number of positional arguments and that none is a flag
// written after them (urfave/cli stops reading flags at the first
// argument).
func args(c *cli.Context, min, max int) ([]string, error) {
	a := c.Args().Slice()
	for _, s := range a {
		if strings.HasPrefix(s, "-") && len(s) > 1 {
			return nil, ctl.Usagef("%s: option %q must come before the arguments", c.Command.HelpName, s)
		}
	}
	if len(a) < min || max >= 0 && len(a) > max {
		return nil, ctl.Usagef("usage: %s %s", c.Command.HelpName, c.Command.ArgsUsage)
	}
	return a, nil
}

// serverArgs checks the number of arguments and reads the first as B/S.
func serverArgs(c *cli.Context, min, max int) ([]string, ctl.ServerRef, error) {
	a, err := args(c, min, max)
	if err != nil {
		return nil, ctl.ServerRef{}, err
	}
	ref, err := ctl.ParseServerRef(a[0])
	return a, ref, err
}

// onServer is the action of a command that takes exactly one B/S and
// sends prefix+B/S+suffix, whose success is silent, to every daemon.
func onServer(prefix, suffix string) cli.ActionFunc {
	return func(c *cli.Context) error {
		_, ref, err := serverArgs(c, 1, 1)
		if err != nil {
			return err
		}
		return simple(c, prefix+ref.String()+suffix)
	}
}

// simple sends one command, whose success is silent, to every daemon.
func simple(c *cli.Context, cmd string) error {
	return forEach(c, func(d *daemon) error {
		_, err := d.client.Do(cmd)
		return err
	})
}

func stateCommand(state, usage string) *cli.Command {
	return &cli.Command{
		Name:      state,
		Usage:     usage,
		ArgsUsage: "BACKEND/SERVER",
		Action:    onServer("set server ", " state "+state),
	}
}

func serverWeight(c *cli.Context) error {
	a, ref, err := serverArgs(c, 2, 2)
	if err != nil {
		return err
	}
	if err := ctl.CheckWeight(a[1]); err != nil {
		return err
	}
	return simple(c, "set server "+ref.String()+" weight "+a[1])
}

func serverAdd(c *cli.Context) error {
	a, ref, err := serverArgs(c, 2, -1)
	if err != nil {
		return err
	}
	words := []string{"add", "server", ref.String()}
	for _, w := range a[1:] {
		if w == "" || strings.ContainsAny(w, "\r\n") {
			return ctl.Usagef("server add: argument %q: empty or holds a line break", w)
		}
		words = append(words, ctl.EscapeWord(w))
	}
	return simple(c, strings.Join(words, " "))
}

var (
	serverDel = onServer("del server ", "")
	kill      = onServer("shutdown sessions server ", "")
)

func frontendCommand(verb, usage string) *cli.Command {
	return &cli.Command{
		Name:      verb,
		Usage:     usage,
		ArgsUsage: "FRONTEND",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1)
			if err != nil {
				return err
			}
			if err := ctl.CheckName("frontend", a[0]); err != nil {
				return err
			}
			return simple(c, verb+" frontend "+a[0])
		},
	}
}

// sessionJSON is one session in `pivotctl sessions --json`.
type sessionJSON struct {
	Socket   string `json:"socket,omitempty"`
	ID       string `json:"id"`
	Proto    string `json:"proto"`
	Src      string `json:"src"`
	Frontend string `json:"frontend"`
	Backend  string `json:"backend"`
	Server   string `json:"server"`
	Age      string `json:"age,omitempty"`
}

func sessions(c *cli.Context) error {
	_, ref, err := serverArgs(c, 1, 1)
	if err != nil {
		return err
	}
	var (
		found   []ctl.Session
		sockets []string
		multi   bool
	)
	code := forEach(c, func(d *daemon) error {
		multi = d.multi
		// show sess does not say whether the server exists; get weight
		// does, with the daemon's own words.
		if _, err := d.client.Do("get weight " + ref.String()); err != nil {
			return err
		}
		reply, err := d.client.Do("show sess")
		if err != nil {
			return err
		}
		all, err := ctl.ParseSessions(strings.NewReader(reply))
		if err != nil {
			return err
		}
		for _, s := range ctl.SessionsOf(all, ref.Backend, ref.Server) {
			found = append(found, s)
			sockets = append(sockets, d.name)
		}
		return nil
	})
	if !multi {
		sockets = nil
	}
	out := c.App.Writer
	if c.Bool("json") {
		list := make([]sessionJSON, len(found))
		for i, s := range found {
			list[i] = sessionJSON{ID: s.ID, Proto: s.Proto, Src: s.Src, Frontend: s.Frontend, Backend: s.Backend, Server: s.Server, Age: s.Age}
			if sockets != nil {
				list[i].Socket = sockets[i]
			}
		}
		b, _ := json.MarshalIndent(list, "", "  ")
		out.Write(append(b, '\n'))
		return code
	}
	if len(found) == 0 {
		if code == nil {
			io.WriteString(c.App.ErrWriter, "no session on "+ref.String()+"\n")
		}
		return code
	}
	if err := ctl.RenderSessions(out, found, sockets); err != nil {
		return err
	}
	return code
}

// execCmd sends the command given as arguments, or each line of standard
// input, to every daemon, printing the answers.
func execCmd(c *cli.Context) error {
	a := c.Args().Slice()
	var lines []string
	switch {
	case len(a) == 1 && a[0] == "-", len(a) == 0 && !isTerminal(c.App.Reader):
		var err error
		if lines, err = readCommands(c.App.Reader); err != nil {
			return err
		}
	case len(a) == 0:
		return ctl.Usagef("usage: pivotctl exec 'COMMAND', or pivotctl exec - with commands on standard input")
	default:
		line := strings.Join(a, " ")
		if strings.ContainsAny(line, "\r\n") {
			return ctl.Usagef("exec: a command is one line; use exec - for several")
		}
		lines = []string{line}
	}
	ds, worst := dialAll(c)
	for _, line := range lines {
		for _, d := range ds {
			reply, err := d.client.Do(line)
			var refused *ctl.RefusedError
			switch {
			case errors.As(err, &refused):
				// the daemon's words go to standard error, through report
			case c.Bool("raw"):
				d.print(reply)
			default:
				d.print(ctl.TrimReply(reply))
			}
			if err != nil {
				d.report(err)
				worst = max(worst, ctl.ExitCode(err))
			}
		}
	}
	return exitCode(worst)
}

// readCommands reads one command per line; blank lines and lines starting
// with # are skipped.
func readCommands(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, ctl.Usagef("exec: reading standard input: %v", err)
	}
	return out, nil
}

// isTerminal tells whether r is a character device (a terminal). Pipes and
// files are not.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
