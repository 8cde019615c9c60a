package probe

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseAgentReply(t *testing.T) {
	tests := []struct {
		line string
		want AgentReply
	}{
		{"up", AgentReply{Health: "up"}},
		{"DOWN", AgentReply{Health: "DOWN"}},
		{"  drain,50% maxconn:10", AgentReply{Admin: "drain", Weight: "50%", Maxconn: "10"}},
		{"Ready up", AgentReply{Admin: "ready", Health: "up"}},
		{"down #because reasons", AgentReply{Health: "down", Reason: "because reasons"}},
		{"fail#disk", AgentReply{Unknown: "fail#disk"}},
		{"foo up bar", AgentReply{Health: "up", Unknown: "foo"}},
		{"up down", AgentReply{Health: "down"}}, // the last word of a kind wins
		{"# only a reason", AgentReply{Reason: "only a reason"}},
		{"5x%", AgentReply{Weight: "5x%"}},
		{"", AgentReply{}},
	}
	for _, tc := range tests {
		if got := ParseAgentReply(tc.line); got != tc.want {
			t.Errorf("ParseAgentReply(%q) = %+v; want %+v", tc.line, got, tc.want)
		}
	}
}

func FuzzParseAgentReply(f *testing.F) {
	for _, s := range []string{"up", "drain 50% #x", "maxconn:", "a,b\tc", "#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r := ParseAgentReply(line)
		for _, w := range []string{r.Health, r.Admin, r.Weight, r.Unknown} {
			if strings.ContainsAny(w, " \t,") {
				t.Fatalf("%q: word %q holds a separator", line, w)
			}
		}
		if r.Reason != "" && !strings.Contains(line, "#") {
			t.Fatalf("%q: reason %q without a '#'", line, r.Reason)
		}
	})
}

// TestAgentAnswers runs the agent check against agents that answer well,
// badly and not at all.
func TestAgentAnswers(t *testing.T) {
	tests := []struct {
		desc   string
		answer func(c net.Conn)
		status Status
		info   string
	}{
		{"a line", func(c net.Conn) { io.WriteString(c, "up 50%\r\nignored\n"); io.Copy(io.Discard, c) }, L7OK, "up 50%"},
		{"half a line, then close", func(c net.Conn) { io.WriteString(c, "up") }, L7Tout, "Ignoring incomplete line from agent"},
		{"close at once", func(c net.Conn) {}, L7Rsp, "TCPCHK got an empty response at step 2"},
		{"silence", func(c net.Conn) { io.Copy(io.Discard, c) }, L7Tout, ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			got := make(chan string, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 16)
				c.SetReadDeadline(time.Now().Add(time.Second))
				n, _ := io.ReadFull(c, buf[:6])
				got <- string(buf[:n])
				c.SetReadDeadline(time.Time{})
				tc.answer(c)
			}()
			r := Agent("hello\n").Run(context.Background(), ln.Addr().String(), Timeouts{Connect: time.Second, Read: 300 * time.Millisecond})
			if r.Status != tc.status || r.Info != tc.info {
				t.Errorf("got %v %q; want %v %q", r.Status, r.Info, tc.status, tc.info)
			}
			if s := <-got; s != "hello\n" {
				t.Errorf("the agent was sent %q; want the agent-send string", s)
			}
		})
	}
}
