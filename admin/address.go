package admin

import (
	"net/netip"
)

// maxRawAddress bounds a client address that does not parse (only possible
// with an unusual proxy set-up); it is counted as is, clipped.
const maxRawAddress = 64

// ClientAddress is the unit the login throttle counts a client address in,
// and the only way an address becomes part of a throttle key:
//
//   - IPv4 as is ("203.0.113.9");
//   - IPv4-mapped IPv6 ("::ffff:203.0.113.9") as the IPv4 address it is, so
//     one machine cannot count twice by switching notation;
//   - any other IPv6 address as its /64 ("2001:db8:1:2::/64"), without zone:
//     a single customer, host or VM is routinely given a whole /64 and can
//     send from 2^64 addresses in it, so counting addresses one by one
//     would make every per-address limit unlimited.
//
// "" stays "" (AccountAddressKey(name, "") is the prefix of an account's
// per-address keys); anything that does not parse is kept, clipped.
func ClientAddress(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return clip(ip, maxRawAddress)
	}
	addr = addr.WithZone("").Unmap()
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}
