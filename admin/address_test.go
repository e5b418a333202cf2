package admin

import (
	"strings"
	"testing"
)

// Every throttle key counts IPv4 as is, IPv4-mapped IPv6 as IPv4 and other
// IPv6 per /64, whatever the notation.
func TestClientAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"::ffff:cb00:7109", "203.0.113.9"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2:0:0:0:a", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"::1", "::/64"},
		{"", ""},
		{"not-an-address", "not-an-address"},
		{strings.Repeat("x", 500), strings.Repeat("x", maxRawAddress)},
	}
	for _, tt := range tests {
		if got := ClientAddress(tt.in); got != tt.want {
			t.Errorf("ClientAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The keys use ClientAddress, and a typed user name cannot reach into
// another account's keys.
func TestThrottleKeys(t *testing.T) {
	tests := []struct{ got, want string }{
		{AddressKey("2001:db8:1:2::7"), "ip:2001:db8:1:2::/64"},
		{AddressKey("::ffff:192.0.2.1"), "ip:192.0.2.1"},
		{AccountAddressKey("OPS", "2001:db8:1:2::7"), "acct:ops|ip:2001:db8:1:2::/64"},
		{AccountAddressKey("ops", ""), "acct:ops|ip:"},
		{AccountDeviceKey("Ops", "00ff"), "acct:ops|dev:00ff"},
		{AccountPrefix("ops"), "acct:ops|"},
		{AccountKey("a.b_c-d9"), "acct:a.b_c-d9"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("key %q, want %q", tt.got, tt.want)
		}
	}
	for _, name := range []string{"ops|ip:198.51.100.7", "ops|dev:x", "ops%", "ops ", "opś"} {
		k := AccountKey(name)
		if strings.HasPrefix(k, AccountPrefix("ops")) || k == AccountKey("ops") || strings.Contains(k, "|") {
			t.Errorf("AccountKey(%q) = %q reaches into another account's keys", name, k)
		}
		if !strings.HasPrefix(AccountAddressKey(name, "192.0.2.1"), k+"|ip:") {
			t.Errorf("AccountAddressKey(%q) does not extend %q", name, k)
		}
	}
}
