package benchnode

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// HTTPClient returns a client for load that trusts only the CA in caFile
// (none: the system roots) and speaks HTTP/2 when http2 is set, else
// HTTP/1.1. It keeps up to conns connections alive per host, so each of the
// load's workers keeps its own connection under HTTP/1.1.
func HTTPClient(caFile string, http2 bool, conns int) (*http.Client, error) {
	cfg, err := TLSConfig(caFile)
	if err != nil {
		return nil, err
	}
	var protos http.Protocols
	if http2 {
		protos.SetHTTP2(true)
	} else {
		protos.SetHTTP1(true)
	}
	tr := &http.Transport{
		// No proxy: the load goes straight to loopback.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     cfg,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     time.Minute,
		Protocols:           &protos,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// TLSConfig trusts only the CA in caFile, or the system roots if it is
// empty.
func TLSConfig(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate in %s", caFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
