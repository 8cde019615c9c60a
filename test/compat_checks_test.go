package test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
)

// The database and protocol health checks against the real servers:
// HAProxy 2.6 and pivotd check the same PostgreSQL, MariaDB and Redis
// servers (and small fakes that answer wrong, or not at all) with the
// same options, and must report the same states, check_status, last_chk
// and check_desc.

// answerHandler answers every connection with text, whatever it is sent
// (after reading what the client sends first when wait is true), then
// closes.
func answerHandler(text string, wait bool) func(b *backend, c net.Conn) {
	return func(b *backend, c net.Conn) {
		if wait {
			c.Read(make([]byte, 4096))
		}
		io.WriteString(c, text)
	}
}

// httpHandler answers an HTTP request: 200 for /primary, 503 for
// /replica, 404 for anything else.
func httpHandler(b *backend, c net.Conn) {
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	f := strings.Fields(line)
	code := "404 Not Found"
	if len(f) >= 2 {
		switch f[1] {
		case "/primary":
			code = "200 OK"
		case "/replica":
			code = "503 Service Unavailable"
		}
	}
	io.WriteString(c, "HTTP/1.0 "+code+"\r\nContent-Length: 2\r\n\r\nok")
}

func TestCompatDatabaseChecks(t *testing.T) {
	t.Parallel()
	pg := startPostgres(t)
	redis := startRedis(t)
	replica := startRedis(t)
	if out, err := redisCLI(t, replica.Addr, "REPLICAOF", "127.0.0.1", redis.Port); err != nil {
		t.Fatalf("REPLICAOF: %s %v", out, err)
	}
	maria := startMariaDB(t)
	maria.SQL(t, "CREATE USER 'haproxy'@'127.0.0.1'")
	v := vars{
		"pg": pg.Addr, "redis": redis.Addr, "replica": replica.Addr, "maria": maria.Addr,
		"dead":    deadAddr(t),
		"hello":   startBackendFunc(t, "hello", answerHandler("hello\n", false)).Addr,
		"silent":  startBackendFunc(t, "silent", silentHandler).Addr,
		"loading": startBackendFunc(t, "loading", answerHandler("-LOADING Redis is loading the dataset in memory\r\n", true)).Addr,
		"http":    startBackendFunc(t, "http", httpHandler).Addr,
		"greeter": startBackendFunc(t, "greeter", func(b *backend, c net.Conn) {
			io.WriteString(c, "220 ready\r\n")
			r := bufio.NewReader(c)
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				io.WriteString(c, "echo "+l)
			}
		}).Addr,
	}
	p := startCompat(t, compatGlobal+`
    timeout check 300ms
    default-server check inter 1s rise 1 fall 1

backend be_pg
    option pgsql-check user postgres
    server up $pg
    server dead $dead
    server hello $hello
    server silent $silent

backend be_pg_nouser
    option pgsql-check user nosuch
    server up $pg

backend be_pg_scram
    option pgsql-check user pivot
    server up $pg

backend be_redis
    option redis-check
    server up $redis
    server dead $dead
    server loading $loading
    server silent $silent

backend be_my
    option mysql-check user haproxy
    server up $maria
    server dead $dead
    server hello $hello

backend be_my_post41
    option mysql-check user haproxy post-41
    server up $maria
    server dead $dead
    server hello $hello

backend be_my_nouser
    option mysql-check user nosuch
    server up $maria

backend be_my_handshake
    option mysql-check
    server up $maria
    server redis $redis

backend be_tcp
    option tcp-check
    tcp-check expect string ready
    tcp-check send PING\r\n
    tcp-check expect rstring ^echo\ PING
    server up $greeter
    server hello $hello

backend be_tcp_fail
    option tcp-check
    tcp-check comment greeting
    tcp-check expect string welcome
    server up $greeter

backend be_tcp_bin
    option tcp-check
    tcp-check send-binary 50494e470d0a
    tcp-check expect binary 6563686f
    tcp-check expect !string error
    server up $greeter

backend be_tcp_redis
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    tcp-check send info\ replication\r\n
    tcp-check expect string role:master
    server master $redis
    server replica $replica
    server dead $dead

backend be_http
    option httpchk GET /primary
    http-check expect status 200
    server primary $http

backend be_http_replica
    option httpchk GET /replica
    http-check expect status 200
    server replica $http
    server hello $hello
`, v)
	p.settle(t)
	steps := []compatStep{{cmd: "show stat"}, {cmd: "show servers state"}}
	p.run(t, steps)
}
