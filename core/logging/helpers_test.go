package logging

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"pivot/core/config"
)

// fixedNow is the time every test line is stamped with: a single-digit
// day (space-padded in rfc3164) and microseconds (kept in ISO times).
var fixedNow = time.Date(2026, 11, 3, 7, 0, 0, 123456789, time.UTC)

// lockedBuffer is a bytes.Buffer safe for concurrent Write and String.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newTestLogger builds a Logger with tag "pivot", pid 4242 and time
// fixedNow unless opts says otherwise, and closes it when the test ends.
func newTestLogger(t *testing.T, targets []config.LogTarget, opts Options) *Logger {
	t.Helper()
	if opts.PID == 0 {
		opts.PID = 4242
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	l, err := New(targets, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// waitFor retries try until it returns nil or d passes, then fails the
// test with try's last error.
func waitFor(t *testing.T, d time.Duration, try func() error) {
	t.Helper()
	var err error
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if err = try(); err == nil {
			return
		}
	}
	t.Fatalf("after %v: %v", d, err)
}
