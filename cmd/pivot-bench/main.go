// Command pivot-bench measures pivot side by side with a direct
// connection (the physical limit) and with HAProxy, in the same run, on
// loopback:
//
//	pivot-bench --pivotd bin/pivotd --out bench/results   (make bench)
//	pivot-bench --quick --pivotd bin/pivotd               (make bench-quick)
//
// It starts the backend servers (in process), HAProxy and pivotd itself on
// fixed loopback ports below 32768, runs every workload against every
// target with the order of the targets rotated between repetitions, and
// writes a Markdown report with medians, min–max and ratios, plus the raw
// numbers as CSV and JSON. Everything it starts is stopped by PID at the
// end.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
)

func main() {
	app := &cli.App{
		Name:  "pivot-bench",
		Usage: "benchmark pivot against a direct connection and HAProxy on this machine",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "pivotd", Value: "bin/pivotd", Usage: "the pivotd binary to measure"},
			&cli.StringFlag{Name: "haproxy", Value: "haproxy", Usage: "the HAProxy binary to compare with"},
			&cli.StringFlag{Name: "out", Usage: "directory for report.md, results.csv and results.json (none: print the summary only)"},
			&cli.BoolFlag{Name: "quick", Usage: "short runs (under 2 minutes) for before/after comparisons"},
			&cli.IntFlag{Name: "reps", Value: 3, Usage: "repetitions of each measurement (the median is reported)"},
			&cli.DurationFlag{Name: "duration", Usage: "length of each measurement (default 4s, 1s with --quick)"},
			&cli.IntFlag{Name: "port", Value: 21000, Usage: "first of the loopback ports used (the next 30 too)"},
			&cli.StringFlag{Name: "only", Usage: "measure only the workloads with a figure whose name matches this regular expression (e.g. 'pgbench|redis')"},
		},
		Action: run,
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "pivot-bench:", err)
		os.Exit(1)
	}
}

func numCPU() int { return runtime.NumCPU() }

// plan is what one run measures.
type plan struct {
	reps     int
	duration time.Duration
	idle     []int // idle connection counts
	quick    bool
	notes    []string // what the report must say about this run
	// only, when set, picks the workloads to run by their figures' names.
	only *regexp.Regexp
}

// runs reports whether the workload measuring ms is to run.
func (p *plan) runs(ms ...metric) bool {
	return p.only == nil || slices.ContainsFunc(ms, func(m metric) bool { return p.only.MatchString(m.name) })
}

// maxconn is the proxies' global maxconn: as many connections as the
// descriptor limit allows.
var maxconn = 40000

// maxpipes is the proxies' global maxpipes: the bulk workload's four
// streams splice through 8 at most.
const maxpipes = 64

// raiseFDLimit raises the descriptor limit as far as allowed (the
// children inherit it) and returns it.
func raiseFDLimit() int {
	want := syscall.Rlimit{Cur: 200000, Max: 200000}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
		return int(want.Cur)
	}
	var cur syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur)
	cur.Cur = cur.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &cur)
	return int(cur.Cur)
}

func run(c *cli.Context) error {
	p := plan{reps: c.Int("reps"), duration: 4 * time.Second, idle: []int{1000, 10000}, quick: c.Bool("quick")}
	if p.quick {
		p.duration, p.idle = time.Second, []int{1000}
	}
	if d := c.Duration("duration"); d > 0 {
		p.duration = d
	}
	if re := c.String("only"); re != "" {
		only, err := regexp.Compile(re)
		if err != nil {
			return fmt.Errorf("--only: %w", err)
		}
		p.only = only
	}
	if p.reps < 1 {
		return errors.New("--reps must be at least 1")
	}
	if hap, err := exec.LookPath(c.String("haproxy")); err != nil {
		return fmt.Errorf("HAProxy is needed to compare with (apt-get install -y haproxy): %w", err)
	} else {
		c.Set("haproxy", hap)
	}
	// n idle proxied connections hold 2n descriptors here (client and
	// server ends) and 2n in the proxy: raise the limit if allowed, and
	// fit the largest count under it.
	fdLimit := raiseFDLimit()
	// HAProxy reserves two descriptors per connection and two per pipe.
	maxconn = min(40000, (fdLimit-200-2*maxpipes)/2)
	for i, n := range p.idle {
		if fit := (maxconn - 500) / 1000 * 1000; n > fit {
			p.idle[i] = fit
			p.notes = append(p.notes, fmt.Sprintf("Idle connections measured at %d instead of %d: the descriptor limit here is %d and cannot be raised (a proxied connection holds two descriptors in the proxy, and its two ends two in the benchmark).", fit, n, fdLimit))
		}
	}
	dir, err := os.MkdirTemp("", "pivot-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	port := c.Int("port")
	addr := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", port+i) }
	echo, err := startServer(addr(1), true)
	if err != nil {
		return err
	}
	defer echo.ln.Close()
	sink, err := startServer(addr(2), false)
	if err != nil {
		return err
	}
	defer sink.ln.Close()
	idle, err := startServer(addr(3), true)
	if err != nil {
		return err
	}
	defer idle.ln.Close()

	// The real servers; one that is missing leaves its figures out.
	direct := &target{name: "direct", echo: addr(1), sink: addr(2)}
	backends := []section{{name: "echo", servers: []string{addr(1)}}, {name: "sink", servers: []string{addr(2)}},
		{name: "idle", servers: []string{addr(3)}}}
	if rd, err := startRedis(port + 4); err != nil {
		p.notes = append(p.notes, "redis-benchmark not measured: "+err.Error()+".")
	} else {
		defer rd.stop()
		direct.redis = addr(4)
		backends = append(backends, section{name: "redis", servers: []string{addr(4)}})
	}
	if pg, err := startPostgres(dir, port+5); err != nil {
		p.notes = append(p.notes, "pgbench not measured: "+err.Error()+".")
	} else {
		defer pg.stop()
		direct.pg = addr(5)
		backends = append(backends, section{name: "pg", servers: []string{addr(5)}})
	}
	for i, name := range []string{"A", "B"} {
		g, err := startGreeter(addr(6+i), name)
		if err != nil {
			return err
		}
		defer g.Close()
	}
	backends = append(backends, section{name: "flip", servers: []string{addr(6), addr(7)}})
	many := section{name: "many"}
	for range 1000 {
		many.servers = append(many.servers, addr(1))
	}
	// Each proxy binds its frontends at port+10 (HAProxy) or port+20
	// (pivot) plus the section's rank.
	layout := func(base int) []section {
		var out []section
		for i, s := range backends {
			s.fe = addr(base + i + 1)
			out = append(out, s)
		}
		return append(out, many)
	}
	targets := []*target{direct}
	hap, err := startProxy("haproxy", c.String("haproxy"), []string{"-db"}, dir, layout(10))
	if err != nil {
		return err
	}
	defer hap.stop()
	piv, err := startProxy("pivot", c.String("pivotd"), []string{"-S", "none"}, dir, layout(20))
	if err != nil {
		return err
	}
	defer piv.stop()
	targets = append(targets, hap, piv)

	res := &results{started: time.Now()}
	if err := measure(&p, targets, echo, sink, idle, res); err != nil {
		return err
	}
	res.finished = time.Now()
	env := describe(c.String("haproxy"), c.String("pivotd"))
	fmt.Print(summary(res))
	for _, n := range append(p.notes, res.notes...) {
		fmt.Println("note:", n)
	}
	if out := c.String("out"); out != "" {
		if err := writeReport(out, p, env, targets, res); err != nil {
			return err
		}
		fmt.Printf("\nreport written to %s/report.md (raw numbers: results.csv, results.json)\n", out)
	}
	return nil
}
