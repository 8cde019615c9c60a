package main

import (
	"bytes"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"pivot/ctl"
)

// defaultWatch is the refresh interval of a bare --watch.
const defaultWatch = 2 * time.Second

// clearScreen moves the cursor home and clears the terminal (ANSI).
const clearScreen = "\x1b[H\x1b[2J"

func showStatCommand() *cli.Command {
	return &cli.Command{
		Name:  "stat",
		Usage: "counters and states of frontends, backends and servers",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "csv", Usage: "print HAProxy's CSV (a socket column first when several sockets)"},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array, one object per row"},
			&cli.StringSliceFlag{Name: "backend", Aliases: []string{"b"}, Usage: "only this backend's servers (repeatable)"},
			&cli.StringSliceFlag{Name: "server", Usage: "only servers with this name, or BACKEND/SERVER (repeatable)"},
			&cli.StringFlag{Name: "watch", Aliases: []string{"w"}, Usage: "redraw every `INTERVAL` (default 2s when given without a value) until Ctrl-C"},
			&cli.IntFlag{Name: "count", Usage: "with --watch: stop after N draws"},
		},
		Action: showStat,
	}
}

// normalizeWatch gives --watch its optional value: urfave/cli flags always
// take one, so a --watch (or -w) not followed by an interval becomes
// --watch=2s. An interval is a Go duration (500ms, 2s) or a number of
// seconds.
func normalizeWatch(args []string) []string {
	out := make([]string, 0, len(args)+1)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if a == "--watch" || a == "-watch" || a == "-w" {
			if i+1 < len(args) {
				if _, err := parseInterval(args[i+1]); err == nil {
					out = append(out, "--watch="+args[i+1])
					i++
					continue
				}
			}
			out = append(out, "--watch="+defaultWatch.String())
			continue
		}
		out = append(out, a)
	}
	return out
}

// parseInterval reads a Go duration or a number of seconds.
func parseInterval(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f <= 0 {
			return 0, fmt.Errorf("interval %q must be positive", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("interval %q must be positive", s)
	}
	return d, nil
}

func showStat(c *cli.Context) error {
	if _, err := args(c, 0, 0); err != nil {
		return err
	}
	if c.Bool("csv") && c.Bool("json") {
		return ctl.Usagef("show stat: --csv and --json exclude each other")
	}
	filter := ctl.StatFilter{Backends: c.StringSlice("backend"), Servers: c.StringSlice("server")}
	for _, b := range filter.Backends {
		if err := ctl.CheckName("backend", b); err != nil {
			return err
		}
	}
	if !c.IsSet("watch") {
		if c.IsSet("count") {
			return ctl.Usagef("show stat: --count needs --watch")
		}
		return drawStat(c, filter, c.App.Writer)
	}
	interval, err := parseInterval(c.String("watch"))
	if err != nil {
		return ctl.Usagef("show stat: --watch: %v", err)
	}
	count := c.Int("count")
	if count < 0 {
		return ctl.Usagef("show stat: --count must be positive")
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt)
	defer stop()
	var last error
	for n := 1; ; n++ {
		// Draw into a buffer first so the screen is cleared and redrawn
		// in one write, without flicker.
		var buf bytes.Buffer
		buf.WriteString(clearScreen)
		fmt.Fprintf(&buf, "every %v: pivotctl show stat    %s\n\n", interval, time.Now().Format("2006-01-02 15:04:05"))
		last = drawStat(c, filter, &buf)
		c.App.Writer.Write(buf.Bytes())
		if count > 0 && n >= count {
			return last
		}
		select {
		case <-ctx.Done():
			return nil // stopped by the user
		case <-time.After(interval):
		}
	}
}

// drawStat fetches show stat from every daemon and writes it to w in the
// format asked for.
func drawStat(c *cli.Context, filter ctl.StatFilter, w interface{ Write([]byte) (int, error) }) error {
	var rows []ctl.StatRow
	code := forEach(c, func(d *daemon) error {
		reply, err := d.client.Do("show stat")
		if err != nil {
			return err
		}
		got, err := ctl.ParseStatCSV(strings.NewReader(reply))
		if err != nil {
			return err
		}
		got, err = filter.Filter(got)
		if err != nil {
			return err
		}
		if d.multi {
			for i := range got {
				got[i].Socket = d.name
			}
		}
		rows = append(rows, got...)
		return nil
	})
	var err error
	switch {
	case c.Bool("csv"):
		err = ctl.WriteStatCSV(w, rows)
	case c.Bool("json"):
		err = ctl.WriteStatJSON(w, rows)
	default:
		if len(rows) == 0 && code != nil {
			return code
		}
		err = ctl.RenderStatTable(w, rows, ctl.TableOptions{
			NoFrontends: len(filter.Backends) > 0 || len(filter.Servers) > 0,
		})
	}
	if err != nil {
		return err
	}
	return code
}
