// Package config reads the TCP subset of HAProxy's configuration language
// into a typed, validated model.
//
// A user's existing haproxy.cfg for TCP services is meant to load unchanged:
//
//	cfg, err := config.Load([]string{"/etc/haproxy/haproxy.cfg"})
//	if err != nil {
//		// err is an ErrorList: every problem found, each with file:line.
//	}
//	for _, px := range cfg.Proxies { ... }
//
// Anything pivot does not implement (a keyword, `mode http`, an argument it
// cannot honour) is an error naming the file, the line and the word; nothing
// is silently ignored. The package is pure: it opens files and reads the
// environment for ${VAR} expansion, and nothing else.
package config

import (
	"os"
	"strings"
	"time"
)

// Pos is where a section or a line came from.
type Pos struct {
	File string
	Line int
}

// Config is a whole configuration: one global section and the proxies in
// the order they were declared (that order numbers them and orders
// `show stat`).
type Config struct {
	Global  Global
	Proxies []*Proxy
}

// Global holds the `global` section.
type Global struct {
	Pos Pos
	// MaxConn caps concurrent client connections over the whole process.
	// Zero means the built-in default (DefaultGlobalMaxConn).
	MaxConn int
	// MaxPipes caps the splice pipes held at once (each is two
	// descriptors). Zero means the default, a quarter of the global
	// maxconn, as HAProxy's.
	MaxPipes int
	// StatsSockets are the admin sockets, in declaration order.
	StatsSockets []StatsSocket
	// StatsTimeout is how long an admin connection may stay idle.
	// Zero means the default of 10s.
	StatsTimeout time.Duration
	// ServerStateFile and ServerStateBase locate the server state file.
	ServerStateFile string
	ServerStateBase string
	// Logs are the `log` targets that proxies reach with `log global`.
	Logs []LogTarget
	// PidFile, when set, receives the daemon's pid at start-up.
	PidFile string
	// Daemon and NbThread are accepted for compatibility; Go schedules
	// its own threads and pivotd stays in the foreground under a supervisor.
	Daemon   bool
	NbThread int
	// HardStopAfter bounds a soft stop (SIGUSR1): sessions still running
	// after it are closed. Zero means wait for ever.
	HardStopAfter time.Duration
}

// DefaultGlobalMaxConn is the process-wide connection limit when `global`
// sets no maxconn.
const DefaultGlobalMaxConn = 4096

// StatsSocket is one `stats socket` line.
type StatsSocket struct {
	Pos Pos
	// Addr is a Unix socket path, or "ipv4@HOST:PORT" / "ipv6@HOST:PORT"
	// for a TCP socket, as written.
	Addr string
	// Mode is the socket file's permission bits; zero means unset.
	Mode os.FileMode
	// UID and GID own the socket file; -1 means unset. User and Group
	// are the names when given by name.
	UID, GID    int
	User, Group string
	// Level is "user", "operator" or "admin"; empty means "operator",
	// HAProxy's default.
	Level string
	// ExposeFdListeners is accepted for compatibility.
	ExposeFdListeners bool
}

// LogTarget is one `log` line (other than `log global`).
type LogTarget struct {
	Pos Pos
	// Address is "stdout", "stderr", a Unix socket path, or an address
	// as written ("127.0.0.1:514", "udp@127.0.0.1:514", "udp6@[::1]:514").
	Address string
	// Format is "local" (the default: rfc3164 without host name),
	// "rfc3164", "rfc5424", "raw", "short",
	// "priority", "timed" or "iso".
	Format string
	// Len is the maximum line length; zero means 1024.
	Len int
	// Facility is a syslog facility name ("local0", "daemon", ...).
	Facility string
	// Level is the least severe level sent (every level when empty, as
	// HAProxy); MinLevel is the most severe level a header shows ("emerg"
	// when empty).
	Level, MinLevel string
}

// ProxyKind says which sections a proxy came from.
type ProxyKind int

// A frontend accepts, a backend balances, a listen does both.
const (
	KindFrontend ProxyKind = iota + 1
	KindBackend
	KindListen
)

func (k ProxyKind) String() string {
	switch k {
	case KindFrontend:
		return "frontend"
	case KindBackend:
		return "backend"
	case KindListen:
		return "listen"
	}
	return "unknown"
}

// HasFrontend reports whether the proxy accepts connections.
func (k ProxyKind) HasFrontend() bool { return k == KindFrontend || k == KindListen }

// HasBackend reports whether the proxy has servers to balance over.
func (k ProxyKind) HasBackend() bool { return k == KindBackend || k == KindListen }

// Timeouts are the `timeout` keywords. A zero field is unset; the
// accessors of core apply HAProxy's defaults.
type Timeouts struct {
	Connect, Client, Server, Queue, Check time.Duration
	ClientFin, ServerFin, Tunnel          time.Duration
}

// Balance is a `balance` line.
type Balance struct {
	// Algo is one of "roundrobin" (default), "static-rr", "leastconn",
	// "first", "source" or "random".
	Algo string
	// Draws is the number of draws of "random(N)"; 2 by default.
	Draws int
}

// Proxy is a frontend, a backend or a listen section, after defaults
// have been applied. Fields that do not apply to the kind stay zero.
type Proxy struct {
	Pos  Pos
	Kind ProxyKind
	Name string
	// ID is the proxy's number (`id` keyword, or assigned from 2 upwards
	// in declaration order as HAProxy does; 1 is HAProxy's internal CLI).
	ID       int
	Mode     string // always "tcp" once validated
	Disabled bool
	// Description is the `description` text, kept for `show stat`'s desc
	// column; empty when unset.
	Description string

	// Check is how servers with `check` are checked (backend side).
	Check CheckSpec
	// LoadServerState is `load-server-state-from-file`: "global" (or
	// empty) restores the backend's servers from the state file, "none"
	// does not.
	LoadServerState string

	// Frontend part.
	Binds          []Bind
	DefaultBackend string
	// MaxConn caps this frontend's concurrent connections; zero means the
	// default (DefaultFrontendMaxConn, or the global one if lower).
	MaxConn int
	// RateLimitSessions caps new sessions per second; zero means none.
	RateLimitSessions int

	// Backend part.
	Balance Balance
	// FullConn is reported in `show stat` (slim of BACKEND) and used for
	// dynamic maxconn (minconn); zero means unset.
	FullConn   int
	Retries    int // connection retries after the first attempt; default 3
	Redispatch bool
	// RedispatchInterval is N of `option redispatch N`: redispatch on every
	// Nth retry (1 = every retry; -N = the Nth last). Zero means the last.
	RedispatchInterval int
	AllBackups         bool
	Servers            []*Server

	// Both parts.
	Timeouts    Timeouts
	TCPLog      bool
	DontLogNull bool
	// Logs are the proxy's log targets with `log global` already
	// replaced by the global ones.
	Logs []LogTarget
}

// DefaultFrontendMaxConn is a frontend's maxconn when neither the proxy
// nor defaults set one.
const DefaultFrontendMaxConn = 2000

// Bind is one address of a `bind` line (a line with "a:1,b:2" gives two).
type Bind struct {
	Pos Pos
	// Host is empty for "*" / ":port" (all IPv4 and IPv6 addresses);
	// otherwise an IP address, as written, without brackets.
	Host string
	// Port is the single port; PortEnd > Port for a range "1000-1010".
	Port, PortEnd int
	// Name is the bind's `name` option; empty means HAProxy's sock-<n>.
	Name string
	// ID is the bind's `id` option; zero means assigned (1, 2, ...).
	ID int
	// MaxConn is the bind's own `maxconn`; zero means unlimited.
	MaxConn int
	// V4V6 and V6Only mirror HAProxy's options of the same name.
	V4V6, V6Only bool
}

// Server is one `server` line with `default-server` applied.
type Server struct {
	Pos  Pos
	Name string
	// ID is the `id` keyword, or assigned 1, 2, ... in declaration order.
	ID int
	// IDForced says the id came from the `id` keyword (HAProxy's
	// srv_f_forced_id), so a state file can tell it from an assigned one.
	IDForced bool
	// Host is an IP address or host name; Port is zero when the address
	// had no port (connections then go to the port the client reached).
	Host string
	Port int

	Check     bool
	Inter     time.Duration // default 2s
	FastInter time.Duration // default Inter
	DownInter time.Duration // default Inter
	Rise      int           // default 2
	Fall      int           // default 3
	// CheckPort and CheckAddr send checks elsewhere than the traffic;
	// zero/empty means the server's own port/address.
	CheckPort int
	CheckAddr string

	// Agent is `agent-check`: a second, independent check that asks an
	// agent on the server (AgentAddr or the server's address, AgentPort)
	// for a line such as "up", "drain", "down #disk full" or "50%", so
	// that the server itself decides how much traffic it takes.
	Agent      bool
	AgentPort  int
	AgentAddr  string
	AgentInter time.Duration // default 2s
	AgentSend  string        // sent on connecting; nothing when empty

	Weight    int // 0..256, default 1
	MaxConn   int // zero means unlimited
	MaxQueue  int // zero means unlimited
	Backup    bool
	Disabled  bool
	SlowStart time.Duration

	// Track is `track [<backend>/]<server>` as written: the server takes
	// its operational state, maintenance and drain from that one instead
	// of checking on its own. Empty when it does not track.
	Track string

	// OnMarkedDownShutdown: `on-marked-down shutdown-sessions`.
	OnMarkedDownShutdown bool
	// OnMarkedUpShutdownBackup: `on-marked-up shutdown-backup-sessions`.
	OnMarkedUpShutdownBackup bool
}

// TrackTarget splits a `track` value into backend and server names; a
// bare server name is in backend, the tracking server's own.
func TrackTarget(track, backend string) (string, string) {
	if b, s, ok := strings.Cut(track, "/"); ok {
		return b, s
	}
	return backend, track
}

// Defaults for server fields when neither `server` nor `default-server`
// sets them.
const (
	DefaultInter  = 2 * time.Second
	DefaultRise   = 2
	DefaultFall   = 3
	DefaultWeight = 1
	MaxWeight     = 256
)
