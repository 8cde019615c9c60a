package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"pivot/ctl"
)

// failoverCommand is `pivotctl failover B --to S [--keep-sessions]`: the
// daemon's `failover B/S` makes S the only server of B taking new
// connections in one step, and reports what it changed.
func failoverCommand() *cli.Command {
	return &cli.Command{
		Name:      "failover",
		Usage:     "send every new connection of a backend to one server, in one step; the others go to maintenance and lose their sessions",
		ArgsUsage: "BACKEND --to SERVER",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Usage: "the server that takes over", Required: true},
			&cli.BoolFlag{Name: "keep-sessions", Usage: "do not cut the sessions of the servers put in maintenance"},
		},
		Action: failover,
	}
}

func failover(c *cli.Context) error {
	a, err := args(c, 1, 1)
	if err != nil {
		return err
	}
	ref, err := ctl.ParseServerRef(a[0] + "/" + c.String("to"))
	if err != nil {
		return err
	}
	cmd := "failover " + ref.String()
	if c.Bool("keep-sessions") {
		cmd += " keep-sessions"
	}
	return forEach(c, func(d *daemon) error {
		reply, err := d.client.Run(cmd)
		if err != nil {
			return err
		}
		msg := strings.TrimRight(reply, "\n")
		if isFailoverReport(msg, ref) {
			d.print(msg + "\n")
			return nil
		}
		return ctl.Refusal(cmd, reply)
	})
}

// isFailoverReport tells the daemon's report (one "B/S: FROM -> TO" line
// per server changed, or "Nothing to change: ...") from a refusal.
func isFailoverReport(msg string, ref ctl.ServerRef) bool {
	if strings.HasPrefix(msg, "Nothing to change: ") {
		return true
	}
	for _, l := range strings.Split(msg, "\n") {
		if !strings.HasPrefix(l, ref.Backend+"/") || !strings.Contains(l, " -> ") {
			return false
		}
	}
	return msg != ""
}
