package loadgen

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/conncred/conncred/internal/benchnode"
)

// Cluster is the nodes the generator started, sharing one database.
type Cluster struct {
	Nodes []*benchnode.Node
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
		u, drop, err := benchnode.FreshSchema(ctx, db)
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
		n, err := benchnode.StartNode(ctx, o.Binary, filepath.Join(o.Dir, fmt.Sprintf("node%d", i+1)), args...)
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
