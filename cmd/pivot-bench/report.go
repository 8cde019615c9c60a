package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// figure is a metric's median and range for one target.
type figure struct {
	med, lo, hi float64
	ok          bool // measured
}

func (r *results) figure(m, t string) figure {
	v := r.values(m, t)
	if len(v) == 0 {
		return figure{}
	}
	return figure{med: median(v), lo: v[0], hi: v[len(v)-1], ok: true}
}

func (f figure) String() string {
	if !f.ok {
		return "–"
	}
	if f.lo == f.hi {
		return num(f.med)
	}
	return fmt.Sprintf("%s (%s–%s)", num(f.med), num(f.lo), num(f.hi))
}

func num(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// ratio is a/b as "1.03×", or "–".
func ratio(a, b figure) string {
	if !a.ok || !b.ok || b.med == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a.med/b.med)
}

// verdict says whether pivot meets the goal for a metric.
func verdict(m metric, piv, hap figure) string {
	if m.zero && piv.ok {
		if piv.hi == 0 {
			return "met"
		}
		return "**not met**"
	}
	if m.goal == 0 || !piv.ok || !hap.ok || hap.med == 0 {
		return ""
	}
	r := piv.med / hap.med
	if m.higher && r >= m.goal || !m.higher && r <= m.goal {
		return "met"
	}
	return "**not met**"
}

func goalText(m metric) string {
	switch {
	case m.zero:
		return "0"
	case m.goal == 0:
		return ""
	case m.higher:
		return fmt.Sprintf("≥ %.1f× HAProxy", m.goal)
	}
	return fmt.Sprintf("≤ %.1f× HAProxy", m.goal)
}

// summary is the figures as a plain table, for the terminal.
func summary(r *results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-40s %14s %14s %14s %10s %10s\n", "metric", "direct", "haproxy", "pivot", "piv/hap", "goal")
	for _, m := range r.metrics {
		d, h, p := r.figure(m.name, "direct"), r.figure(m.name, "haproxy"), r.figure(m.name, "pivot")
		fmt.Fprintf(&b, "%-40s %14s %14s %14s %10s %10s\n", m.name+" ("+m.unit+")",
			med(d), med(h), med(p), ratio(p, h), verdict(m, p, h))
	}
	return b.String()
}

func med(f figure) string {
	if !f.ok {
		return "–"
	}
	return num(f.med)
}

// environment is what the report says about the machine and versions.
type environment struct {
	cpu, kernel, goVersion, haproxy, pivotd string
	cores                                   int
	memory                                  string
}

func describe(haproxy, pivotd string) environment {
	e := environment{cores: runtime.NumCPU(), goVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				e.cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		e.memory = strings.Join(strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1:], " ")
	}
	e.kernel = firstLine("uname", "-sr")
	e.haproxy = firstLine(haproxy, "-v")
	e.pivotd = firstLine(pivotd, "--version")
	return e
}

func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

// writeReport writes report.md, results.csv and results.json to dir.
func writeReport(dir string, p plan, env environment, targets []*target, r *results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# pivot benchmark report\n\n")
	fmt.Fprintf(&b, "Run %s, %s long; each figure is the median of %d runs of %v (min–max in parentheses; memory and descriptors measured once), targets in rotated order.\n\n",
		r.started.UTC().Format("2006-01-02 15:04 UTC"), r.finished.Sub(r.started).Round(1e9), p.reps, p.duration)
	for _, n := range append(p.notes, r.notes...) {
		b.WriteString("> " + n + "\n\n")
	}
	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- CPU: %s, %d cores\n- Memory: %s\n- Kernel: %s\n- Go: %s\n- HAProxy: %s\n- pivotd: %s\n\n",
		env.cpu, env.cores, env.memory, env.kernel, env.goVersion, env.haproxy, env.pivotd)
	b.WriteString("## Figures\n\n")
	b.WriteString("| metric | unit | direct | HAProxy | pivot | pivot / HAProxy | pivot / direct | goal | |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, m := range r.metrics {
		d, h, pv := r.figure(m.name, "direct"), r.figure(m.name, "haproxy"), r.figure(m.name, "pivot")
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			m.name, m.unit, d, h, pv, ratio(pv, h), ratio(pv, d), goalText(m), verdict(m, pv, h))
	}
	b.WriteString("\nWorkloads: bulk streams 64 KiB writes to a sink for the whole run (throughput counted at the sink); request/response sends 64 bytes and waits for their echo, on 1 or 64 connections; connection rate connects, exchanges 64 bytes and closes, from 64 clients; idle connections are opened through the proxy to an echo server and left idle while the proxy's VmRSS and open descriptors are read from /proc. Backends and load generators run in the pivot-bench process, the same for every target.\n")
	b.WriteString("\n## Configuration (HAProxy and pivotd ran the same file)\n\n")
	for _, t := range targets {
		if t.name == "haproxy" {
			b.WriteString("```haproxy\n" + t.config + "```\n\nHAProxy ran as `haproxy -db -f FILE`, pivotd as `pivotd -S none -f FILE`.\n")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "results.csv"))
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"metric", "unit", "target", "rep", "value"})
	for _, s := range r.samples {
		unit := ""
		for _, m := range r.metrics {
			if m.name == s.Metric {
				unit = m.unit
			}
		}
		w.Write([]string{s.Metric, unit, s.Target, strconv.Itoa(s.Rep), strconv.FormatFloat(s.Value, 'f', -1, 64)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	js, err := json.MarshalIndent(map[string]any{
		"started": r.started, "finished": r.finished, "reps": p.reps, "duration_s": p.duration.Seconds(),
		"machine": map[string]any{"cpu": env.cpu, "cores": env.cores, "memory": env.memory, "kernel": env.kernel,
			"go": env.goVersion, "haproxy": env.haproxy, "pivotd": env.pivotd},
		"samples": r.samples,
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644)
}
