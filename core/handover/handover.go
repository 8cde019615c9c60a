// Package handover passes listening sockets from a running pivotd to the
// pivotd that replaces it (SIGUSR2, a binary upgrade), so that the
// sockets are never closed and no client is refused while one process
// gives way to the other.
//
// The old process starts the new one with the sockets as extra file
// descriptors and an environment variable naming them by key (the
// address a frontend or admin socket was configured with). The new one
// takes the sockets whose keys its configuration still has, binds the
// rest, closes the ones it did not want, and says it is ready on a pipe;
// only then does the old one stop accepting and finish its sessions.
package handover

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// envVar names the sockets handed over: "ready=FD;KEY=FD;KEY=FD...",
// keys percent-escaped.
const envVar = "PIVOT_HANDOVER_FDS"

// Pool holds the sockets a process was handed; the zero Pool (or nil)
// holds none, as in a process started by hand.
type Pool struct {
	mu    sync.Mutex
	files map[string]*os.File
	ready *os.File
}

// FromEnv takes the sockets handed to this process, and removes the
// variable so that no child of ours sees it.
func FromEnv() (*Pool, error) {
	v, ok := os.LookupEnv(envVar)
	if !ok {
		return &Pool{}, nil
	}
	os.Unsetenv(envVar)
	p := &Pool{files: map[string]*os.File{}}
	for _, item := range strings.Split(v, ";") {
		k, fdText, ok := strings.Cut(item, "=")
		fd, err := strconv.Atoi(fdText)
		if !ok || err != nil || fd < 3 {
			return nil, fmt.Errorf("%s: bad entry %q", envVar, item)
		}
		key := unescape(k)
		f := os.NewFile(uintptr(fd), key)
		if key == "ready" {
			p.ready = f
		} else {
			p.files[key] = f
		}
	}
	return p, nil
}

// Listener takes the socket handed over under key, if there is one.
func (p *Pool) Listener(key string) (net.Listener, bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	f := p.files[key]
	delete(p.files, key)
	p.mu.Unlock()
	if f == nil {
		return nil, false
	}
	defer f.Close() // FileListener keeps its own descriptor
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, false
	}
	return ln, true
}

// Ready closes the sockets nobody took (their addresses left the
// configuration) and tells the old process that this one is serving.
func (p *Pool) Ready() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, f := range p.files {
		f.Close()
		delete(p.files, k)
	}
	if p.ready != nil {
		p.ready.WriteString("ready\n")
		p.ready.Close()
		p.ready = nil
	}
}

// Handed reports whether this process was started by a handover.
func (p *Pool) Handed() bool { return p != nil && p.ready != nil }

// Start runs the new binary with args and the sockets in files (keyed),
// and returns its process once it says it is ready; an error says why it
// exited or was not ready within limit (then it is killed). The files
// are the caller's to close.
func Start(binary string, args []string, files map[string]*os.File, limit time.Duration) (*os.Process, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{w}
	entries := []string{"ready=3"}
	for k, f := range files {
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
		entries = append(entries, escape(k)+"="+strconv.Itoa(2+len(cmd.ExtraFiles)))
	}
	cmd.Env = append(os.Environ(), envVar+"="+strings.Join(entries, ";"))
	err = cmd.Start()
	w.Close()
	if err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	got := make(chan bool, 1)
	go func() {
		buf := make([]byte, 6)
		n, _ := r.Read(buf)
		got <- string(buf[:n]) == "ready\n"
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case ok := <-got:
		if ok {
			return cmd.Process, nil
		}
		// The pipe closed without a word: the process is exiting.
		err = <-exited
	case err = <-exited:
	case <-timer.C:
		cmd.Process.Kill()
		<-exited
		return nil, fmt.Errorf("%s was not ready after %v", binary, limit)
	}
	if err == nil {
		err = errors.New("exited")
	}
	return nil, fmt.Errorf("%s did not start: %w", binary, err)
}

// File duplicates a listening socket for Start. Unlike the listener's
// own File method it leaves the socket non-blocking: the duplicate
// shares the socket's flags, and a blocking socket would hang this
// process's accept loop when it closes.
func File(ln net.Listener, name string) (*os.File, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("%s: cannot be handed over", name)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var f *os.File
	if cerr := rc.Control(func(s uintptr) { f, err = Dup(int(s), name) }); cerr != nil {
		return nil, cerr
	}
	return f, err
}

// Dup is File for a socket held as a bare descriptor.
func Dup(fd int, name string) (*os.File, error) {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("dup", err)
	}
	return os.NewFile(uintptr(dup), name), nil
}

// escape keeps keys (addresses, paths) clear of the separators.
func escape(s string) string { return escaper.Replace(s) }

func unescape(s string) string { return unescaper.Replace(s) }

var (
	escaper   = strings.NewReplacer("%", "%25", ";", "%3B", "=", "%3D")
	unescaper = strings.NewReplacer("%3B", ";", "%3D", "=", "%25", "%")
)
