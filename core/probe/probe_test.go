package probe

import (
	"context"
	"encoding/hex"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fake is a server that records what a check sends and answers with
// reply once it has received want bytes (or at once when want is 0),
// then closes unless hold is set.
type fake struct {
	addr string
	mu   sync.Mutex
	got  []byte
}

func startFake(t *testing.T, want int, reply string, hold bool) *fake {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, want)
				if want > 0 {
					n, _ := io.ReadFull(c, buf)
					f.mu.Lock()
					f.got = append(f.got, buf[:n]...)
					f.mu.Unlock()
				}
				io.WriteString(c, reply)
				if hold {
					io.Copy(io.Discard, c)
				}
			}()
		}
	}()
	return f
}

func (f *fake) received() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return hex.EncodeToString(f.got)
}

func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func rules(t *testing.T, steps ...Step) *Check {
	t.Helper()
	for _, s := range steps {
		if s.Match != nil {
			if err := s.Match.Compile(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &Check{Steps: steps}
}

func expectStep(kind, pattern string, not bool) Step {
	return Step{Action: Expect, Match: &Match{Kind: kind, Pattern: pattern, Not: not}}
}

// The expected texts are HAProxy 2.6.12's, recorded against the same
// kind of server.
func TestCheckResults(t *testing.T) {
	t.Parallel()
	to := Timeouts{Connect: time.Second, Read: 300 * time.Millisecond}
	dead := deadAddr(t)
	_, deadPort, _ := net.SplitHostPort(dead)
	port, _ := strconv.Atoi(deadPort)
	hello := startFake(t, 0, "hello\n", false)
	silent := startFake(t, 0, "", true)
	tests := []struct {
		desc   string
		check  *Check
		target string
		status Status
		info   string
		log    string
	}{
		{"connect refused", &Check{Builtin: true}, dead, L4Con, "Connection refused", ""},
		{"connect ok", &Check{Builtin: true}, hello.addr, L4OK, "", ""},
		{"tcp-check without rules", &Check{}, hello.addr, L4OK, "", ""},
		{"tcp-check refused", rules(t, expectStep("string", "x", false)), dead, L4Con,
			"Connection refused at initial connection step of tcp-check", ""},
		{"tcp-check connect port refused", rules(t, Step{Action: Connect, Port: port}), hello.addr, L4Con,
			"Connection refused at step 1 of tcp-check (connect port " + deadPort + ")", ""},
		{"string matches", rules(t, expectStep("string", "hello", false)), hello.addr, L7OK, "(tcp-check)", ""},
		{"string mismatch", rules(t, expectStep("string", "ready", false)), hello.addr, L7Rsp,
			"TCPCHK did not match content 'ready' at step 1", ""},
		{"comment counts as a step", rules(t, Step{Action: Comment, Text: "greeting"}, expectStep("string", "welcome", false)), hello.addr, L7Rsp,
			"TCPCHK did not match content 'welcome' at step 2 comment: greeting", ""},
		{"regex mismatch", rules(t, expectStep("rstring", "^220", false)), hello.addr, L7Rsp,
			"TCPCHK did not match content (regex) at step 1", ""},
		{"binary mismatch", rules(t, expectStep("binary", "0d0a", false)), hello.addr, L7Rsp,
			"TCPCHK did not match content (binary) at step 1", ""},
		{"unwanted content", rules(t, expectStep("string", "hello", true)), hello.addr, L7Rsp,
			"TCPCHK matched unwanted content 'hello' at step 1", ""},
		{"negated passes when the server closes", rules(t, expectStep("string", "error", true)), hello.addr, L7OK, "(tcp-check)", ""},
		{"rbinary on the hex form", rules(t, expectStep("rbinary", "^68656C6C6F", false)), hello.addr, L7OK, "(tcp-check)", ""},
		{"timeout", rules(t, Step{Action: Comment, Text: "greeting"}, expectStep("string", "PONG", false)), silent.addr, L7Tout,
			"", " at step 2 of tcp-check (expect string 'PONG') comment: 'greeting'"},
		{"builtin timeout has no detail", Redis(), silent.addr, L7Tout, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			r := tt.check.Run(context.Background(), tt.target, to)
			if r.Status != tt.status || r.Info != tt.info || r.LogInfo != tt.log {
				t.Errorf("got status %d info %q log %q; want %d %q %q", r.Status, r.Info, r.LogInfo, tt.status, tt.info, tt.log)
			}
		})
	}
}

// TestRequests checks the bytes each protocol check sends, as HAProxy
// 2.6 sends them.
func TestRequests(t *testing.T) {
	t.Parallel()
	to := Timeouts{Connect: time.Second, Read: time.Second}
	httpCheck, err := HTTP("", "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc  string
		check *Check
		want  string // hex
		reply string
		info  string
	}{
		{"pgsql user postgres", PgSQL("postgres"), "00000017000300007573657200706f7374677265730000",
			"R\x00\x00\x00\x08\x00\x00\x00\x00", "PostgreSQL server is ok"},
		{"redis", Redis(), "2a310d0a24340d0a50494e470d0a", "+PONG\r\n", "Redis server is ok"},
		{"httpchk default", httpCheck, "4f5054494f4e53202f20485454502f312e300d0a0d0a", "HTTP/1.0 200 OK\r\n\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			f := startFake(t, len(tt.want)/2, tt.reply, false)
			r := tt.check.Run(context.Background(), f.addr, to)
			if got := f.received(); got != tt.want {
				t.Errorf("sent %s; want %s", got, tt.want)
			}
			if !r.Status.Passed() || r.Info != tt.info {
				t.Errorf("result %d %q; want a pass with %q", r.Status, r.Info, tt.info)
			}
		})
	}
}

func TestMySQLLogin(t *testing.T) {
	t.Parallel()
	// A MariaDB greeting, then an ERR packet for the login.
	greeting := "\x0a5.5.5-10.11-MariaDB\x00" + string(make([]byte, 20))
	greet := string([]byte{byte(len(greeting)), 0, 0, 0}) + greeting
	errMsg := "\xff\x15\x04#28000Access denied for user 'nosuch'@'127.0.0.1' (using password: NO)"
	errPkt := string([]byte{byte(len(errMsg)), 0, 0, 2}) + errMsg
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var sent []byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, greet)
		buf := make([]byte, 50)
		n, _ := io.ReadFull(c, buf)
		sent = buf[:n]
		io.WriteString(c, errPkt)
	}()
	r := MySQL("haproxy", false).Run(context.Background(), ln.Addr().String(), Timeouts{Connect: time.Second})
	<-done
	const wantSent = "290000010082000000800001210000000000000000000000000000000000000000000000686170726f78790000" + "0100000001"
	if got := hex.EncodeToString(sent); got != wantSent {
		t.Errorf("sent %s; want %s", got, wantSent)
	}
	if r.Status != L7Sts || r.Code != 1045 || r.Info != "#28000Access denied for user 'nosuch'@'127.0.0.1' (using password: NO)" {
		t.Errorf("result %d code %d %q", r.Status, r.Code, r.Info)
	}
}
