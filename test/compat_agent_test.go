package test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Agent checks (`agent-check`): HAProxy 2.6 and pivotd ask the same
// agents, which answer every word of the agent protocol (and a few
// mistakes), and must show the same states, weights and agent_* columns;
// then the operator's agent commands are compared one by one. (An agent
// that closes after half a line, or at once, is left out: what HAProxy
// shows then depends on when the close arrives; core's tests cover
// pivot's answer.)

// agent is a fake agent whose answer can be changed while it runs, and
// which remembers what it was last sent.
type agent struct {
	*backend
	mu    sync.Mutex
	reply string
	got   string
	// served counts the answers given since the reply last changed.
	served int
}

func startAgent(t *testing.T, reply string) *agent {
	a := &agent{reply: reply}
	a.backend = startBackendFunc(t, "agent", func(_ *backend, c net.Conn) {
		a.mu.Lock()
		reply := a.reply
		a.mu.Unlock()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		// Read what the checker sends (agent-send) before answering,
		// and close only after the checker did, so that no reset can
		// beat the answer.
		buf := make([]byte, 256)
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _ := c.Read(buf)
		a.mu.Lock()
		if n > 0 {
			a.got = string(buf[:n])
		}
		a.mu.Unlock()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, reply)
		a.mu.Lock()
		if a.reply == reply {
			a.served++
		}
		a.mu.Unlock()
		io.Copy(io.Discard, c)
	})
	return a
}

// set changes the answer and, with wait, waits until it was given six
// times: both daemons ask every 200 ms, so each has had it at least once
// (a settle alone could pass while neither had asked yet).
func (a *agent) set(t *testing.T, r string, wait bool) {
	a.mu.Lock()
	a.reply, a.served = r, 0
	a.mu.Unlock()
	if !wait {
		return
	}
	waitFor(t, 5*time.Second, func() error {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.served < 6 {
			return fmt.Errorf("the agent answered %q %d times", r, a.served)
		}
		return nil
	})
}

func (a *agent) port() string {
	_, p, _ := net.SplitHostPort(a.Addr)
	return p
}

func TestCompatAgentChecks(t *testing.T) {
	t.Parallel()
	replies := map[string]string{
		"up": "up\n", "down": "down\n", "stopped": "stopped\n", "fail": "fail #disk full\n",
		"drain": "drain\n", "half": "50%\n", "maxconn": "maxconn:10\n",
		"upw": "up 75%\n", "hash": "down#because reasons\n", "reason": "down # because reasons\n",
		"foo": "foo\n", "upfoo": "up foo\n", "foodown": "foo down\n", "crlf": "UP\r\n",
		"garbage": "up 50%x maxconn:7y\n", "silent": "", "dyn": "up\n",
	}
	v := vars{"ok": startBackend(t, "ok").Addr, "dead": deadAddr(t)}
	agents := map[string]*agent{}
	for name, r := range replies {
		if name == "silent" {
			v["a_silent"] = portOf(startBackendFunc(t, "silent", silentHandler).Addr)
			continue
		}
		agents[name] = startAgent(t, r)
		v["a_"+name] = agents[name].port()
	}
	cfg := compatGlobal + `
    timeout check 500ms
    default-server check inter 300ms rise 1 fall 1 weight 100 agent-inter 200ms

backend be_words
    server up $ok agent-check agent-port $a_up
    server down $ok agent-check agent-port $a_down
    server stopped $ok agent-check agent-port $a_stopped
    server fail $ok agent-check agent-port $a_fail
    server drain $ok agent-check agent-port $a_drain
    server half $ok agent-check agent-port $a_half
    server maxconn $ok agent-check agent-port $a_maxconn
    server upw $ok agent-check agent-port $a_upw
    server hash $ok agent-check agent-port $a_hash
    server reason $ok agent-check agent-port $a_reason
    server foo $ok agent-check agent-port $a_foo
    server upfoo $ok agent-check agent-port $a_upfoo
    server crlf $ok agent-check agent-port $a_crlf
    server foodown $ok agent-check agent-port $a_foodown
    server garbage $ok agent-check agent-port $a_garbage

backend be_faults
    server silent $ok agent-check agent-port $a_silent
    server agentonly $ok no-check agent-check agent-port $a_up
    server checkdown $dead agent-check agent-port $a_up
    server plain $ok

backend be_dyn
    server s1 $ok agent-check agent-port $a_dyn agent-send "hello\n"
`
	p := startCompat(t, cfg, v)
	dyn := agents["dyn"]
	reply := func(r string) compatStep {
		return compatStep{desc: "agent answers " + r, do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			if d == p.Hap {
				dyn.set(t, r, true)
			}
			return ""
		}}
	}
	// replyDisabled changes the answer while nobody asks (agent disabled).
	replyDisabled := func(r string) compatStep {
		return compatStep{desc: "agent answers " + r, do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			if d == p.Hap {
				dyn.set(t, r, false)
			}
			return ""
		}}
	}
	p.settle(t)
	steps := []compatStep{
		{cmd: "show stat"},
		{cmd: "show servers state"},
		{desc: "agent-send reaches the agent", do: func(t *testing.T, p *compatPair, d *compatDaemon) string {
			dyn.mu.Lock()
			defer dyn.mu.Unlock()
			return dyn.got
		}},
		reply("down\n"), settleStep(), {cmd: "show stat be_dyn 4 -1"},
		{cmd: "set server be_dyn/s1 agent up"}, {cmd: "show stat be_dyn 4 -1"},
		settleStep(), {cmd: "show stat be_dyn 4 -1"},
		{cmd: "set server be_dyn/s1 agent foo"},
		{cmd: "disable agent be_dyn/s1"}, settleStep(), {cmd: "show stat be_dyn 4 -1"}, {cmd: "show servers state be_dyn"},
		{cmd: "set server be_dyn/s1 agent down"},
		{cmd: "set server be_dyn/s1 agent-send x"},
		{cmd: "set server be_dyn/s1 agent-port 1"},
		{cmd: "set server be_dyn/s1 agent-addr 127.0.0.1"},
		replyDisabled("up\n"),
		{cmd: "enable agent be_dyn/s1"}, settleStep(), {cmd: "show stat be_dyn 4 -1"},
		{cmd: "enable agent be_faults/plain"},
		{cmd: "disable agent be_faults/plain"},
		{cmd: "set server be_faults/plain agent up"},
		{cmd: "set server be_faults/plain agent-send x"},
		{cmd: "set server be_faults/plain agent-port 1"},
		{cmd: "set server be_dyn/s1 agent-addr foo"},
		{cmd: "set server be_dyn/s1 agent-addr"},
		{cmd: "set server be_dyn/s1 agent-port abc"},
		{cmd: "set server be_dyn/s1 agent-port 70000"},
		{cmd: "set server be_dyn/s1 agent-port"},
		{cmd: "set server be_dyn/s1 agent-addr 127.0.0.1 port " + dyn.port()},
		{cmd: "show servers state be_dyn"},
		reply("drain\n"), settleStep(), {cmd: "show stat be_dyn 4 -1"},
		reply("down\n"), settleStep(), {cmd: "show stat be_dyn 4 -1"},
		reply("up\n"), settleStep(), {cmd: "show stat be_dyn 4 -1"},
		reply("ready 25%\n"), settleStep(), {cmd: "show stat be_dyn 4 -1"},
		reply("maint\n"), settleStep(), {cmd: "show stat be_dyn 4 -1"},
		reply("down\n"), settleStep(), {cmd: "show stat be_dyn 4 -1"},
		reply("ready up 100%\n"), settleStep(), {cmd: "show stat be_dyn 4 -1"},
		{cmd: "show servers state be_dyn"},
	}
	p.run(t, steps)
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
