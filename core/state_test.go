package core

import (
	"testing"
	"time"

	"pivot/core/probe"
)

func TestStatusText(t *testing.T) {
	tests := []struct {
		desc    string
		admin   Admin
		op      Op
		checked bool
		health  int // rise 2, fall 3: full health is 4
		want    string
	}{
		{"checked at full health", 0, OpRunning, true, 4, "UP"},
		{"checked, one failure", 0, OpRunning, true, 3, "UP 2/3"},
		{"checked, fresh (health = rise)", 0, OpRunning, true, 2, "UP 1/3"},
		{"unchecked", 0, OpRunning, false, 2, "no check"},
		{"warming up counts as up", 0, OpStarting, true, 4, "UP"},
		{"drain at full health", AdminForcedDrain, OpRunning, true, 4, "DRAIN"},
		{"drain going down", AdminForcedDrain, OpRunning, true, 3, "DRAIN 2/3"},
		{"drain unchecked", AdminForcedDrain, OpRunning, false, 2, "DRAIN"},
		{"maint", AdminForcedMaint, OpStopped, true, 4, "MAINT"},
		{"maint from config", AdminForcedMaint | AdminConfigMaint, OpStopped, false, 2, "MAINT"},
		{"maint wins over drain", AdminForcedMaint | AdminForcedDrain, OpStopped, true, 4, "MAINT"},
		{"resolution", AdminResolvMaint, OpStopped, false, 2, "MAINT (resolution)"},
		{"stopping", 0, OpStopping, true, 4, "NOLB"},
		{"stopping going down", 0, OpStopping, true, 3, "NOLB 2/3"},
		{"stopping unchecked", 0, OpStopping, false, 0, "NOLB"},
		{"down", 0, OpStopped, true, 0, "DOWN"},
		{"down, one success", 0, OpStopped, true, 1, "DOWN 1/2"},
		{"down unchecked", 0, OpStopped, false, 0, "DOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			s := &Server{b: &Backend{name: "be"}, name: "s1", admin: tt.admin, op: tt.op}
			s.check = checkState{enabled: tt.checked, rise: 2, fall: 3, health: tt.health}
			if got := s.statusTextLocked(); got != tt.want {
				t.Errorf("status = %q; want %q", got, tt.want)
			}
		})
	}
}

// TestCheckSequence replays HAProxy's recorded sequence for rise 2 fall 2
// (transcripts §24): UP → UP 1/2 → DOWN → DOWN 1/2 → UP, and the first
// failure of a fresh server (health = rise) takes it straight down.
func TestCheckSequence(t *testing.T) {
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    server s1 127.0.0.1:9 check inter 1h rise 2 fall 2
`)
	b, _ := c.Backend("app")
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.serverLocked("s1")
	now := time.Now()
	steps := []struct {
		status CheckStatus
		want   string
	}{
		{CheckL4OK, "UP"},
		{CheckL4Con, "UP 1/2"},
		{CheckL4Con, "DOWN"},
		{CheckL4OK, "DOWN 1/2"},
		{CheckL4OK, "UP"},
		{CheckL4OK, "UP"},
	}
	if got := s.statusTextLocked(); got != "UP 1/2" {
		t.Fatalf("fresh server: status %q; want %q", got, "UP 1/2")
	}
	for i, st := range steps {
		b.checkResultLocked(s, probe.Result{Status: probe.Status(st.status)}, now)
		if got := s.statusTextLocked(); got != st.want {
			t.Fatalf("step %d (%s): status %q; want %q", i, st.status.Code(), got, st.want)
		}
	}
	if s.check.failed != 2 || s.chkDown != 1 {
		t.Errorf("chkfail %d, chkdown %d; want 2, 1", s.check.failed, s.chkDown)
	}

	// A fresh server (health = rise) goes down on its first failure.
	s.check.health = s.check.rise
	b.checkResultLocked(s, probe.Result{Status: probe.L4Tout}, now)
	if got := s.statusTextLocked(); got != "DOWN" {
		t.Errorf("fresh server after one failure: %q; want DOWN", got)
	}
}

func TestIntervals(t *testing.T) {
	s := &Server{op: OpRunning}
	s.check = checkState{rise: 2, fall: 3, inter: 2 * time.Second, fastInter: 500 * time.Millisecond, downInter: 5 * time.Second}
	for _, tt := range []struct {
		op     Op
		health int
		want   time.Duration
	}{
		{OpRunning, 4, 2 * time.Second},
		{OpRunning, 3, 500 * time.Millisecond},
		{OpStopped, 1, 500 * time.Millisecond},
		{OpStopped, 0, 5 * time.Second},
	} {
		s.op, s.check.health = tt.op, tt.health
		if got := s.intervalLocked(); got != tt.want {
			t.Errorf("op %d health %d: interval %v; want %v", tt.op, tt.health, got, tt.want)
		}
	}
}
