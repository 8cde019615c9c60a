package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"pivot/ctl"
)

// drainCommand is `pivotctl drain B/S [--wait [--timeout D] [--kill-after D]
// [--then maint]]`: the maintenance an operator does before working on a
// server. The daemon does the waiting (`wait D srv-unused B/S`); nothing
// polls from here.
func drainCommand() *cli.Command {
	return &cli.Command{
		Name:      "drain",
		Usage:     "take no new connections on a server; with --wait, return once its sessions have ended",
		ArgsUsage: "BACKEND/SERVER",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "wait", Usage: "return when the server has no session and nothing queued (exit 4 if some are left at the deadline)"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "with --wait: how long to wait at most"},
			&cli.DurationFlag{Name: "kill-after", Usage: "with --wait: after this long, cut the sessions still open, then wait for them to end"},
			&cli.StringFlag{Name: "then", Usage: "with --wait: `maint` puts the server in maintenance once it is unused"},
		},
		Action: drain,
	}
}

func drain(c *cli.Context) error {
	_, ref, err := serverArgs(c, 1, 1)
	if err != nil {
		return err
	}
	wait, limit, killAfter, then := c.Bool("wait"), c.Duration("timeout"), c.Duration("kill-after"), c.String("then")
	switch {
	case then != "" && then != "maint":
		return ctl.Usagef("drain: --then %q: only maint is possible", then)
	case !wait && (then != "" || killAfter > 0):
		return ctl.Usagef("drain: --then and --kill-after need --wait")
	case wait && limit <= 0:
		return ctl.Usagef("drain: --timeout must be above zero")
	}
	return forEachConcurrently(c, func(d *daemon) error {
		start := time.Now()
		if _, err := d.client.Do("set server " + ref.String() + " state drain"); err != nil {
			return err
		}
		if !wait {
			return nil
		}
		cut := int64(0)
		err := d.client.WaitUnused(ref, limitFirst(limit, killAfter))
		var busy *ctl.BusyError
		if errors.As(err, &busy) && killAfter > 0 && killAfter < limit {
			if _, err := d.client.Do("shutdown sessions server " + ref.String()); err != nil {
				return err
			}
			cut = busy.Sessions
			err = d.client.WaitUnused(ref, limit-time.Since(start))
		}
		if errors.As(err, &busy) {
			busy.After = time.Since(start).Round(time.Millisecond)
			return busy
		}
		if err != nil {
			return err
		}
		msg := fmt.Sprintf("%s: drained in %s", ref, time.Since(start).Round(time.Millisecond))
		if cut > 0 {
			msg += fmt.Sprintf(" (%d sessions cut after %s)", cut, killAfter)
		}
		if then == "maint" {
			if _, err := d.client.Do("set server " + ref.String() + " state maint"); err != nil {
				return err
			}
			msg += ", now in maintenance"
		}
		d.print(msg + "\n")
		return nil
	})
}

// limitFirst is how long the first wait lasts: up to --kill-after when it
// comes before the deadline.
func limitFirst(limit, killAfter time.Duration) time.Duration {
	if killAfter > 0 && killAfter < limit {
		return killAfter
	}
	return limit
}

// forEachConcurrently is forEach for commands that wait: every daemon is
// handled at once, and what each prints comes out, with its errors, in
// the order the sockets were named.
func forEachConcurrently(c *cli.Context, fn func(d *daemon) error) error {
	ds, worst := dialAll(c)
	errs := make([]error, len(ds))
	outs := make([]bytes.Buffer, len(ds))
	stdouts := make([]io.Writer, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		stdouts[i], d.stdout = d.stdout, &outs[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(d)
		}()
	}
	wg.Wait()
	for i, d := range ds {
		d.stdout = stdouts[i]
		io.Copy(d.stdout, &outs[i])
		if errs[i] != nil {
			d.report(errs[i])
			worst = max(worst, ctl.ExitCode(errs[i]))
		}
	}
	return exitCode(worst)
}
