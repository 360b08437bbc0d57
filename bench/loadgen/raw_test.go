package loadgen

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRawClientAnswers: the raw client reads every shape of answer Go's
// server sends (Content-Length, chunked, a closed connection, an error
// status with a body), keeps one connection across requests while the
// server allows, and redials when it does not.
func TestRawClientAnswers(t *testing.T) {
	var conns atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length":
			body := make([]byte, 0, 64)
			body = append(body, r.Method...)
			body = append(body, ' ')
			body = append(body, r.Header.Get("Authorization")...)
			if r.ContentLength > 0 {
				b := new(bytes.Buffer)
				b.ReadFrom(r.Body)
				body = append(body, ' ')
				body = append(body, b.Bytes()...)
			}
			w.Write(body)
		case "/chunked":
			w.Write([]byte("part one, "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part two"))
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case "/error":
			http.Error(w, "no such thing", http.StatusNotFound)
		}
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	d, err := NewRawDialer(ts.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	c := &rawConn{d: d}
	defer c.close()
	var body bytes.Buffer
	for _, step := range []struct {
		method, path, header, body string
		status                     int
		want                       string
		conns                      int64
	}{
		{"POST", "/length", "Content-Type: application/x-www-form-urlencoded\r\n", "a=1&b=2", 200, "POST  a=1&b=2", 1},
		{"GET", "/length", "Authorization: Bearer t0k\r\n", "", 200, "GET Bearer t0k", 1},
		{"GET", "/chunked", "", "", 200, "part one, part two", 1},
		{"GET", "/error", "", "", 404, "no such thing\n", 1},
		{"GET", "/close", "", "", 200, "bye", 1},
		{"GET", "/length", "", "", 200, "GET ", 2}, // redialled after the close
	} {
		status, err := c.do(step.method, step.path, step.header, step.body, &body)
		if err != nil || status != step.status || body.String() != step.want {
			t.Errorf("%s %s: %d %q, %v; want %d %q", step.method, step.path, status, body.String(), err, step.status, step.want)
		}
		if got := conns.Load(); got != step.conns {
			t.Errorf("%s %s: %d connections so far, want %d", step.method, step.path, got, step.conns)
		}
	}
}

// TestRawClientRefusesGarbage: an answer that is not HTTP is an error, not
// a status, and the connection is dropped.
func TestRawClientRefusesGarbage(t *testing.T) {
	for name, answer := range map[string]string{
		"not http":        "SSH-2.0-OpenSSH\r\n\r\n",
		"bad status":      "HTTP/1.1 2x0 OK\r\n\r\n",
		"header no colon": "HTTP/1.1 200 OK\r\nbroken\r\n\r\n",
		"huge length":     "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
		"bad chunk":       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"long line":       "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 20<<10) + "\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				defer conn.Close()
				buf := make([]byte, 4096)
				conn.Read(buf)
				conn.Write([]byte(answer))
			}()
			d, err := NewRawDialer("http://"+ln.Addr().String(), "")
			if err != nil {
				t.Fatal(err)
			}
			c := &rawConn{d: d}
			var body bytes.Buffer
			if _, err := c.do("GET", "/", "", "", &body); err == nil {
				t.Errorf("answer %.40q: no error", answer)
			}
			if c.conn != nil {
				t.Error("the connection was kept after a bad answer")
			}
		})
	}
}

func TestNewRawDialer(t *testing.T) {
	for _, bad := range []string{"ftp://127.0.0.1/", "://", "127.0.0.1:8443"} {
		if _, err := NewRawDialer(bad, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	d, err := NewRawDialer("https://127.0.0.1", "")
	if err != nil || d.addr != "127.0.0.1:443" || d.tls == nil || d.tls.NextProtos[0] != "http/1.1" {
		t.Errorf("https without a port: %+v, %v", d, err)
	}
}
