package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/conncred/conncred/bench/loadgen"
	"github.com/conncred/conncred/internal/benchnode"
)

// env is what a run drives: the targets, the credentials' signers or their
// access tokens, and the server processes it started, if any.
type env struct {
	server  string // sqlite, postgres, or the target URL
	db      string // the nodes' --db, for reading row counters
	targets []loadgen.Target
	pids    []int
	nodes   []*benchnode.Node
	signers []loadgen.Asserter
	tokens  []string
	close   func()
}

// serveCap is the active-credential cap the generator gives servers it
// starts, so thousands of credentials need only a few connectors.
const serveCap = 1_000_000

// setUp starts or reaches the server(s), creates the credentials and, for
// api mode, gets an access token for each.
func setUp(ctx context.Context, cfg *config, logf func(string, ...any)) (*env, error) {
	e := &env{close: func() {}}
	conns := 0
	for _, c := range cfg.sweep {
		conns = max(conns, c)
	}
	var admin benchnode.Credential
	if cfg.serve {
		dir, err := os.MkdirTemp("", "conncred-bench-")
		if err != nil {
			return nil, err
		}
		e.close = func() {
			if !cfg.keep {
				os.RemoveAll(dir)
			} else {
				logf("kept %s", dir)
			}
		}
		bin, err := benchnode.FindBinary(ctx, cfg.conncred, dir)
		if err != nil {
			return e, err
		}
		e.server = "sqlite"
		if cfg.db != "" {
			e.server = strings.SplitN(cfg.db, ":", 2)[0]
		}
		logf("starting %d conncred node(s) (%s) from %s...", cfg.nodes, e.server, bin)
		args := append([]string{"--max-active-credentials", strconv.Itoa(serveCap)}, cfg.serverArgs...)
		cl, err := loadgen.StartCluster(ctx, loadgen.ClusterOptions{
			Binary: bin, DB: cfg.db, FreshSchema: cfg.freshSchema, Nodes: cfg.nodes, Args: args, Dir: dir, Plain: cfg.plain,
		})
		if err != nil {
			return e, err
		}
		rm := e.close
		e.close = func() { cl.Close(); rm() }
		e.db, e.nodes, e.pids = cl.DB, cl.Nodes, cl.PIDs()
		for _, n := range cl.Nodes {
			ca := n.CAFile()
			if cfg.plain {
				ca = ""
			}
			t, err := target(cfg, n.URL, ca, conns)
			if err != nil {
				return e, err
			}
			e.targets = append(e.targets, t)
			logf("node %s pid %d, log %s", n.URL, n.PID, n.LogFile)
		}
		if admin, err = benchnode.LoadCredential(cl.Nodes[0].AdminFile()); err != nil {
			return e, err
		}
	} else {
		e.server = cfg.target
		t, err := target(cfg, strings.TrimRight(cfg.target, "/"), cfg.ca, conns)
		if err != nil {
			return e, err
		}
		e.targets = []loadgen.Target{t}
		if cfg.serverPID > 0 {
			e.pids = []int{cfg.serverPID}
		}
		if cfg.hydraAdmin != "" {
			// Hydra's clients are registered through its admin API, with
			// the target's CA; no conncred admin is involved.
			logf("registering %d OAuth2 client(s) (private_key_jwt, ES256) at %s...", cfg.creds, cfg.hydraAdmin)
			clients, err := loadgen.HydraClients(ctx, t.Client, cfg.hydraAdmin, cfg.audience, cfg.creds)
			if err != nil {
				return e, err
			}
			for _, c := range clients {
				e.signers = append(e.signers, c)
			}
			return e, nil
		}
		if admin, err = benchnode.LoadCredential(cfg.credentials); err != nil {
			return e, err
		}
	}

	a, err := benchnode.NewAdmin(ctx, e.targets[0].Client, e.targets[0].URL, admin)
	if err != nil {
		return e, err
	}
	logf("creating %d credential(s), %d per connector...", cfg.creds, cfg.perConnector)
	creds, err := a.CreateCredentials(ctx, cfg.creds, cfg.perConnector, 4, func(done int) { logf("  %d/%d", done, cfg.creds) })
	if err != nil {
		return e, err
	}
	signers := make([]*benchnode.Signer, 0, len(creds))
	for _, c := range creds {
		s, err := benchnode.NewSigner(c)
		if err != nil {
			return e, err
		}
		signers = append(signers, s)
		e.signers = append(e.signers, s)
	}
	if cfg.mode == string(loadgen.ModeAPI) {
		logf("getting an access token for each credential...")
		if e.tokens, err = tokens(ctx, e.targets, signers); err != nil {
			return e, err
		}
	}
	return e, nil
}

// target makes the client for one node at url: the net/http client, which
// the set-up (and api mode's token exchanges) always use, and with --client
// raw the raw dialer the load uses.
func target(cfg *config, url, ca string, conns int) (loadgen.Target, error) {
	hc, err := benchnode.HTTPClient(ca, cfg.http == "2" && strings.HasPrefix(url, "https://"), conns)
	if err != nil {
		return loadgen.Target{}, err
	}
	t := loadgen.Target{URL: url, Client: hc}
	if cfg.client == "raw" {
		if t.Raw, err = loadgen.NewRawDialer(url, ca); err != nil {
			return loadgen.Target{}, err
		}
	}
	return t, nil
}

// tokens exchanges every signer's credential once, a few at a time.
func tokens(ctx context.Context, targets []loadgen.Target, signers []*benchnode.Signer) ([]string, error) {
	out := make([]string, len(signers))
	errs := make([]error, len(signers))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, s := range signers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			t := targets[i%len(targets)]
			out[i], errs[i] = benchnode.Exchange(ctx, t.Client, t.URL, s)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
