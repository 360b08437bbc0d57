package dpop

import "testing"

func TestNormalizeHTU(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://127.0.0.1:8443/auth/v1/token", "https://127.0.0.1:8443/auth/v1/token", true},
		{"HTTPS://Example.COM:443/a", "https://example.com/a", true},
		{"http://example.com:80", "http://example.com/", true},
		{"https://example.com/a?q=1#f", "https://example.com/a", true},
		{"https://example.com/a/./b/../c", "https://example.com/a/c", true},
		{"https://example.com/%7euser/%2f", "https://example.com/~user/%2F", true},
		{"https://[::1]:8443/x", "https://[::1]:8443/x", true},
		{"ftp://example.com/a", "", false},
		{"https://user@example.com/a", "", false},
		{"/relative", "", false},
		{"https://example.com/%zz", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeHTU(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("NormalizeHTU(%q) error %v, want ok=%v", tt.in, err, tt.ok)
			}
			if got != tt.want {
				t.Errorf("NormalizeHTU(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
