package ctl

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultSocket is the admin socket used when neither -s nor PIVOT_SOCKET
// names one.
const DefaultSocket = "/run/pivot/admin.sock"

// Addr is a parsed admin socket address, ready for net.Dial.
type Addr struct {
	Network string // "unix" or "tcp"
	Address string // a file path for "unix", host:port for "tcp"
}

// String gives the address in the form HAProxy's `stats socket` line uses:
// the path for a Unix socket, ipv4@host:port or ipv6@[host]:port for TCP.
func (a Addr) String() string {
	if a.Network == "unix" {
		return a.Address
	}
	host, _, err := net.SplitHostPort(a.Address)
	if err == nil && strings.Contains(host, ":") {
		return "ipv6@" + a.Address
	}
	return "ipv4@" + a.Address
}

// ParseAddr reads an admin socket address. Accepted forms:
//
//	/run/pivot/admin.sock, ./admin.sock, unix@/path, unix:///path   Unix socket
//	ipv4@127.0.0.1:9999, ipv6@[::1]:9999, tcp@host:9999             TCP
//	tcp://127.0.0.1:9999, tcp4://..., tcp6://...                     TCP
//	127.0.0.1:9999, [::1]:9999, localhost:9999                      TCP (host:port, numeric port)
//
// Anything else without a scheme is taken as a Unix socket path. A TCP
// address needs a host and a port between 1 and 65535.
func ParseAddr(s string) (Addr, error) {
	if s == "" {
		return Addr{}, fmt.Errorf("empty socket address")
	}
	for _, p := range []string{"unix@", "unix://"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			if rest == "" {
				return Addr{}, fmt.Errorf("socket address %q: missing path", s)
			}
			return Addr{Network: "unix", Address: rest}, nil
		}
	}
	for _, p := range []string{"ipv4@", "ipv6@", "tcp@", "tcp://", "tcp4://", "tcp6://"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			if err := checkHostPort(rest); err != nil {
				return Addr{}, fmt.Errorf("socket address %q: %w", s, err)
			}
			return Addr{Network: "tcp", Address: rest}, nil
		}
	}
	if hasScheme(s) {
		return Addr{}, fmt.Errorf("socket address %q: unknown scheme; use a path, unix@PATH, ipv4@HOST:PORT, ipv6@[HOST]:PORT or tcp://HOST:PORT", s)
	}
	if !strings.ContainsRune(s, '/') && checkHostPort(s) == nil {
		return Addr{Network: "tcp", Address: s}, nil
	}
	return Addr{Network: "unix", Address: s}, nil
}

// checkHostPort accepts host:port with a non-empty host and a numeric port
// in 1..65535.
func checkHostPort(hp string) error {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return fmt.Errorf("want HOST:PORT: %w", err)
	}
	if host == "" {
		return fmt.Errorf("missing host in %q", hp)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number between 1 and 65535", port)
	}
	return nil
}

// hasScheme tells whether s starts with an address scheme that ParseAddr
// does not know, like HAProxy's abns@name or fd@3, or http://.
func hasScheme(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 {
		return false
	}
	for _, r := range s[:at] {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
