package ctl

import (
	"fmt"
	"strings"
	"time"
)

// WaitUnused asks the daemon to wait, up to d, until the server has no
// session and nothing queued (`wait D srv-unused B/S`, a pivot
// condition that also works while the server drains). It returns nil
// when the server is unused, a *BusyError with what is left at the
// deadline, or the daemon's refusal.
func (c *Client) WaitUnused(ref ServerRef, d time.Duration) error {
	cmd := fmt.Sprintf("wait %dms srv-unused %s", max(d.Milliseconds(), 1), ref)
	reply, err := c.RunWithin(cmd, d)
	if err != nil {
		return err
	}
	msg := strings.TrimSpace(reply)
	if msg == "Done." {
		return nil
	}
	var sessions, queued int64
	if _, scanErr := fmt.Sscanf(msg, "Wait delay expired (%d sessions, %d queued).", &sessions, &queued); scanErr == nil {
		return &BusyError{Server: ref, Sessions: sessions, Queued: queued, After: d}
	}
	return &RefusedError{Cmd: cmd, Message: msg}
}
