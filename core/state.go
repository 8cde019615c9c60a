package core

import (
	"fmt"
)

// Admin is a server's administrative state as a set of causes, the way
// HAProxy keeps it (`enum srv_admin`): each cause is set and cleared on its
// own, so `state ready` lifts only the operator's maintenance and never one
// that came from elsewhere. The bit values are HAProxy's, so `show servers
// state` can print them as they are.
type Admin uint8

// The causes. Forced ones come from an operator (CLI, agent, state file);
// ConfigMaint marks a forced maintenance that came from `disabled`.
const (
	AdminForcedMaint Admin = 0x01 // FMAINT
	AdminInhMaint    Admin = 0x02 // IMAINT: inherited from a tracked server
	AdminConfigMaint Admin = 0x04 // CMAINT: `disabled` in the configuration
	AdminForcedDrain Admin = 0x08 // FDRAIN
	AdminInhDrain    Admin = 0x10 // IDRAIN
	AdminResolvMaint Admin = 0x20 // RMAINT: the address could not be resolved

	adminMaint = AdminForcedMaint | AdminInhMaint | AdminResolvMaint
	adminDrain = AdminForcedDrain | AdminInhDrain
)

// Maint reports whether any maintenance cause is set.
func (a Admin) Maint() bool { return a&adminMaint != 0 }

// Drain reports whether any drain cause is set.
func (a Admin) Drain() bool { return a&adminDrain != 0 }

// with is a after the forced state st (an operator's, or an agent's):
// ready lifts the forced drain and maintenance, drain replaces a forced
// maintenance, maint a forced drain. CMAINT only records that the
// maintenance came from the configuration; HAProxy keeps it when the
// operator lifts it.
func (a Admin) with(st AdminState) Admin {
	switch st {
	case StateReady:
		return a &^ (AdminForcedMaint | AdminForcedDrain)
	case StateDrain:
		return a&^AdminForcedMaint | AdminForcedDrain
	case StateMaint:
		return a&^AdminForcedDrain | AdminForcedMaint
	}
	return a
}

// AdminState is what an operator asks for with `set server ... state`.
type AdminState int

// The three states an operator can set.
const (
	StateReady AdminState = iota
	StateDrain
	StateMaint
)

func (s AdminState) String() string {
	switch s {
	case StateReady:
		return "ready"
	case StateDrain:
		return "drain"
	case StateMaint:
		return "maint"
	}
	return fmt.Sprintf("AdminState(%d)", int(s))
}

// Op is a server's operational state, as health checks (or the operator
// standing in for them) found it. The values are HAProxy's.
type Op uint8

// Operational states.
const (
	OpStopped  Op = 0 // down
	OpStarting Op = 1 // up, warming up under slowstart
	OpRunning  Op = 2 // up
	OpStopping Op = 3 // up but soft-stopping: takes no new load-balanced traffic ("NOLB")
)

// Up reports whether the state counts as up for load balancing purposes.
func (o Op) Up() bool { return o == OpRunning || o == OpStarting }

// Health is what `set server ... health` asks for.
type Health int

// The three health values an operator can force.
const (
	HealthUp Health = iota
	HealthStopping
	HealthDown
)

// CheckStatus is the result code of a health check, numbered as HAProxy
// numbers them in `show servers state`.
type CheckStatus uint8

// The codes a TCP load balancer can produce. The numbers are HAProxy's.
const (
	CheckUnknown  CheckStatus = 0
	CheckInit     CheckStatus = 1
	CheckChecked  CheckStatus = 3 // an agent answered without a health word
	CheckSockErr  CheckStatus = 5
	CheckL4OK     CheckStatus = 6
	CheckL4Tout   CheckStatus = 7
	CheckL4Con    CheckStatus = 8
	CheckL6OK     CheckStatus = 9
	CheckL6Tout   CheckStatus = 10
	CheckL6Rsp    CheckStatus = 11
	CheckL7Tout   CheckStatus = 12
	CheckL7Rsp    CheckStatus = 13
	CheckL7OK     CheckStatus = 15
	CheckL7OKCond CheckStatus = 16
	CheckL7Sts    CheckStatus = 17
)

var checkStatusText = map[CheckStatus][2]string{
	CheckUnknown:  {"UNK", "Unknown"},
	CheckInit:     {"INI", "Initializing"},
	CheckChecked:  {"CHECKED", "No status change"},
	CheckSockErr:  {"SOCKERR", "Socket error"},
	CheckL4OK:     {"L4OK", "Layer4 check passed"},
	CheckL4Tout:   {"L4TOUT", "Layer4 timeout"},
	CheckL4Con:    {"L4CON", "Layer4 connection problem"},
	CheckL6OK:     {"L6OK", "Layer6 check passed"},
	CheckL6Tout:   {"L6TOUT", "Layer6 timeout"},
	CheckL6Rsp:    {"L6RSP", "Layer6 invalid response"},
	CheckL7Tout:   {"L7TOUT", "Layer7 timeout"},
	CheckL7Rsp:    {"L7RSP", "Layer7 invalid response"},
	CheckL7OK:     {"L7OK", "Layer7 check passed"},
	CheckL7OKCond: {"L7OKC", "Layer7 check conditionally passed"},
	CheckL7Sts:    {"L7STS", "Layer7 wrong status"},
}

// Code is the short code `show stat` prints in check_status (L4OK, ...).
func (c CheckStatus) Code() string { return checkStatusText[c][0] }

// Desc is the sentence `show stat` prints in check_desc.
func (c CheckStatus) Desc() string { return checkStatusText[c][1] }

// Passed reports whether the result counts as a success.
func (c CheckStatus) Passed() bool {
	return c == CheckL4OK || c == CheckL6OK || c == CheckL7OK || c == CheckL7OKCond
}

// Result is HAProxy's check_result number for the state file:
// 0 unknown, 1 neutral, 2 failed, 3 passed, 4 conditionally passed.
func (c CheckStatus) Result() int {
	switch c {
	case CheckUnknown, CheckInit:
		return 0
	case CheckL4OK, CheckL6OK, CheckL7OK:
		return 3
	case CheckL7OKCond:
		return 4
	}
	return 2
}

// statusTextLocked is the `status` column of a server row, worded exactly as
// HAProxy 2.6 words it. It reads only fields guarded by b.mu.
func (s *Server) statusTextLocked() string {
	switch {
	case s.admin&AdminResolvMaint != 0:
		return "MAINT (resolution)"
	case s.admin&AdminInhMaint != 0 && s.track != nil:
		return "MAINT (via " + s.track.path() + ")"
	case s.admin&AdminForcedMaint != 0:
		return "MAINT"
	}
	// A tracking server is worded from the check at the end of its chain.
	v := s.viewLocked()
	rise, fall, health := v.rise, v.fall, v.health
	checked := v.enabled
	full := health == rise+fall-1
	switch s.op {
	case OpRunning, OpStarting:
		goingDown := checked && !full
		if s.admin.Drain() {
			if v.agent {
				return "DRAIN (agent)"
			}
			if goingDown {
				return fmt.Sprintf("DRAIN %d/%d", health-rise+1, fall)
			}
			return "DRAIN"
		}
		if goingDown {
			return fmt.Sprintf("UP %d/%d", health-rise+1, fall)
		}
		if !checked {
			return "no check"
		}
		return "UP"
	case OpStopping:
		if !checked || full {
			return "NOLB"
		}
		return fmt.Sprintf("NOLB %d/%d", health-rise+1, fall)
	}
	switch {
	case v.agent && v.agentHealth == 0:
		return "DOWN (agent)"
	case checked && health == 0:
		return "DOWN"
	case checked || v.agent:
		return fmt.Sprintf("DOWN %d/%d", health, rise)
	}
	return "DOWN"
}
