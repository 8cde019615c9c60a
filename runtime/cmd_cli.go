package runtime

import (
	"fmt"
	"io"
	"strconv"
	"time"
)

// help is `help [<words>]`.
func (c *adminConn) help(w io.Writer, args []string) {
	writeHelp(w, "The following commands are valid at this level:\n", args[1:])
}

// togglePrompt is `prompt`: the terminator becomes the prompt, or stops
// being it.
func (c *adminConn) togglePrompt(w io.Writer, args []string) { c.prompt = !c.prompt }

// quit closes the connection at once, printing nothing.
func (c *adminConn) quitCmd(w io.Writer, args []string) { c.quit = true }

func (c *adminConn) showCliLevel(w io.Writer, args []string) { reply(w, c.level.String()) }

// showCliSockets lists the admin sockets and their levels.
func (c *adminConn) showCliSockets(w io.Writer, args []string) {
	reply(w, "# socket lvl processes")
	for _, s := range c.srv.sockets {
		fmt.Fprintf(w, "%s %s all\n", s.name, s.level)
	}
}

func (c *adminConn) showVersion(w io.Writer, args []string) { reply(w, c.srv.opts.Version) }

// lowerLevel is `operator` and `user`: a connection may lower its level,
// never raise it.
func (c *adminConn) lowerLevel(w io.Writer, args []string) {
	want := LevelUser
	if args[0] == "operator" {
		want = LevelOperator
	}
	if want > c.level {
		reply(w, "Permission denied")
		return
	}
	c.level = want
}

// setTimeout is `set timeout cli <delay>`: this connection's idle
// timeout, in seconds unless a unit is given.
func (c *adminConn) setTimeout(w io.Writer, args []string) {
	if arg(args, 2) != "cli" {
		reply(w, "'set timeout' only supports 'cli'.")
		return
	}
	v := arg(args, 3)
	if v == "" {
		reply(w, "Expects an integer value.")
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		d, err = time.Duration(n)*time.Second, nerr
	}
	if err != nil || d <= 0 {
		reply(w, "Invalid timeout value.")
		return
	}
	c.timeout = d
}
