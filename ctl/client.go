package ctl

import (
	"errors"
	"io"
	"net"
	"strings"
	"time"
)

// DefaultTimeout bounds a dial and a whole command exchange when Dial is
// given a zero timeout.
const DefaultTimeout = 5 * time.Second

// Client sends commands to one admin socket. It holds no connection: each
// Run dials, sends one line, half-closes and reads to EOF. A Client is safe
// for concurrent use.
type Client struct {
	// Name is the socket as the user wrote it; errors and per-daemon
	// reports use it.
	Name    string
	addr    Addr
	timeout time.Duration
}

// Dial parses addr (see ParseAddr) and checks that the socket accepts a
// connection, which it then closes without sending anything. timeout bounds
// each dial and each command's whole exchange; zero means DefaultTimeout. A
// malformed address is a *UsageError, an unreachable socket an
// *UnreachableError.
func Dial(addr string, timeout time.Duration) (*Client, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Client{Name: addr, addr: a, timeout: timeout}
	conn, err := c.dial()
	if err != nil {
		return nil, err
	}
	conn.Close()
	return c, nil
}

// Addr returns the parsed socket address.
func (c *Client) Addr() Addr { return c.addr }

func (c *Client) dial() (net.Conn, error) {
	conn, err := net.DialTimeout(c.addr.Network, c.addr.Address, c.timeout)
	if err != nil {
		return nil, &UnreachableError{Addr: c.Name, Op: "dial", Err: err}
	}
	return conn, nil
}

// Run sends cmd (one line; `;` may chain several commands, as on the socket)
// on a new connection and returns the daemon's raw answer, framing included:
// usually the output followed by an empty line. It reads until the daemon
// closes, so answers without the final empty line are complete too. A
// transport failure is an *UnreachableError; Run does not judge the answer,
// see ClassifyReply.
func (c *Client) Run(cmd string) (string, error) { return c.run(cmd, c.timeout) }

// RunWithin is Run for a command the daemon may take up to d to answer
// (`wait`): the exchange may last d plus the client's usual timeout.
func (c *Client) RunWithin(cmd string, d time.Duration) (string, error) {
	return c.run(cmd, d+c.timeout)
}

func (c *Client) run(cmd string, timeout time.Duration) (string, error) {
	if strings.ContainsAny(cmd, "\r\n") {
		return "", Usagef("command %q: a command is one line", cmd)
	}
	conn, err := c.dial()
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", &UnreachableError{Addr: c.Name, Op: "write", Err: err}
	}
	// Half-close, as socat does: the daemon still answers, and knows that
	// nothing more is coming.
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	b, err := io.ReadAll(conn)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return string(b), &UnreachableError{Addr: c.Name, Op: "read", Err: err}
	}
	return string(b), nil
}

// Do runs cmd and classifies the answer: it returns the answer and, when the
// daemon refused, a *RefusedError (see ClassifyReply).
func (c *Client) Do(cmd string) (string, error) {
	reply, err := c.Run(cmd)
	if err != nil {
		return reply, err
	}
	return reply, ClassifyReply(cmd, reply)
}
