package main

import (
	"strings"
	"testing"
)

func TestMedianAndRotate(t *testing.T) {
	for _, tc := range []struct {
		v    []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{1, 2, 9}, 2}, {[]float64{1, 2, 3, 10}, 2.5}} {
		if got := median(tc.v); got != tc.want {
			t.Errorf("median(%v) = %v; want %v", tc.v, got, tc.want)
		}
	}
	ts := []*target{{name: "a"}, {name: "b"}, {name: "c"}}
	var order []string
	for rep := range 3 {
		var names []string
		for _, x := range rotate(ts, rep) {
			names = append(names, x.name)
		}
		order = append(order, strings.Join(names, ""))
	}
	if got := strings.Join(order, " "); got != "abc bca cab" {
		t.Errorf("rotations: %s", got)
	}
}

func TestVerdict(t *testing.T) {
	hap := figure{med: 100, ok: true}
	for _, tc := range []struct {
		m    metric
		piv  float64
		want string
	}{
		{mRR1, 100, "met"}, {mRR1, 99, "**not met**"},
		{mRR1p99, 100, "met"}, {mRR1p99, 101, "**not met**"},
		{memMetric(1000), 200, "met"}, {memMetric(1000), 201, "**not met**"},
		{mRR1p50, 500, ""},
	} {
		if got := verdict(tc.m, figure{med: tc.piv, ok: true}, hap); got != tc.want {
			t.Errorf("%s at %v against 100: %q; want %q", tc.m.name, tc.piv, got, tc.want)
		}
	}
}

func TestReportTables(t *testing.T) {
	r := &results{}
	for rep, v := range []float64{10, 30, 20} {
		r.add(mRR1, &target{name: "haproxy"}, rep, v)
		r.add(mRR1, &target{name: "pivot"}, rep, v*2)
	}
	s := summary(r)
	if !strings.Contains(s, "2.00×") || !strings.Contains(s, "met") {
		t.Errorf("summary:\n%s", s)
	}
	if f := r.figure(mRR1.name, "pivot").String(); f != "40.0 (20.0–60.0)" {
		t.Errorf("figure: %s", f)
	}
}
