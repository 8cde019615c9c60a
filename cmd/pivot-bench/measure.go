package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// metric is one figure of the report.
type metric struct {
	name, unit string
	// higher says more is better (throughputs); latencies and costs are
	// better lower.
	higher bool
	// goal is the target for pivot against HAProxy: the ratio
	// pivot/HAProxy must be at least goal (higher) or at most goal
	// (lower); zero means none.
	goal float64
	// proxies: only measured through a proxy (memory, descriptors).
	proxies bool
	// zero: pivot's value must be 0, whatever HAProxy's is.
	zero bool
}

// sample is one measured value.
type sample struct {
	Metric string  `json:"metric"`
	Target string  `json:"target"`
	Rep    int     `json:"rep"`
	Value  float64 `json:"value"`
}

type results struct {
	metrics           []metric
	samples           []sample
	started, finished time.Time
	notes             []string // failures worth reporting
}

func (r *results) add(m metric, t *target, rep int, v float64) {
	if !slices.ContainsFunc(r.metrics, func(x metric) bool { return x.name == m.name }) {
		r.metrics = append(r.metrics, m)
	}
	r.samples = append(r.samples, sample{m.name, t.name, rep, v})
}

// values are a metric's samples for a target.
func (r *results) values(m, t string) []float64 {
	var v []float64
	for _, s := range r.samples {
		if s.Metric == m && s.Target == t {
			v = append(v, s.Value)
		}
	}
	slices.Sort(v)
	return v
}

func median(v []float64) float64 {
	switch n := len(v); {
	case n == 0:
		return 0
	case n%2 == 1:
		return v[n/2]
	default:
		return (v[n/2-1] + v[n/2]) / 2
	}
}

// The metrics, in report order.
var (
	mBulk1   = metric{name: "bulk throughput, 1 stream", unit: "MB/s", higher: true, goal: 1}
	mBulk4   = metric{name: "bulk throughput, 4 streams", unit: "MB/s", higher: true, goal: 1}
	mRR1     = metric{name: "requests/s, 1 connection", unit: "req/s", higher: true, goal: 1}
	mRR1p50  = metric{name: "latency p50, 1 connection", unit: "µs"}
	mRR1p99  = metric{name: "latency p99, 1 connection", unit: "µs", goal: 1}
	mRR1p999 = metric{name: "latency p99.9, 1 connection", unit: "µs"}
	mRR64    = metric{name: "requests/s, 64 connections", unit: "req/s", higher: true, goal: 1}
	mRR64p50 = metric{name: "latency p50, 64 connections", unit: "µs"}
	mRR64p99 = metric{name: "latency p99, 64 connections", unit: "µs", goal: 1}
	mRR64p9  = metric{name: "latency p99.9, 64 connections", unit: "µs"}
	mConn    = metric{name: "new connections/s, 64 clients", unit: "conn/s", higher: true, goal: 1}
	mRedis   = metric{name: "redis-benchmark SET/GET, 50 clients, keep-alive", unit: "req/s", higher: true, goal: 1}
	mRedisC  = metric{name: "redis-benchmark SET/GET, 50 clients, a connection per request", unit: "req/s", higher: true, goal: 1}
	mPg      = metric{name: "pgbench -S, 16 clients", unit: "tps", higher: true, goal: 1}
	mPgC     = metric{name: "pgbench -S -C (a connection per transaction), 16 clients", unit: "tps", higher: true, goal: 1}
	// The proxy's own CPU per operation: steadier than the rates, which
	// move with whatever else the two cores run, and what decides them
	// when the load generator, the servers and the proxy share the cores.
	mConnCPU   = metric{name: "proxy CPU per new connection", unit: "µs", proxies: true}
	mRedisCPU  = metric{name: "proxy CPU per redis-benchmark request, keep-alive", unit: "µs", proxies: true}
	mRedisCCPU = metric{name: "proxy CPU per redis-benchmark request, a connection per request", unit: "µs", proxies: true}
	mStat      = metric{name: "show stat, a backend of 1,000 servers", unit: "ms", proxies: true}
	mSetP50    = metric{name: "set server answer under 5,000 conn/s, p50", unit: "ms", proxies: true}
	mSetP99    = metric{name: "set server answer under 5,000 conn/s, p99", unit: "ms", proxies: true}
	mSetRate   = metric{name: "connections/s reached meanwhile", unit: "conn/s", higher: true, proxies: true}
	mLate      = metric{name: "connections begun after state maint answered that reached the server", unit: "conns", proxies: true, zero: true}
	mLast      = metric{name: "last connection reaching the server after state maint answered (in flight)", unit: "ms", proxies: true}
)

func memMetric(n int) metric {
	return metric{name: fmt.Sprintf("memory per idle connection, %d", n), unit: "bytes", goal: 2, proxies: true}
}

func fdMetric(n int) metric {
	return metric{name: fmt.Sprintf("descriptors per idle connection, %d", n), unit: "fds", goal: 1, proxies: true}
}

// rotate is targets starting at the rep-th, so that no target always
// runs first (on a cold machine) or last.
func rotate(targets []*target, rep int) []*target {
	k := rep % len(targets)
	return append(slices.Clone(targets[k:]), targets[:k]...)
}

// measure runs every workload on every target, p.reps times.
func measure(p *plan, targets []*target, echo, sink, idle *server, res *results) error {
	settleTimeWait()
	// Idle connections cost the same every time: measured once, first,
	// before the connection-rate runs fill the port space with TIME_WAIT.
	for _, n := range p.idle {
		for _, t := range targets {
			if t.proc == nil || !p.runs(memMetric(n), fdMetric(n)) {
				continue
			}
			mem, fds, err := idleCost(t, n, idle)
			if err != nil {
				// A proxy that cannot hold them is a finding, not a
				// reason to stop measuring.
				res.notes = append(res.notes, fmt.Sprintf("%s could not hold %d idle connections: %v.", t.name, n, err))
				continue
			}
			res.add(memMetric(n), t, 0, mem)
			res.add(fdMetric(n), t, 0, fds)
		}
	}
	d := p.duration
	for rep := range p.reps {
		fmt.Fprintf(os.Stderr, "repetition %d/%d\n", rep+1, p.reps)
		for _, w := range []struct {
			streams int
			m       metric
		}{{1, mBulk1}, {4, mBulk4}} {
			for _, t := range rotate(targets, rep) {
				if !p.runs(w.m) {
					break
				}
				v, err := bulk(t.sink, w.streams, d, sink)
				if err != nil {
					return fmt.Errorf("%s: bulk: %w", t.name, err)
				}
				res.add(w.m, t, rep, v)
			}
		}
		for _, w := range []struct {
			conns               int
			rps, p50, p99, p999 metric
		}{{1, mRR1, mRR1p50, mRR1p99, mRR1p999}, {64, mRR64, mRR64p50, mRR64p99, mRR64p9}} {
			for _, t := range rotate(targets, rep) {
				if !p.runs(w.rps, w.p50, w.p99, w.p999) {
					break
				}
				r, err := requestResponse(t.echo, w.conns, d)
				if err != nil {
					return fmt.Errorf("%s: request/response: %w", t.name, err)
				}
				res.add(w.rps, t, rep, r.rps)
				res.add(w.p50, t, rep, r.p50)
				res.add(w.p99, t, rep, r.p99)
				res.add(w.p999, t, rep, r.p999)
			}
		}
		if err := realClients(p, targets, rep, res); err != nil {
			return err
		}
		if p.runs(mStat, mSetP50, mSetP99, mSetRate, mLate, mLast) {
			if err := controlPlane(p, targets, rep, res); err != nil {
				return err
			}
		}
		for _, t := range rotate(targets, rep) {
			if !p.runs(mConn, mConnCPU) {
				break
			}
			var v float64
			cpu, err := cpuPerOp(t, func() (n int64, err error) {
				v, n, err = connRate(t.echo, 64, d)
				return n, err
			})
			if err != nil {
				return fmt.Errorf("%s: connection rate: %w", t.name, err)
			}
			res.add(mConn, t, rep, v)
			if cpu >= 0 {
				res.add(mConnCPU, t, rep, cpu)
			}
		}
	}
	return nil
}

// realClients runs redis-benchmark and pgbench through each target. The
// runs that open a connection per request come last: they leave the most
// TIME_WAIT behind.
func realClients(p *plan, targets []*target, rep int, res *results) error {
	n, nc := 50000, 10000
	if p.quick {
		n, nc = 10000, 2000
	}
	type run struct {
		m, cpu metric // cpu: the proxy's CPU per request (name empty: not measured)
		ok     func(t *target) bool
		run    func(t *target) (float64, error)
		ops    int64 // requests made by one run, for cpu
	}
	hasRedis := func(t *target) bool { return t.redis != "" }
	hasPg := func(t *target) bool { return t.pg != "" }
	for _, r := range []run{
		// redis-benchmark makes n SETs then n GETs.
		{mRedis, mRedisCPU, hasRedis, func(t *target) (float64, error) { return redisBenchmark(t.redis, true, n) }, 2 * int64(n)},
		{mPg, metric{}, hasPg, func(t *target) (float64, error) { return pgbenchSelect(t.pg, false, p.duration) }, 0},
		{mPgC, metric{}, hasPg, func(t *target) (float64, error) { return pgbenchSelect(t.pg, true, p.duration) }, 0},
		{mRedisC, mRedisCCPU, hasRedis, func(t *target) (float64, error) { return redisBenchmark(t.redis, false, nc) }, 2 * int64(nc)},
	} {
		for _, t := range rotate(targets, rep) {
			if !r.ok(t) || !p.runs(r.m, r.cpu) {
				continue
			}
			var v float64
			cpu, err := cpuPerOp(t, func() (int64, error) {
				var err error
				v, err = r.run(t)
				return r.ops, err
			})
			if err != nil {
				return fmt.Errorf("%s: %s: %w", t.name, r.m.name, err)
			}
			res.add(r.m, t, rep, v)
			if cpu >= 0 && r.cpu.name != "" {
				res.add(r.cpu, t, rep, cpu)
			}
		}
	}
	return nil
}

// cpuPerOp runs fn, which says how many operations it made, and returns
// the µs of CPU t's process spent per operation meanwhile: -1 when t is
// no process (direct) or fn made none.
func cpuPerOp(t *target, fn func() (int64, error)) (float64, error) {
	before, cerr := t.cpu()
	n, err := fn()
	if err != nil {
		return 0, err
	}
	after, aerr := t.cpu()
	if cerr != nil || aerr != nil || n <= 0 {
		return -1, nil
	}
	return float64((after - before).Microseconds()) / float64(n), nil
}

// controlPlane measures the admin socket of each proxy.
func controlPlane(p *plan, targets []*target, rep int, res *results) error {
	for _, t := range rotate(targets, rep) {
		if t.proc == nil {
			continue
		}
		v, err := showStatTime(t, 20)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		res.add(mStat, t, rep, v)
		p50, p99, rate, err := setServerUnderLoad(t, p.duration)
		if err != nil {
			return fmt.Errorf("%s: set server under load: %w", t.name, err)
		}
		res.add(mSetP50, t, rep, p50)
		res.add(mSetP99, t, rep, p99)
		res.add(mSetRate, t, rep, rate)
		late, last, err := maintObeys(t)
		if err != nil {
			return fmt.Errorf("%s: maint: %w", t.name, err)
		}
		res.add(mLate, t, rep, float64(late))
		res.add(mLast, t, rep, last)
	}
	return nil
}

// settleTimeWait waits (at most 70 s) until the connections closed by an
// earlier run have left TIME_WAIT: tens of thousands of them (a
// connection-rate run leaves ~90,000) keep the proxies from opening
// thousands of connections at once.
func settleTimeWait() {
	for end := time.Now().Add(70 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		n := timeWait()
		if n < 2000 {
			return
		}
		fmt.Fprintf(os.Stderr, "waiting for %d connections in TIME_WAIT to expire\n", n)
	}
}

// timeWait is the system's count of TCP sockets in TIME_WAIT.
func timeWait() int {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	for i, w := range f {
		if w == "tw" && i+1 < len(f) {
			n, _ := strconv.Atoi(f[i+1])
			return n
		}
	}
	return 0
}

// idleCost is what n idle proxied connections add to a proxy's resident
// memory and descriptors, per connection.
func idleCost(t *target, n int, echo *server) (mem, fds float64, err error) {
	base := echo.open.Load()
	rss0, fd0, err := t.usage()
	if err != nil {
		return 0, 0, err
	}
	conns, err := idleConns(t.idle, n, echo)
	if err != nil {
		return 0, 0, err
	}
	time.Sleep(500 * time.Millisecond) // let the proxy settle its buffers
	rss1, fd1, err := t.usage()
	closeAll(conns)
	for end := time.Now().Add(30 * time.Second); echo.open.Load() > base && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return 0, 0, err
	}
	return float64(rss1-rss0) / float64(n), float64(fd1-fd0) / float64(n), nil
}
