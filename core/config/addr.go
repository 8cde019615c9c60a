package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// cutPrefix splits HAProxy's "family@" prefix from an address
// ("ipv4@1.2.3.4:80" → "ipv4", "1.2.3.4:80"). A '@' after a '/' belongs
// to a path, not to a prefix.
func cutPrefix(s string) (prefix, rest string) {
	i := strings.IndexByte(s, '@')
	if i <= 0 {
		return "", s
	}
	for _, c := range []byte(s[:i]) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return "", s
		}
	}
	return s[:i], s[i+1:]
}

// splitHostPort cuts "host:port", "[v6]:port", "host" and HAProxy's
// unbracketed IPv6 forms, where the port follows the last colon
// (":::5432" is port 5432 on "::"). hasPort is false when no port is
// written; an unbracketed IPv6 address alone is taken as a host without
// port when the part before the last colon is not an address.
func splitHostPort(s string) (host, port string, hasPort bool, err error) {
	if rest, ok := strings.CutPrefix(s, "["); ok {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", "", false, errors.New("missing ']'")
		}
		host, rest = rest[:end], rest[end+1:]
		if a, err := parseIP(host); err != nil || !a.Is6() {
			return "", "", false, fmt.Errorf("%q is not an IPv6 address", host)
		}
		if rest == "" {
			return host, "", false, nil
		}
		if port, ok = strings.CutPrefix(rest, ":"); !ok {
			return "", "", false, fmt.Errorf("unexpected %q after ']'", rest)
		}
		if port == "" {
			return "", "", false, errors.New("missing port after ':'")
		}
		return host, port, true, nil
	}
	i := strings.LastIndexByte(s, ':')
	switch {
	case i < 0:
		return s, "", false, nil
	case strings.Count(s, ":") == 1:
		host, port = s[:i], s[i+1:]
	default: // IPv6 without brackets
		host, port = s[:i], s[i+1:]
		if a, err := parseIP(host); err != nil || !a.Is6() {
			if a, err := parseIP(s); err == nil && a.Is6() {
				return s, "", false, nil
			}
			return "", "", false, fmt.Errorf("%q is not an IPv6 address (write [ADDRESS]:PORT)", host)
		}
	}
	if port == "" {
		return "", "", false, errors.New("missing port after ':'")
	}
	return host, port, true, nil
}

// parsePort reads a port number in [lo, 65535]. HAProxy's "+N"/"-N"
// offsets from the client's port are refused by name.
func parsePort(s string, lo int) (int, error) {
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("port offset %q is not supported", s)
	}
	n, err := parseInt(s, lo, 65535)
	if err != nil {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return n, nil
}

// checkFamily checks an IP address against an "ipv4@"/"ipv6@" prefix.
func checkFamily(prefix string, a netip.Addr) error {
	if prefix == "ipv4" && !a.Is4() {
		return fmt.Errorf("%s is not an IPv4 address", a)
	}
	if prefix == "ipv6" && !a.Is6() {
		return fmt.Errorf("%s is not an IPv6 address", a)
	}
	return nil
}

// unsupportedPrefix explains why a socket family HAProxy knows is
// refused.
func unsupportedPrefix(prefix string) error {
	switch prefix {
	case "unix", "abns", "abnsz", "uxst", "uxdg":
		return fmt.Errorf("%s@ sockets are not supported (pivot speaks TCP)", prefix)
	case "fd", "sockpair":
		return fmt.Errorf("%s@ is not supported", prefix)
	case "udp", "udp4", "udp6", "quic4", "quic6", "quic":
		return fmt.Errorf("%s@ is not supported (pivot speaks TCP)", prefix)
	}
	return fmt.Errorf("unknown address prefix %q (use ipv4@ or ipv6@)", prefix+"@")
}

// parseServerAddr reads a server address: "host:port", "host" (port 0:
// the port the client reached), "[v6]:port", with an optional ipv4@ or
// ipv6@ prefix. The host may be a name; it is resolved by core.
func parseServerAddr(s string) (host string, port int, err error) {
	prefix, rest := cutPrefix(s)
	switch {
	case prefix != "" && prefix != "ipv4" && prefix != "ipv6":
		return "", 0, unsupportedPrefix(prefix)
	case strings.HasPrefix(rest, "/"):
		return "", 0, errors.New("unix sockets are not supported (pivot speaks TCP)")
	}
	host, p, hasPort, err := splitHostPort(rest)
	if err != nil {
		return "", 0, err
	}
	if host == "" {
		return "", 0, errors.New("missing host")
	}
	if a, err := parseIP(host); err == nil {
		if err := checkFamily(prefix, a); err != nil {
			return "", 0, err
		}
	} else if prefix != "" {
		return "", 0, fmt.Errorf("%s@ needs an IP address, not the name %q", prefix, host)
	} else if err := checkHostName(host); err != nil {
		return "", 0, err
	}
	if hasPort {
		if port, err = parsePort(p, 0); err != nil {
			return "", 0, err
		}
	}
	return host, port, nil
}

// checkHostName accepts DNS names: letters, digits, '-', '_' and '.'.
func checkHostName(h string) error {
	if len(h) > 253 {
		return fmt.Errorf("host name %q is too long", h)
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c == '-' || c == '_' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return fmt.Errorf("invalid host %q", h)
		}
	}
	return nil
}

// parseBindAddr reads one address of a bind line: "*:5432", ":5432",
// "IP:PORT", "[v6]:PORT", ":::5432", a port range "1000-1010", and the
// ipv4@/ipv6@ prefixes. With a prefix, an empty or "*" host becomes that
// family's wildcard (0.0.0.0 or ::), since the model's empty host means
// both families.
func parseBindAddr(s string) (host string, port, portEnd int, err error) {
	prefix, rest := cutPrefix(s)
	switch {
	case prefix != "" && prefix != "ipv4" && prefix != "ipv6":
		return "", 0, 0, unsupportedPrefix(prefix)
	case strings.HasPrefix(rest, "/"):
		return "", 0, 0, errors.New("unix sockets are not supported (pivot speaks TCP)")
	}
	host, p, hasPort, err := splitHostPort(rest)
	if err != nil {
		return "", 0, 0, err
	}
	if !hasPort {
		return "", 0, 0, errors.New("missing port")
	}
	switch {
	case host == "" || host == "*":
		host = map[string]string{"": "", "ipv4": "0.0.0.0", "ipv6": "::"}[prefix]
	default:
		a, err := parseIP(host)
		if err != nil {
			return "", 0, 0, fmt.Errorf("%q is not an IP address (pivot does not resolve names to bind)", host)
		}
		if err := checkFamily(prefix, a); err != nil {
			return "", 0, 0, err
		}
	}
	lo, hi, isRange := strings.Cut(p, "-")
	if port, err = parsePort(lo, 1); err != nil {
		return "", 0, 0, err
	}
	if isRange {
		if portEnd, err = parsePort(hi, 1); err != nil {
			return "", 0, 0, err
		}
		if portEnd < port {
			return "", 0, 0, fmt.Errorf("port range %q ends before it starts", p)
		}
		if portEnd == port {
			portEnd = 0
		}
	}
	return host, port, portEnd, nil
}

// parseIP is netip.ParseAddr, but a zone ("fe80::1%eth0") must look like
// an interface name, so it cannot hide brackets or colons.
func parseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, err
	}
	if z := a.Zone(); z != "" {
		if err := checkHostName(z); err != nil {
			return netip.Addr{}, fmt.Errorf("invalid zone %q", z)
		}
	}
	return a, nil
}
