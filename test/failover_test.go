package test

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFailoverIsAtomic flips a backend between two servers with the
// `failover` command, over and over, while clients keep connecting. Every
// connection must find a server, and every connection opened after a
// failover to X returned, and before the next one was sent, must reach X.
func TestFailoverIsAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	v := vars{"fe": freeAddr(t), "dir": dir,
		"a": startBackend(t, "a").Addr, "b": startBackend(t, "b").Addr}
	startPivot(t, `
global
    stats socket $dir/admin.sock level admin
`+baseDefaults+`listen pg
    bind $fe
    server a $a
    server b $b
`, v)
	sock := filepath.Join(dir, "admin.sock")
	waitAdminAlive(t, sock)

	type window struct {
		to        string
		from, to2 time.Time // from: the command returned; to2: the next one is sent
	}
	var mu sync.Mutex
	var windows []window
	type conn struct {
		start, end time.Time
		server     string
		err        error
	}
	var conns []conn
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				name, err := tryWho(v["fe"])
				mu.Lock()
				conns = append(conns, conn{start, time.Now(), name, err})
				mu.Unlock()
			}
		}()
	}
	for i := range 200 {
		target := []string{"a", "b"}[i%2]
		mu.Lock()
		if n := len(windows); n > 0 {
			windows[n-1].to2 = time.Now()
		}
		mu.Unlock()
		got := adminSend(t, sock, "failover pg/"+target+"\n")
		if !strings.HasPrefix(got, "pg/") || !strings.Contains(got, " -> MAINT") {
			t.Fatalf("failover pg/%s: %q", target, got)
		}
		mu.Lock()
		windows = append(windows, window{to: target, from: time.Now()})
		mu.Unlock()
		// Leave the clients a moment between two failovers.
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	windows[len(windows)-1].to2 = time.Now().Add(time.Hour)

	// A connection that overlaps a failover may be cut with the old
	// server's sessions (the default); one that lies within a window may
	// neither fail nor reach another server.
	bad, cut, checked := 0, 0, 0
	for _, c := range conns {
		inside := false
		for _, w := range windows {
			if !c.start.After(w.from) || !c.end.Before(w.to2) {
				continue
			}
			inside = true
			checked++
			switch {
			case c.err != nil:
				t.Errorf("a connection opened %s after the failover to %s found no server: %v", c.start.Sub(w.from), w.to, c.err)
				bad++
			case c.server != w.to:
				t.Errorf("a connection opened %s after the failover to %s reached %s", c.start.Sub(w.from), w.to, c.server)
				bad++
			}
		}
		if !inside && c.err != nil {
			cut++
		}
		if bad > 5 {
			break
		}
	}
	if checked < 100 {
		t.Errorf("only %d of %d connections fell between two failovers", checked, len(conns))
	}
	t.Logf("%d connections, %d between two failovers, %d cut while a failover ran; %d failovers", len(conns), checked, cut, len(windows))
}
