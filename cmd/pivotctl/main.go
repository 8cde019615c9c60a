// Command pivotctl drives pivot's admin socket (and HAProxy's, which speaks
// the same language): show stat as a table, CSV or JSON, change server
// states and weights, add and delete servers, list and cut sessions,
// enable and disable frontends, and send any command with exec.
//
// Exit codes: 0 done, 1 a daemon refused, 2 usage error, 3 a socket could
// not be reached. See docs/pivotctl.md.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"pivot/ctl"
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// exitError carries an exit code for an error that was already reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// run is pivotctl with its arguments and standard streams; it returns the
// exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.Run(normalizeWatch(args))
	var done exitError
	switch {
	case err == nil:
		return ctl.ExitOK
	case errors.As(err, &done):
		return done.code
	}
	fmt.Fprintf(stderr, "pivotctl: %v\n", err)
	return ctl.ExitCode(err)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:                 "pivotctl",
		Usage:                "control pivot (or HAProxy) through its admin socket",
		UsageText:            "pivotctl [-s SOCKET]... COMMAND [options] [arguments]",
		Description:          "Exit codes: 0 done, 1 a daemon refused the command, 2 usage error, 3 a socket could not be reached.",
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{
				Name:    "socket",
				Aliases: []string{"s"},
				Usage:   "admin socket: a path, ipv4@HOST:PORT or tcp://HOST:PORT; repeat to act on several daemons",
				EnvVars: []string{"PIVOT_SOCKET"},
				Value:   cli.NewStringSlice(ctl.DefaultSocket),
			},
			&cli.DurationFlag{
				Name:  "timeout",
				Usage: "bound on connecting and on each command's answer",
				Value: ctl.DefaultTimeout,
			},
		},
		Commands: commands(),
		Action:   groupAction,
		// Errors are reported by run, never by os.Exit inside the library.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, isSub bool) error {
			return ctl.Usagef("%v (see %s --help)", err, c.Command.HelpName)
		},
	}
	return app
}

// groupAction runs for a command group (or the root) called without a
// known subcommand.
func groupAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return ctl.Usagef("unknown command %q (see pivotctl --help)", c.Args().First())
	}
	cli.ShowSubcommandHelp(c)
	return ctl.Usagef("missing command")
}

// timeout returns the global --timeout flag (a command may have a
// --timeout of its own, as drain does).
func timeout(c *cli.Context) time.Duration {
	l := c.Lineage()
	return l[len(l)-1].Duration("timeout")
}
