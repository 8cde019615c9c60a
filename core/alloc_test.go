package core

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestSessionAllocations: a proxied session costs pivot a handful of
// heap allocations (the session, its relay and its connect attempt), not
// the twenty-one it took before they were counted: each is work for the
// allocator and, in the end, the garbage collector, on every connection.
// Measured as the allocations of n connections through the proxy less
// those of n straight to the server, which make the same client and
// server allocations.
func TestSessionAllocations(t *testing.T) {
	const n, most = 300, 6
	echo := startEcho(t, "s1")
	c := startCore(t, `
listen app
    bind 127.0.0.1:1
    timeout client 5s
    timeout server 5s
    timeout connect 5s
    server s1 %s
`, echo.addr())
	proxied := frontendAddr(t, c, "app")
	mallocs := func(addr string) uint64 {
		t.Helper()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range n {
			if got, err := who(addr); got != "s1" {
				t.Fatalf("connection through %s: %q, %v", addr, got, err)
			}
		}
		waitFor(t, 5*time.Second, func() error {
			if k := c.actconn.Load(); k != 0 {
				return fmt.Errorf("%d sessions still open", k)
			}
			return nil
		})
		runtime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs
	}
	mallocs(proxied) // warm up: maps, buffers and pools reach their size
	direct, viaProxy := mallocs(echo.addr()), mallocs(proxied)
	per := (float64(viaProxy) - float64(direct)) / n
	t.Logf("allocations per connection: direct %.1f, through pivot %.1f: pivot's %.1f", float64(direct)/n, float64(viaProxy)/n, per)
	if per > most {
		t.Errorf("pivot makes %.1f allocations per proxied connection, want at most %d", per, most)
	}
}
