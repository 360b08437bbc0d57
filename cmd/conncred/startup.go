package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/conncred/conncred/secret"
)

// console is where serve tells its operator what it is doing. In text
// format a person reads it at a terminal, so it writes sentences; in json
// format a collector reads it, so every line is a log record with the same
// facts as attributes and nothing else reaches stderr.
type console struct {
	w    io.Writer
	log  *slog.Logger
	json bool
}

// info reports text to a person, or msg and attrs as an info record.
func (c console) info(text, msg string, attrs ...any) {
	if c.json {
		c.log.Info(msg, attrs...)
		return
	}
	fmt.Fprintf(c.w, "conncred: %s\n", text)
}

// warn reports something the operator should fix; the sentence says how.
func (c console) warn(text string, attrs ...any) {
	if c.json {
		c.log.Warn(text, attrs...)
		return
	}
	fmt.Fprintf(c.w, "conncred: warning: %s\n", text)
}

// defaultPublicHost returns the public host to serve under. A public host
// that was not given (so it is the listen address, as Validate leaves it)
// takes the port actually bound: with --listen 127.0.0.1:0 clients must be
// told the real port, in their client ids, in the issuer and in the
// banner. An unspecified listen host (":8443", "0.0.0.0:8443") is no place
// a client can reach, so the default becomes 127.0.0.1 with a note saying
// to give --public-host.
func defaultPublicHost(public, listen, bound string) (host, note string) {
	if public != listen {
		return public, ""
	}
	lhost, _, err := net.SplitHostPort(listen)
	if err != nil {
		return public, ""
	}
	_, port, err := net.SplitHostPort(bound)
	if err != nil {
		return public, ""
	}
	if ip := net.ParseIP(lhost); lhost == "" || (ip != nil && ip.IsUnspecified()) {
		host = net.JoinHostPort("127.0.0.1", port)
		return host, fmt.Sprintf("listening on every interface (%s), so the public host defaults to %s, which only this machine can reach; give --public-host with the name and port clients use (e.g. --public-host c1.example.lan:%s)", listen, host, port)
	}
	return net.JoinHostPort(lhost, port), ""
}

// dotlessHostWarning warns about a public host the official Go SDK
// rewrites: it appends ".conductor.one" to a host without a dot, so its
// clients would call ConductorOne instead of this server (PROTOCOL.md §3.5).
func dotlessHostWarning(publicHost string) string {
	host := publicHost
	if h, _, err := net.SplitHostPort(publicHost); err == nil {
		host = h
	}
	if net.ParseIP(strings.Trim(host, "[]")) != nil || strings.Contains(host, ".") {
		return ""
	}
	return fmt.Sprintf("public host %q has no dot: the official ConductorOne Go SDK appends .conductor.one to such a host, so its clients would call %s.conductor.one; give --public-host an IP (e.g. 127.0.0.1) or a dotted name (e.g. c1.example.lan)", publicHost, host)
}

// adminHostWarning says what to do when the bootstrap admin credential in
// adminFile was minted for another public host than this start's: its
// client id names the old host, and clients that take the server from the
// client id (the ConductorOne SDK, baton) would call that host. It returns
// "" when the file is absent or matches.
func adminHostWarning(adminFile, publicHost string) string {
	b, err := os.ReadFile(adminFile)
	if err != nil {
		return ""
	}
	var f struct{ ClientID string }
	if json.Unmarshal(b, &f) != nil {
		return ""
	}
	id, err := secret.ParseClientID(f.ClientID)
	if err != nil || strings.EqualFold(id.Host, publicHost) {
		return ""
	}
	return fmt.Sprintf("the admin credential in %s (%s) was minted for public host %s, but this server's public host is %s; "+
		"clients that derive the server from the client id will call %s. Keep --public-host %s, "+
		"or create an admin for the new host with `conncred admin create` and revoke the old one with `conncred admin revoke --id <id>`",
		adminFile, f.ClientID, id.Host, publicHost, id.Host, id.Host)
}
