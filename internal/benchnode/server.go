package benchnode

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// FindBinary returns the conncred binary to run: path if given, else
// `conncred` beside the running executable, else one built from the module
// (the working directory must be inside it) into dir.
func FindBinary(ctx context.Context, path, dir string) (string, error) {
	if path != "" {
		return path, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "conncred")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	out := filepath.Join(dir, "conncred")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/conncred/conncred/cmd/conncred")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building conncred (run from inside the module, or pass --conncred): %v\n%s", err, b)
	}
	return out, nil
}

// Node is a running `conncred serve` process.
type Node struct {
	URL     string // https://127.0.0.1:port
	DataDir string
	PID     int
	LogFile string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// CAFile is the dev CA the node's certificate chains to.
func (n *Node) CAFile() string { return filepath.Join(n.DataDir, "ca.pem") }

// AdminFile is the admin credential the node bootstrapped, if it did.
func (n *Node) AdminFile() string { return filepath.Join(n.DataDir, "admin-credential.json") }

// servingLine is what serve prints on stderr once it accepts connections.
var servingLine = regexp.MustCompile(`serving (https?://[^\s"]+)`)

// StartNode runs `conncred serve --listen 127.0.0.1:0 --data-dir dataDir
// args...` and waits (up to a minute) until it serves. args must say how it
// serves: --dev (TLS from a local CA) or --insecure-http. Its output goes to
// dataDir/../<name>.log.
func StartNode(ctx context.Context, bin, dataDir string, args ...string) (*Node, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	logPath := dataDir + ".log"
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	full := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, args...)
	// Not CommandContext: the node is stopped by Stop, gently, not killed
	// the moment a context ends.
	cmd := exec.Command(bin, full...)
	cmd.Stdout = logFile
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	n := &Node{DataDir: dataDir, PID: cmd.Process.Pid, LogFile: logPath, cmd: cmd, exited: make(chan struct{})}
	urls := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		// Keep reading to the end: a server that logs every request must
		// never block on a full pipe.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(logFile, stderr)
	}()
	go func() {
		// Wait closes the pipe, so it must come after the last read: else
		// the log can lose the very lines that say why a node exited.
		<-drained
		_ = cmd.Wait()
		logFile.Close()
		close(n.exited)
	}()
	timer := time.NewTimer(time.Minute)
	defer timer.Stop()
	select {
	case n.URL = <-urls:
		return n, nil
	case <-n.exited:
		return nil, fmt.Errorf("conncred serve exited before serving:\n%s", tail(logPath))
	case <-timer.C:
		n.Stop()
		return nil, fmt.Errorf("conncred serve did not start within a minute:\n%s", tail(logPath))
	case <-ctx.Done():
		n.Stop()
		return nil, ctx.Err()
	}
}

// Stop asks the node to shut down (SIGTERM) and kills it after 20 s.
func (n *Node) Stop() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(20 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

// Alive reports whether the node is still running.
func (n *Node) Alive() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// tail returns the end of a log file, for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return strings.TrimSpace(string(b))
}
