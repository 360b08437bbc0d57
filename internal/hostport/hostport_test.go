package hostport

import (
	"net/netip"
	"testing"
)

func TestHost(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"example.com", "example.com"},
		{"example.com:8443", "example.com"},
		{"Example.COM:443", "Example.COM"}, // case is kept
		{"127.0.0.1", "127.0.0.1"},
		{"127.0.0.1:51234", "127.0.0.1"},
		{"[::1]:8443", "::1"},
		{"[::1]", "::1"},
		{"::1", "::1"},                   // bare IPv6: the last colon is no port
		{"fe80::1%eth0", "fe80::1%eth0"}, // zone kept
		{"[fe80::1%eth0]:80", "fe80::1%eth0"},
		{":8443", ""},
		{"[]", ""},
		{"[", "["}, // malformed: returned for the caller to refuse
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Host(tt.in); got != tt.want {
				t.Errorf("Host(%q): got %q, want %q", tt.in, got, tt.want)
			}
			if got := Audience(tt.in); got != tt.want {
				t.Errorf("Audience(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"127.0.0.1:6060", true},
		{"127.0.0.2:6060", true},
		{"[::1]:6060", true},
		{"::1", true},
		{"localhost:6060", false}, // a name can resolve elsewhere
		{"0.0.0.0:6060", false},
		{":6060", false}, // all interfaces
		{"10.0.0.1:6060", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := IsLoopback(tt.in); got != tt.want {
				t.Errorf("IsLoopback(%q): got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSourceBlock(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1/32"},
		{"::ffff:192.0.2.1", "192.0.2.1/32"},
		{"2001:db8:1:2::10", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
	} {
		if got := SourceBlock(netip.MustParseAddr(tc.in)).String(); got != tc.want {
			t.Errorf("SourceBlock(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
