package loadgen

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/conncred/conncred/internal/benchnode"
)

// RawDialer reaches one target with the raw HTTP/1.1 client: each worker
// owns one kept-alive connection, writes a request in one write and reads
// the answer's status, headers and body with a buffered reader. It does
// what the load needs and nothing more (no redirects, no proxies, no
// compression), so that the generator's share of the machine is little
// more than its Ed25519 signature: Go's net/http client costs it 50-80 µs
// of CPU per request, several times the work of the protocol itself.
type RawDialer struct {
	addr string      // host:port
	host string      // the Host header
	tls  *tls.Config // nil: plain HTTP
}

// NewRawDialer returns a dialer for base (http:// or https://host:port);
// for https, caFile is the CA to trust (empty: the system roots).
func NewRawDialer(base, caFile string) (*RawDialer, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	d := &RawDialer{addr: u.Host, host: u.Host}
	switch u.Scheme {
	case "http":
		if u.Port() == "" {
			d.addr = net.JoinHostPort(u.Hostname(), "80")
		}
	case "https":
		if u.Port() == "" {
			d.addr = net.JoinHostPort(u.Hostname(), "443")
		}
		if d.tls, err = benchnode.TLSConfig(caFile); err != nil {
			return nil, err
		}
		d.tls.ServerName = u.Hostname()
		d.tls.NextProtos = []string{"http/1.1"}
	default:
		return nil, fmt.Errorf("raw client: %q is not an http or https URL", base)
	}
	return d, nil
}

// rawConn is one worker's connection to one target.
type rawConn struct {
	d    *RawDialer
	conn net.Conn
	br   *bufio.Reader
	wbuf []byte
}

// maxRawBody bounds an answer's body; conncred's are a few hundred bytes.
const maxRawBody = 1 << 20

// do sends method path with the given extra header lines (each ending in
// \r\n) and body, and returns the status and the body, which stays valid
// until the next call. A connection that fails or that the server closes
// is redialled on the next call.
func (c *rawConn) do(method, path, header string, body string, into *bytes.Buffer) (int, error) {
	if c.conn == nil {
		if err := c.dial(); err != nil {
			return 0, err
		}
	}
	w := c.wbuf[:0]
	w = append(w, method...)
	w = append(w, ' ')
	w = append(w, path...)
	w = append(w, " HTTP/1.1\r\nHost: "...)
	w = append(w, c.d.host...)
	w = append(w, "\r\n"...)
	w = append(w, header...)
	if body != "" || method == "POST" {
		w = append(w, "Content-Length: "...)
		w = strconv.AppendInt(w, int64(len(body)), 10)
		w = append(w, "\r\n"...)
	}
	w = append(w, "\r\n"...)
	w = append(w, body...)
	c.wbuf = w
	_ = c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(w); err != nil {
		c.close()
		return 0, err
	}
	status, keep, err := c.readResponse(into)
	if err != nil || !keep {
		c.close()
	}
	return status, err
}

func (c *rawConn) dial() error {
	var conn net.Conn
	var err error
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if c.d.tls != nil {
		conn, err = tls.DialWithDialer(dialer, "tcp", c.d.addr, c.d.tls)
	} else {
		conn, err = dialer.Dial("tcp", c.d.addr)
	}
	if err != nil {
		return err
	}
	c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
	return nil
}

func (c *rawConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
}

var errMalformed = errors.New("raw client: malformed HTTP answer")

// readResponse reads one answer: the status line, the headers (of which it
// needs Content-Length, Transfer-Encoding and Connection), and the body
// into into. keep says whether the connection may carry the next request.
func (c *rawConn) readResponse(into *bytes.Buffer) (status int, keep bool, err error) {
	line, err := c.line()
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, errMalformed
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, errMalformed
	}
	keep = line[7] == '1'
	length, chunked := -1, false
	for {
		h, err := c.line()
		if err != nil {
			return status, false, err
		}
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return status, false, errMalformed
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 || length > maxRawBody {
				return status, false, errMalformed
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keep = false
			}
		}
	}
	into.Reset()
	switch {
	case chunked:
		return status, keep, c.readChunked(into)
	case length >= 0:
		_, err = io.CopyN(into, c.br, int64(length))
		return status, keep, err
	default: // the body runs to the end of the connection
		_, err = into.ReadFrom(io.LimitReader(c.br, maxRawBody))
		return status, false, err
	}
}

func (c *rawConn) readChunked(into *bytes.Buffer) error {
	for {
		line, err := c.line()
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil || n < 0 || int64(into.Len())+n > maxRawBody {
			return errMalformed
		}
		if n == 0 {
			for { // trailers, then the blank line
				t, err := c.line()
				if err != nil || len(t) == 0 {
					return err
				}
			}
		}
		if _, err := io.CopyN(into, c.br, n); err != nil {
			return err
		}
		if end, err := c.line(); err != nil || len(end) != 0 {
			return errMalformed
		}
	}
}

// line reads one CRLF-terminated line without its CRLF.
func (c *rawConn) line() ([]byte, error) {
	l, err := c.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errMalformed
		}
		return nil, err
	}
	return bytes.TrimRight(l, "\r\n"), nil
}
