package handover

import (
	"fmt"
	"io"
	"net"
	"os"
	"testing"
)

// TestPassAndTake hands a listening socket over within one process, the
// way a new pivotd finds it: by key in the environment.
func TestPassAndTake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	key := "tcp4 127.0.0.1:0 #1;odd=key%"
	f, err := File(ln, key)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	t.Setenv(envVar, fmt.Sprintf("ready=%d;%s=%d", w.Fd(), escape(key), f.Fd()))
	p, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := os.LookupEnv(envVar); ok {
		t.Error("FromEnv left the variable for children to see")
	}
	if !p.Handed() {
		t.Error("a pool with a ready pipe does not say it was handed over")
	}
	taken, ok := p.Listener(key)
	if !ok {
		t.Fatal("the socket was not found by its key")
	}
	defer taken.Close()
	if _, ok := p.Listener(key); ok {
		t.Error("a socket was taken twice")
	}
	ln.Close() // the old process lets go: the socket lives on
	go func() {
		if c, err := net.Dial("tcp", taken.Addr().String()); err == nil {
			io.WriteString(c, "hi")
			c.Close()
		}
	}()
	c, err := taken.Accept()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "hi" {
		t.Errorf("through the handed socket: %q", b)
	}
	p.Ready()
	buf := make([]byte, 16)
	n, _ := r.Read(buf)
	if string(buf[:n]) != "ready\n" {
		t.Errorf("Ready wrote %q", buf[:n])
	}
}

func TestFromEnvRefusesGarbage(t *testing.T) {
	for _, v := range []string{"x", "k=abc", "k=1", "=", "k=-5"} {
		t.Setenv(envVar, v)
		if _, err := FromEnv(); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
	os.Unsetenv(envVar)
	p, err := FromEnv()
	if err != nil || p.Handed() {
		t.Errorf("no variable: %v, handed %v", err, p.Handed())
	}
	if _, ok := (*Pool)(nil).Listener("x"); ok {
		t.Error("a nil pool gave a socket")
	}
}
