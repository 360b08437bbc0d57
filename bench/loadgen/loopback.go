package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/url"
)

// CheckLoopback refuses a URL whose host is not a loopback address, so the
// generator cannot be pointed at somebody else's server by mistake.
// "localhost" counts as loopback.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return errors.New(host + " is not a loopback address (127.0.0.0/8, ::1 or localhost)")
	}
	return nil
}
