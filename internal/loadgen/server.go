package loadgen

import (
	"bufio"
	"context"
	"errors"
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
	go func() {
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

// Cluster is the nodes the generator started, sharing one database.
type Cluster struct {
	Nodes []*Node
	// DB is the --db the nodes were given ("" for SQLite), with the fresh
	// schema's search_path when one was made.
	DB   string
	drop func()
}

// ClusterOptions say how to start a cluster.
type ClusterOptions struct {
	Binary string
	// DB is the --db of every node: "" for SQLite in the first node's data
	// dir, or a postgres:// URL (a fresh schema is made in it when
	// FreshSchema is set, and dropped on Close).
	DB          string
	FreshSchema bool
	Nodes       int
	// Args are further serve flags, such as --max-active-credentials.
	Args []string
	// Plain serves HTTP without TLS (--insecure-http) instead of --dev TLS.
	Plain bool
	// Dir holds the data dirs and logs; it is the caller's to remove.
	Dir string
}

// PublicHost is the public host every node of a multi-node cluster names,
// as nodes behind one load balancer would; the assertion's aud is its host
// part, 127.0.0.1, whichever node a request reaches.
const PublicHost = "127.0.0.1:8443"

// StartCluster starts the nodes one after the other, so only the first
// bootstraps the database and its admin credential.
func StartCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	if o.Nodes < 1 {
		o.Nodes = 1
	}
	if o.Nodes > 1 && !strings.HasPrefix(o.DB, "postgres") {
		return nil, errors.New("several nodes need a shared PostgreSQL database (--db postgres://...)")
	}
	c := &Cluster{drop: func() {}}
	db := o.DB
	if db != "" && o.FreshSchema {
		u, drop, err := FreshSchema(ctx, db)
		if err != nil {
			return nil, err
		}
		db, c.drop = u, drop
	}
	c.DB = db
	args := append([]string{"--dev"}, o.Args...)
	if o.Plain {
		args[0] = "--insecure-http"
	}
	if db != "" {
		args = append(args, "--db", db)
	}
	if o.Nodes > 1 {
		args = append(args, "--public-host", PublicHost)
	}
	for i := range o.Nodes {
		n, err := StartNode(ctx, o.Binary, filepath.Join(o.Dir, fmt.Sprintf("node%d", i+1)), args...)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Nodes = append(c.Nodes, n)
	}
	return c, nil
}

// PIDs returns the nodes' process ids.
func (c *Cluster) PIDs() []int {
	pids := make([]int, len(c.Nodes))
	for i, n := range c.Nodes {
		pids[i] = n.PID
	}
	return pids
}

// Close stops every node and drops the fresh schema, if one was made.
func (c *Cluster) Close() {
	for _, n := range c.Nodes {
		n.Stop()
	}
	c.drop()
}
