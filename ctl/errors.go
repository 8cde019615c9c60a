package ctl

import (
	"errors"
	"fmt"
	"time"
)

// Exit codes of pivotctl, one per kind of failure. ExitCode maps an error to
// one of them.
const (
	ExitOK          = 0 // every command was done
	ExitRefused     = 1 // a daemon refused a command, or has no such object
	ExitUsage       = 2 // pivotctl was called wrongly; nothing was sent
	ExitUnreachable = 3 // a socket could not be reached or stopped answering
	ExitBusy        = 4 // a wait ended with sessions still open (drain --wait)
)

// BusyError reports that a server still had sessions (or queued
// connections) when a wait for it to empty reached its deadline.
type BusyError struct {
	Server           ServerRef
	Sessions, Queued int64
	After            time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("%s: %d sessions still open and %d queued after %s", e.Server, e.Sessions, e.Queued, e.After)
}

// RefusedError reports a daemon's refusal of a command: an error message
// where success is silent, or a known error string (see ClassifyReply).
type RefusedError struct {
	Cmd     string // the command line sent
	Message string // the daemon's answer, trimmed of the framing newlines
	Context string // pivotctl's explanation, e.g. `backend "pg": no server named "node9"`; may be empty
}

func (e *RefusedError) Error() string {
	if e.Context != "" {
		return e.Context + " (" + firstLine(e.Message) + ")"
	}
	return firstLine(e.Message)
}

// NotFoundError reports that an object named on pivotctl's command line is
// not in the daemon's answer (for example `show stat -b nosuch`). It counts
// as a refusal.
type NotFoundError struct {
	Kind string // "backend", "server" or "frontend"
	Name string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("no %s named %q", e.Kind, e.Name) }

// UnreachableError reports that a socket could not be dialed, or that the
// exchange on it failed (write error, read timeout).
type UnreachableError struct {
	Addr string // the socket, as given by the user
	Op   string // "dial", "write" or "read"
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("socket %s: %s: %v", e.Addr, e.Op, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// UsageError reports a wrong pivotctl invocation found before anything was
// sent: a bad B/S designator, a malformed weight, a missing argument.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef builds a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// ExitCode gives the pivotctl exit code for err: ExitOK for nil, ExitRefused
// for *RefusedError and *NotFoundError, ExitUsage for *UsageError,
// ExitUnreachable for *UnreachableError. Any other error is a usage error
// (such errors come from command-line parsing). For an error joined with
// errors.Join, the worst (highest) code of its parts wins.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		worst := ExitOK
		for _, e := range j.Unwrap() {
			worst = max(worst, ExitCode(e))
		}
		return worst
	}
	var (
		refused *RefusedError
		missing *NotFoundError
		usage   *UsageError
		unreach *UnreachableError
		busy    *BusyError
	)
	switch {
	case errors.As(err, &unreach):
		return ExitUnreachable
	case errors.As(err, &busy):
		return ExitBusy
	case errors.As(err, &refused), errors.As(err, &missing):
		return ExitRefused
	case errors.As(err, &usage):
		return ExitUsage
	}
	return ExitUsage
}
