package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"pivot/ctl"
)

// reloadCommand is `pivotctl reload`: the daemon re-reads its
// configuration and applies the difference (its `reload` command, as
// SIGHUP does). It prints what changed; a refused configuration prints
// its errors and exits 1.
func reloadCommand() *cli.Command {
	return &cli.Command{
		Name:   "reload",
		Usage:  "re-read the configuration and apply what changed, without closing a connection",
		Action: reloadAction,
	}
}

func reloadAction(c *cli.Context) error {
	if _, err := args(c, 0, 0); err != nil {
		return err
	}
	return forEach(c, func(d *daemon) error {
		reply, err := d.client.Run("reload")
		if err != nil {
			return err
		}
		if rest, ok := strings.CutPrefix(reply, "Configuration reloaded:\n"); ok {
			d.print(strings.TrimRight(rest, "\n") + "\n")
			return nil
		}
		return ctl.Refusal("reload", reply)
	})
}
