// Package e2e starts real conncred server processes for end-to-end tests:
// the multi-node, crash and walkthrough tests drive the same binary an
// operator runs, over real sockets on 127.0.0.1.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/conncred once per test binary and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "conncred-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "conncred")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/conncred")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Server is a running `conncred serve` process.
type Server struct {
	URL     string // https://127.0.0.1:port
	DataDir string
	cmd     *exec.Cmd
	log     *syncBuffer
	exited  chan struct{}
	t       testing.TB
}

// servingLine is what serve prints once it accepts connections.
var servingLine = regexp.MustCompile(`serving (https?://[^\s]+)`)

// Start runs `conncred serve` with a fresh listen port and the given data
// dir and extra flags, and waits until it serves. The process is killed when
// the test ends if it is still running.
func Start(t testing.TB, dataDir string, args ...string) *Server {
	t.Helper()
	full := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, args...)
	cmd := exec.Command(Binary(t), full...)
	cmd.Env = append(os.Environ(), "CONNCRED_LOG_FORMAT=text")
	log := &syncBuffer{}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Server{DataDir: dataDir, cmd: cmd, log: log, exited: make(chan struct{}), t: t}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			log.Write([]byte(line + "\n"))
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { s.Kill() })
	select {
	case s.URL = <-urls:
	case <-s.exited:
		t.Fatalf("conncred serve exited before serving:\n%s", log.String())
	case <-time.After(60 * time.Second):
		s.Kill()
		t.Fatalf("conncred serve did not start within 60s:\n%s", log.String())
	}
	return s
}

// Log returns everything the process wrote so far.
func (s *Server) Log() string { return s.log.String() }

// Host returns the host:port the server listens on.
func (s *Server) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(s.URL, "https://"), "http://")
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (s *Server) Kill() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// Stop asks the process to shut down (SIGTERM) and waits up to 30s.
func (s *Server) Stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if code := s.cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("exit code %d", code)
		}
		return nil
	case <-time.After(30 * time.Second):
		s.Kill()
		return fmt.Errorf("did not stop within 30s")
	}
}

// HTTPClient returns a client that trusts the data dir's dev CA.
func (s *Server) HTTPClient(t testing.TB) *http.Client {
	t.Helper()
	return HTTPClient(t, filepath.Join(s.DataDir, "ca.pem"))
}

// HTTPClient returns a client trusting only the CA in caFile.
func HTTPClient(t testing.TB, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true},
	}
}

// Run runs the conncred CLI with args and returns stdout and stderr.
func Run(ctx context.Context, t testing.TB, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, Binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)
