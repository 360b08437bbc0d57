package tlsutil

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDevCertIsTrustedByItsCAAndReused(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	cert, caFile, err := DevCert(dir, "c1.example.test:8443", now)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	for _, name := range []string{"c1.example.test", "127.0.0.1", "localhost"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, CurrentTime: now}); err != nil {
			t.Errorf("certificate for %s: %v", name, err)
		}
	}
	for _, f := range []string{caKeyFile, certKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, st.Mode().Perm(), err)
		}
	}
	again, _, err := DevCert(dir, "c1.example.test:8443", now.Add(time.Hour))
	if err != nil || !again.Leaf.Equal(cert.Leaf) {
		t.Fatalf("second call made a new certificate: %v", err)
	}
	other, _, err := DevCert(dir, "127.0.0.2:8443", now)
	if err != nil || other.Leaf.Equal(cert.Leaf) {
		t.Fatalf("host change kept the old certificate: %v", err)
	}
	if _, err := other.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.2", CurrentTime: now}); err != nil {
		t.Fatalf("new certificate not signed by the same CA: %v", err)
	}
}
