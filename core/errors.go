package core

import (
	"errors"
	"fmt"
)

// TrackError is why `add server ... track` was refused, in HAProxy's
// words.
type TrackError struct{ Msg string }

func (e *TrackError) Error() string { return e.Msg }

// NotFoundError says that a named frontend, backend, server or session
// does not exist. Kind is "frontend", "backend", "server" or "session";
// Backend is set for servers.
type NotFoundError struct {
	Kind    string
	Backend string
	Name    string
}

func (e *NotFoundError) Error() string {
	if e.Kind == "server" {
		return fmt.Sprintf("backend %q: no server named %q", e.Backend, e.Name)
	}
	return fmt.Sprintf("no %s named %q", e.Kind, e.Name)
}

// Refusals of runtime changes. Each is a sentinel so that the admin socket
// can answer with HAProxy's exact words (errors.Is), while pivot's own
// tools show the wrapped detail.
var (
	// ErrWeightRange: an absolute weight outside 0..256.
	ErrWeightRange = errors.New("absolute weight can only be between 0 and 256 inclusive")
	// ErrWeightNegative: a negative relative weight.
	ErrWeightNegative = errors.New("relative weight must be positive")
	// ErrStaticWeight: static-rr and source only take 0% and 100% at
	// runtime.
	ErrStaticWeight = errors.New("backend is using a static LB algorithm and only accepts weights '0%' and '100%'")
	// ErrNoCheck: the server has no health check configured.
	ErrNoCheck = errors.New("health checks are not configured on this server")
	// ErrNoAgent: the server has no agent check configured.
	ErrNoAgent = errors.New("agent checks are not enabled on this server")
	// ErrAgentNotConfigured: `enable agent` on a server without
	// agent-check.
	ErrAgentNotConfigured = errors.New("agent was not configured on this server")
	// ErrNotInMaint: only servers in maintenance can be deleted.
	ErrNotInMaint = errors.New("only servers in maintenance mode can be deleted")
	// ErrHasSessions: a server with sessions or queued connections cannot
	// be deleted.
	ErrHasSessions = errors.New("server still has connections attached to it, cannot remove it")
	// ErrServerExists: `add server` with a name already in use.
	ErrServerExists = errors.New("already exists")
	// ErrFrontendStopped: a frontend shut down for good cannot be
	// enabled or changed.
	ErrFrontendStopped = errors.New("frontend was shut down and cannot be enabled again")
	// ErrStaticBackend: servers cannot be added to a backend whose
	// algorithm is static (static-rr, source).
	ErrStaticBackend = errors.New("backend must use a dynamic load balancing algorithm to support dynamic servers")
	// ErrProxyDisabled: the backend is disabled in the configuration.
	ErrProxyDisabled = errors.New("proxy is disabled")
	// ErrStopping: the daemon is stopping; nothing may start accepting.
	ErrStopping = errors.New("pivotd is stopping")
	// ErrTracking: a tracking server's health is the tracked server's and
	// cannot be forced on its own.
	ErrTracking = errors.New("cannot change health on a tracking server")
	// ErrTracked: a server other servers track cannot be deleted.
	ErrTracked = errors.New("other servers track this server")
	// ErrBadTrack: `add server ... track` names a server that cannot be
	// tracked; the message says why, in HAProxy's words.
	ErrBadTrack = errors.New("cannot track")
	// ErrTargetDown: a failover to a server that would not take traffic
	// at once (its checks found it down, or it would wait for them once
	// out of maintenance) would leave the backend without a server.
	ErrTargetDown = errors.New("failover refused")
	// ErrBadValue: a number or address outside what the setting accepts.
	ErrBadValue = errors.New("invalid value")
)

// refuse wraps a sentinel with what was being changed.
func refuse(err error, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
}
