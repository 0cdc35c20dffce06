package web

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ErrForbiddenAddress is the reason a fetch is refused because a
// connection would go to an address on a private network, the machine
// itself or a cloud metadata service (see Options.AllowPrivate).
var ErrForbiddenAddress = errors.New("address not allowed")

// forbidden are the ranges no fetch may connect to unless
// Options.AllowPrivate: besides what netip.Addr's methods name (loopback,
// private, link-local, multicast, unspecified), the shared address space
// of carrier-grade NAT (where Alibaba Cloud's metadata service lives) and
// other special-purpose ranges of RFC 6890.
var forbidden = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
}

// nat64 and sixToFour are IPv6 ranges that carry an IPv4 address inside,
// which is checked as well.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// checkAddr says why a connection to ip is refused, or nil. Metadata
// services (169.254.169.254, fd00:ec2::254, 100.100.100.200) fall in the
// link-local, unique-local and CGNAT ranges.
func checkAddr(ip netip.Addr) error {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return fmt.Errorf("%w: invalid address", ErrForbiddenAddress)
	case ip.IsLoopback():
		return fmt.Errorf("%w: %s is a loopback address (this machine)", ErrForbiddenAddress, ip)
	case ip.IsPrivate():
		return fmt.Errorf("%w: %s is on a private network", ErrForbiddenAddress, ip)
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is link-local (where cloud metadata services live)", ErrForbiddenAddress, ip)
	case ip.IsUnspecified(), ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is not a unicast address", ErrForbiddenAddress, ip)
	}
	for _, p := range forbidden {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is in the special-purpose range %s", ErrForbiddenAddress, ip, p)
		}
	}
	if ip.Is6() {
		b := ip.As16()
		var inner netip.Addr
		switch {
		case nat64.Contains(ip):
			inner = netip.AddrFrom4([4]byte(b[12:16]))
		case sixToFour.Contains(ip):
			inner = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if inner.IsValid() {
			if err := checkAddr(inner); err != nil {
				return fmt.Errorf("%w (inside %s)", err, ip)
			}
		}
	}
	return nil
}

// dialControl is a net.Dialer's Control: it runs for every connection the
// client makes, redirects included, after the name was resolved and before
// the connection is made, so a name that resolves (or rebinds) to a
// forbidden address is refused by the address itself.
func dialControl(check func(netip.Addr) error) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return fmt.Errorf("%w: %s is not an IP address", ErrForbiddenAddress, host)
		}
		return check(ip)
	}
}
