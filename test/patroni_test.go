package test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The Patroni pattern: PostgreSQL nodes behind HAProxy in TCP mode, whose
// health check asks each node's Patroni REST API (another port on the
// same host, `check port`) whether it is the primary: GET /primary
// answers 200 on the primary and 503 on the replicas. Only the primary
// is UP, so that clients always reach it, and its sessions are cut when
// it loses the role (on-marked-down shutdown-sessions).

// patroniAPI is a Patroni-like REST API: GET /primary answers 200 while
// role is "primary" and 503 otherwise; role "garbage" answers any request
// with a line that is not HTTP and closes. It can be stopped and started
// again on the same address.
type patroniAPI struct {
	t    testing.TB
	addr string

	mu   sync.Mutex
	role string
	srv  *http.Server
	odd  []string // requests other than GET /primary

	hits atomic.Int64 // requests answered since the role last changed
}

func newPatroniAPI(t testing.TB, ln net.Listener, role string) *patroniAPI {
	a := &patroniAPI{t: t, addr: ln.Addr().String(), role: role}
	a.serve(ln)
	t.Cleanup(a.stop)
	return a
}

func (a *patroniAPI) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(a.handle), ReadHeaderTimeout: 2 * time.Second}
	a.mu.Lock()
	a.srv = srv
	a.mu.Unlock()
	go srv.Serve(ln)
}

func (a *patroniAPI) handle(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	role := a.role
	if r.Method != "GET" || r.URL.Path != "/primary" {
		a.odd = append(a.odd, r.Method+" "+r.URL.Path)
	}
	a.mu.Unlock()
	defer a.hits.Add(1)
	if role == "garbage" {
		c, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		io.WriteString(c, "garbage\r\n")
		c.Close()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	code := http.StatusServiceUnavailable
	if role == "primary" {
		code = http.StatusOK
	}
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"state": "running", "role": %q}`, role)
}

// set changes the answer and waits until it was given four times: both
// daemons check every 200 ms, so each has had it at least once.
func (a *patroniAPI) set(role string) {
	a.t.Helper()
	a.mu.Lock()
	a.role = role
	a.mu.Unlock()
	a.hits.Store(0)
	waitFor(a.t, 5*time.Second, func() error {
		if n := a.hits.Load(); n < 4 {
			return fmt.Errorf("the API of %s answered %q %d times", a.addr, role, n)
		}
		return nil
	})
}

// stop closes the listener and the open connections: checks are refused.
func (a *patroniAPI) stop() {
	a.mu.Lock()
	srv := a.srv
	a.mu.Unlock()
	srv.Close()
}

// start listens again on the same address, answering as role.
func (a *patroniAPI) start(role string) {
	a.t.Helper()
	var ln net.Listener
	waitFor(a.t, 3*time.Second, func() (err error) {
		ln, err = net.Listen("tcp", a.addr)
		return err
	})
	a.mu.Lock()
	a.role = role
	a.mu.Unlock()
	a.serve(ln)
}

// startPatroniAPIs starts one API on each IP, all on the same port (the
// one `default-server check port` names), and returns them and the port.
func startPatroniAPIs(t testing.TB, roles map[string]string, ips ...string) (map[string]*patroniAPI, string) {
	t.Helper()
	for try := 0; ; try++ {
		var lns []net.Listener
		port := "0"
		for _, ip := range ips {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, port))
			if err != nil {
				break
			}
			lns = append(lns, ln)
			_, port, _ = net.SplitHostPort(ln.Addr().String())
		}
		if len(lns) == len(ips) {
			apis := map[string]*patroniAPI{}
			for i, ln := range lns {
				apis[ips[i]] = newPatroniAPI(t, ln, roles[ips[i]])
			}
			return apis, port
		}
		for _, ln := range lns {
			ln.Close()
		}
		if try == 20 {
			t.Fatalf("no port free on all of %v", ips)
		}
	}
}

// startBackendOn is startBackend listening on ip instead of 127.0.0.1.
func startBackendOn(t testing.TB, name, ip string) *backend {
	t.Helper()
	b := &backend{t: t, Name: name, Addr: ip + ":0", handle: echoHandler, conns: map[net.Conn]bool{}}
	b.Start()
	t.Cleanup(b.Stop)
	return b
}

// statByServer parses show stat into one map of column → value per row,
// keyed "proxy/server".
func statByServer(out string) map[string]map[string]string {
	lines := strings.Split(out, "\n")
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	rows := map[string]map[string]string{}
	for _, l := range lines[1:] {
		c := strings.Split(l, ",")
		if len(c) < len(cols)-1 {
			continue
		}
		row := map[string]string{}
		for i, name := range cols {
			if i < len(c) {
				row[name] = c[i]
			}
		}
		rows[c[0]+"/"+c[1]] = row
	}
	return rows
}

func TestPatroniCheckPort(t *testing.T) {
	t.Parallel()
	// Each node has its own address, as Patroni nodes have their own
	// hosts: PostgreSQL (played by a greeting server) on some port, the
	// REST API on the port every node shares. pg1 and pg2 are on
	// 127.0.0.2 and 127.0.0.3, so a check sent to 127.0.0.1 (or to the
	// data port) would not find the API.
	pg1, pg2 := startBackendOn(t, "n1", "127.0.0.2"), startBackendOn(t, "n2", "127.0.0.3")
	apis, apiPort := startPatroniAPIs(t, map[string]string{"127.0.0.2": "primary", "127.0.0.3": "replica"}, "127.0.0.2", "127.0.0.3")
	api1, api2 := apis["127.0.0.2"], apis["127.0.0.3"]
	p := startCompat(t, compatGlobal+`
listen pg
    bind $FE1
    option httpchk GET /primary
    http-check expect status 200
    default-server check port $api inter 200ms fall 1 rise 1 on-marked-down shutdown-sessions
    server n1 $pg1
    server n2 $pg2
`, vars{"api": apiPort, "pg1": pg1.Addr, "pg2": pg2.Addr})

	// greeted counts the client connections each node accepted, through
	// either daemon: the data ports see nothing else.
	greeted := map[string]int64{}
	traffic := func(want string) {
		t.Helper()
		for _, d := range []*compatDaemon{p.Piv, p.Hap} {
			for range 4 {
				got, err := tryWho(d.FE["FE1"])
				if err != nil || got != want {
					t.Fatalf("%s: a connection got %q, %v; want %s", d.Name, got, err, want)
				}
				greeted[got]++
			}
		}
		if pg1.Accepted() != greeted["n1"] || pg2.Accepted() != greeted["n2"] {
			t.Errorf("data ports accepted n1 %d, n2 %d connections; the clients made n1 %d, n2 %d: checks reached them",
				pg1.Accepted(), pg2.Accepted(), greeted["n1"], greeted["n2"])
		}
	}
	// expect waits until pivotd shows want (server → status, check_status,
	// check_code, check_desc, last_chk), then requires HAProxy to agree.
	cols := []string{"status", "check_status", "check_code", "check_desc", "last_chk"}
	expect := func(want map[string][]string) {
		t.Helper()
		waitFor(t, 5*time.Second, func() error {
			rows := statByServer(send(t, p.Piv.Sock("admin"), "show stat"))
			for _, srv := range []string{"n1", "n2"} {
				var got []string
				for _, c := range cols {
					got = append(got, strings.TrimPrefix(rows["pg/"+srv][c], "* "))
				}
				if !slices.Equal(got, want[srv]) {
					return fmt.Errorf("pivotd shows %s as %q; want %q", srv, got, want[srv])
				}
			}
			return nil
		})
		// HAProxy agrees on status, check_status and last_chk (settle),
		// and on check_code and check_desc.
		p.settle(t)
		waitFor(t, 2*time.Second, func() error {
			h, v := p.Both(func(d *compatDaemon) string {
				out := compatNormalise(d, send(t, d.Sock("admin"), "show stat"))
				return compatColumns(out, "pxname", "svname", "status", "check_status", "check_code", "check_desc")
			})
			if h != v {
				return fmt.Errorf("show stat differs\nhaproxy:\n%s\npivotd:\n%s", h, v)
			}
			return nil
		})
	}

	// What show stat says of a node whose API answers 200 (the primary)
	// and 503 (a replica): status, check_status, check_code, check_desc,
	// last_chk.
	primary := []string{"UP", "L7OK", "200", "Layer7 check passed", ""}
	replica := []string{"DOWN", "L7STS", "503", "Layer7 wrong status", "Service Unavailable"}

	// (a) n1 is the primary.
	api1.set("primary")
	api2.set("replica")
	expect(map[string][]string{
		"n1": primary,
		"n2": replica,
	})
	traffic("n1")

	// (b) switchover: n2 is promoted, n1 demoted. The sessions on n1
	// are cut as it goes down.
	var held []*client
	for _, d := range []*compatDaemon{p.Piv, p.Hap} {
		c := dial(t, d.FE["FE1"])
		if got := c.greeting(); got != "n1" {
			t.Fatalf("%s: held session greeted by %q; want n1", d.Name, got)
		}
		greeted["n1"]++
		held = append(held, c)
	}
	api1.set("replica")
	api2.set("primary")
	expect(map[string][]string{
		"n1": replica,
		"n2": primary,
	})
	for _, c := range held {
		c.expectEOF(3 * time.Second)
	}
	traffic("n2")

	// (c) n2's API dies, PostgreSQL still runs: no primary is known.
	api2.stop()
	expect(map[string][]string{
		"n1": replica,
		"n2": {"DOWN", "L4CON", "", "Layer4 connection problem", "Connection refused"},
	})
	// With no server UP, both daemons accept and close at once.
	for _, d := range []*compatDaemon{p.Piv, p.Hap} {
		dial(t, d.FE["FE1"]).expectEOF(3 * time.Second)
	}

	// The API comes back: n2 is UP again.
	api2.start("primary")
	api2.set("primary")
	expect(map[string][]string{
		"n1": replica,
		"n2": primary,
	})
	traffic("n2")

	// (d) n1 is promoted while n2's API starts answering something that
	// is not HTTP: n2 goes DOWN on it.
	api1.set("primary")
	api2.set("garbage")
	expect(map[string][]string{
		"n1": primary,
		"n2": {"DOWN", "L7RSP", "", "Layer7 invalid response", ""},
	})
	traffic("n1")

	for _, a := range []*patroniAPI{api1, api2} {
		a.mu.Lock()
		if a.odd != nil {
			t.Errorf("the API on %s got %q; want only GET /primary", a.addr, a.odd)
		}
		a.mu.Unlock()
	}
}
