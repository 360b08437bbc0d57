package tlsutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// BenchmarkServerHandshake measures what one full TLS 1.3 handshake costs
// the server, as baton-sdk's service-mode client makes one for every RPC
// (a fresh connection, Go's default key shares, no session cache, so no
// resumption): the server's own CPU time (server-ns/op, read from its
// thread's clock with the handshake's goroutine locked to it), by the
// server certificate's key and by the key exchange the server picks.
// ns/op is the whole handshake, client (with certificate verification)
// and server together, over an in-memory pipe.
func BenchmarkServerHandshake(b *testing.B) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: "bench CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		b.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	leaf := func(key crypto.Signer) tls.Certificate {
		tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: now.Add(-time.Hour),
			NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if err != nil {
			b.Fatal(err)
		}
		l, _ := x509.ParseCertificate(der)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: l}
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	certs := []struct {
		name string
		cert tls.Certificate
	}{{"ecdsa-p256", leaf(p256)}, {"ed25519", leaf(ed)}, {"rsa-2048", leaf(rsa2048)}}
	groups := []struct {
		name  string
		prefs []tls.CurveID // the server's; nil is Go's default
	}{{"X25519MLKEM768", nil}, {"X25519", []tls.CurveID{tls.X25519}}}
	// The client as baton-sdk configures it: TLS 1.2 and up, Go's default
	// curves (X25519MLKEM768 and X25519 key shares), no session cache.
	client := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: "127.0.0.1", NextProtos: []string{"h2"}}
	for _, c := range certs {
		for _, g := range groups {
			server := ServerConfig(c.cert)
			server.CurvePreferences = g.prefs
			b.Run(c.name+"/"+g.name, func(b *testing.B) { benchHandshake(b, server, client) })
		}
	}
}

func benchHandshake(b *testing.B, server, client *tls.Config) {
	var serverCPU time.Duration
	for b.Loop() {
		cc, sc := net.Pipe()
		done := make(chan error, 1)
		var d time.Duration
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			start := threadCPU()
			err := tls.Server(sc, server).Handshake()
			d = threadCPU() - start
			done <- err
		}()
		tc := tls.Client(cc, client)
		if err := tc.Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if st := tc.ConnectionState(); st.Version != tls.VersionTLS13 || st.NegotiatedProtocol != "h2" {
			b.Fatalf("negotiated %x %q, want TLS 1.3 and h2", st.Version, st.NegotiatedProtocol)
		}
		serverCPU += d
		cc.Close()
		sc.Close()
	}
	b.ReportMetric(float64(serverCPU.Nanoseconds())/float64(b.N), "server-ns/op")
}

// threadCPU is the CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	_, _, _ = syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}
