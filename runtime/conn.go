package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"time"
)

// maxLine is the longest command line accepted, without its LF: what
// HAProxy 2.6 accepts with its default buffers (bufsize - maxrewrite - 1).
const maxLine = 15359

var errLineTooLong = errors.New("line too long")

// adminConn is one client of an admin socket.
type adminConn struct {
	srv  *Server
	sock *socket
	conn net.Conn
	// level is the connection's level: the socket's, possibly lowered by
	// `operator` or `user`.
	level   Level
	prompt  bool
	timeout time.Duration
	quit    bool // `quit`: close now, print nothing more
}

// serveAdminConn reads command lines and answers them until the client
// is done: in the default mode after the last line it sent, in prompt
// mode when it quits or stays idle past the timeout. A panic in a
// handler closes only this connection.
func (s *Server) serveAdminConn(sock *socket, conn net.Conn) {
	defer s.wg.Done()
	defer func() { <-s.slots }()
	defer conn.Close()
	c := &adminConn{srv: s, sock: sock, conn: conn, level: sock.level, timeout: time.Duration(s.timeout.Load())}
	defer func() {
		if r := recover(); r != nil && s.opts.Diag != nil {
			s.opts.Diag.Alert(fmt.Sprintf("admin socket: internal error: %v\n%s", r, debug.Stack()))
		}
	}()
	if !s.track(conn) {
		return
	}
	defer s.untrack(conn)

	r := bufio.NewReaderSize(conn, 4096)
	w := bufio.NewWriter(conn)
	for {
		conn.SetReadDeadline(time.Now().Add(c.timeout))
		line, err := readLine(r)
		if errors.Is(err, errLineTooLong) {
			fmt.Fprintf(w, "Command line too long (more than %d bytes).\n\n", maxLine)
			w.Flush()
			discardRest(conn, r)
			return
		}
		if err != nil {
			return // EOF (a last line without LF is not run), timeout, reset
		}
		conn.SetReadDeadline(time.Time{})
		for _, cmd := range splitCommands(line) {
			if c.exec(w, cmd); c.quit {
				break
			}
		}
		if w.Flush() != nil || c.quit {
			return
		}
		if !c.prompt && r.Buffered() == 0 {
			return
		}
	}
}

// discardRest half-closes conn after an error answer and reads what the
// client still sends (at most 1 MiB, for at most a second), so that
// closing does not reset the connection before the answer is read.
func discardRest(conn net.Conn, r *bufio.Reader) {
	if hc, ok := conn.(interface{ CloseWrite() error }); ok {
		hc.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, io.LimitReader(r, 1<<20))
}

// readLine reads one line without its LF (and a CR before it).
func readLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine+1 || (len(line) == maxLine+1 && line[maxLine] != '\n') {
			return "", errLineTooLong
		}
		switch {
		case err == nil:
			line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
			return string(line), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		}
		return "", err
	}
}

// exec runs one command and writes its answer and the terminator: an
// empty line, or the prompt in interactive mode. `quit` writes nothing.
func (c *adminConn) exec(w *bufio.Writer, line string) {
	args := tokenize(line)
	cmd := lookup(args)
	switch {
	case len(args) == 0 || cmd == nil:
		suggest(w, args)
	case c.level < cmd.level:
		io.WriteString(w, "Permission denied\n")
	default:
		cmd.run(c, w, args)
	}
	if c.quit {
		return
	}
	if c.prompt {
		io.WriteString(w, "\n> ")
	} else {
		io.WriteString(w, "\n")
	}
}

// track registers a live connection so that Stop can close it; it
// refuses when the server is stopping.
func (s *Server) track(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.stop:
		return false
	default:
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[conn] = struct{}{}
	return true
}

func (s *Server) untrack(conn net.Conn) {
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
}
