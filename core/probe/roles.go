package probe

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Role checks log in as a real client and ask the server which role it
// holds, so that a backend sends its traffic only to the PostgreSQL
// primary (or only to standbys), to the writable MySQL/MariaDB server, or
// to the Redis master. A wrong role is a definitive answer: the server
// goes down at once, whatever `fall` says, since the next answer will be
// the same.

// Credentials log a role check in. The password is never part of a
// result, an error text or a log line.
type Credentials struct {
	User, Password, Database string
}

// roleCheck is a check done by a client library rather than by steps.
type roleCheck func(ctx context.Context, target string) Result

// PgSQLRole checks that a PostgreSQL server is the primary ("primary": not
// in recovery) or a standby ("standby"), with pg_is_in_recovery().
func PgSQLRole(role string, cred Credentials) *Check {
	want := role == "standby"
	return &Check{Builtin: true, role: func(ctx context.Context, target string) Result {
		host, port, err := net.SplitHostPort(target)
		if err != nil {
			return Result{Status: SockErr, Info: err.Error()}
		}
		cfg, err := pgx.ParseConfig("sslmode=prefer")
		if err != nil {
			return Result{Status: SockErr, Info: err.Error()}
		}
		cfg.Host, cfg.User, cfg.Password, cfg.Database = host, cred.User, cred.Password, cred.Database
		if p, err := strconv.Atoi(port); err == nil {
			cfg.Port = uint16(p)
		}
		cfg.RuntimeParams["application_name"] = "pivot health check"
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return clientError(err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var inRecovery bool
		if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
			return clientError(err)
		}
		got := map[bool]string{false: "primary", true: "standby"}[inRecovery]
		if inRecovery != want {
			return Result{Status: L7Sts, Info: "PostgreSQL " + got + ", not " + role, Definitive: true}
		}
		return Result{Status: L7OK, Info: "PostgreSQL " + got}
	}}
}

// MySQLRole checks that a MySQL/MariaDB server accepts writes
// ("writable": read_only off) or does not ("read-only").
func MySQLRole(role string, cred Credentials) *Check {
	want := role == "read-only"
	return &Check{Builtin: true, role: func(ctx context.Context, target string) Result {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = cred.User, cred.Password, "tcp", target, cred.Database
		if dl, ok := ctx.Deadline(); ok {
			cfg.Timeout = time.Until(dl)
		}
		connector, err := mysql.NewConnector(cfg)
		if err != nil {
			return Result{Status: SockErr, Info: err.Error()}
		}
		db := sql.OpenDB(connector)
		defer db.Close()
		var readOnly int
		if err := db.QueryRowContext(ctx, "SELECT @@global.read_only").Scan(&readOnly); err != nil {
			return clientError(err)
		}
		got := map[bool]string{false: "writable", true: "read-only"}[readOnly != 0]
		if (readOnly != 0) != want {
			return Result{Status: L7Sts, Info: "MySQL " + got + ", not " + role, Definitive: true}
		}
		return Result{Status: L7OK, Info: "MySQL " + got}
	}}
}

// RedisRole checks that a Redis server is the master ("master") or a
// replica ("replica"), with ROLE (after AUTH when a password is given).
func RedisRole(role string, cred Credentials) *Check {
	return &Check{Builtin: true, role: func(ctx context.Context, target string) Result {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", target)
		if err != nil {
			return connectError(err)
		}
		defer conn.Close()
		if dl, ok := ctx.Deadline(); ok {
			conn.SetDeadline(dl)
		}
		defer cutWhenDone(ctx, conn)()
		r := bufio.NewReader(conn)
		if cred.Password != "" {
			args := []string{"AUTH", cred.Password}
			if cred.User != "" {
				args = []string{"AUTH", cred.User, cred.Password}
			}
			if _, err := conn.Write(resp(args...)); err != nil {
				return Result{Status: SockErr}
			}
			line, err := r.ReadString('\n')
			if err != nil {
				return readError(err)
			}
			if !strings.HasPrefix(line, "+OK") {
				return Result{Status: L7Rsp, Info: "AUTH: " + cutCRLF(line)}
			}
		}
		if _, err := conn.Write(resp("ROLE")); err != nil {
			return Result{Status: SockErr}
		}
		head, err := r.ReadString('\n')
		if err != nil {
			return readError(err)
		}
		if !strings.HasPrefix(head, "*") {
			return Result{Status: L7Rsp, Info: cutCRLF(head)}
		}
		r.ReadString('\n') // $<len> of the first element
		first, err := r.ReadString('\n')
		if err != nil {
			return readError(err)
		}
		got := cutCRLF(first)
		if got == "slave" {
			got = "replica"
		}
		if got != role {
			return Result{Status: L7Sts, Info: "Redis " + got + ", not " + role, Definitive: true}
		}
		return Result{Status: L7OK, Info: "Redis " + got}
	}}
}

// resp encodes a Redis command.
func resp(args ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte(b.String())
}

func readError(err error) Result {
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return Result{Status: L7Tout}
	}
	return Result{Status: L7Rsp}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// clientError words a client library's failure: connecting is layer 4,
// a refusal by the server (authentication, a query) layer 7 with the
// server's message.
func clientError(err error) Result {
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	switch {
	case errors.As(err, &pgErr):
		return Result{Status: L7Rsp, Info: pgErr.Severity + ": " + pgErr.Message}
	case errors.As(err, &myErr):
		return Result{Status: L7Rsp, Code: int(myErr.Number), Info: myErr.Message}
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return Result{Status: L4Tout}
	}
	if r := connectError(err); r.Status == L4Con {
		return r
	}
	return Result{Status: L7Rsp, Info: err.Error()}
}
