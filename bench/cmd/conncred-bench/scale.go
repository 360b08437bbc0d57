package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/bench/loadgen"
	"github.com/conncred/conncred/internal/benchnode"
	"github.com/conncred/conncred/store/sqlite"
)

// scaleOps are the operations the scale check times, in report order.
var scaleOps = []string{"get", "list", "rotate", "exchange"}

// scalePoint is the latency of each operation at one credential count.
type scalePoint struct {
	Credentials int                     `json:"credentials"`
	FillTime    string                  `json:"fill_time"`
	Ops         map[string]scaleLatency `json:"ops"`
}

type scaleLatency struct {
	N     int     `json:"n"`
	P50Ms float64 `json:"p50_ms"`
	P90Ms float64 `json:"p90_ms"`
	P99Ms float64 `json:"p99_ms"`
}

// runScale answers "does it stay fast with a million credentials": for each
// count a fresh SQLite server, its store prefilled with that many
// credentials (1,000 to a connector) before it starts, then one client
// timing, one request at a time so that latency is the store's and not a
// queue's: GET of a credential, a page of 50 of a connector's list walked
// by page token, a rotation (a new credential under the connector's cap)
// and a token exchange.
func runScale(ctx context.Context, cfg *config, stdout io.Writer, logf func(string, ...any)) error {
	var points []scalePoint
	for _, n := range cfg.scale {
		p, err := scaleOnce(ctx, cfg, n, logf)
		if err != nil {
			return err
		}
		points = append(points, p)
	}
	if cfg.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(points)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tcredentials\trequests\tp50 ms\tp90 ms\tp99 ms\tp50 vs first\t")
	for _, op := range scaleOps {
		for _, p := range points {
			l := p.Ops[op]
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f×\t\n", op, p.Credentials, l.N, l.P50Ms, l.P90Ms, l.P99Ms, l.P50Ms/points[0].Ops[op].P50Ms)
		}
	}
	return tw.Flush()
}

func scaleOnce(ctx context.Context, cfg *config, n int, logf func(string, ...any)) (scalePoint, error) {
	p := scalePoint{Credentials: n, Ops: map[string]scaleLatency{}}
	dir, err := os.MkdirTemp("", "conncred-scale-")
	if err != nil {
		return p, err
	}
	if cfg.keep {
		logf("keeping %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin, err := benchnode.FindBinary(ctx, cfg.conncred, dir)
	if err != nil {
		return p, err
	}
	// StartCluster puts node 1's database here.
	dbPath := filepath.Join(dir, "node1", "conncred.db")
	logf("prefilling %d credentials into %s...", n, dbPath)
	start := time.Now()
	// The generator fills through conncred.Store; this command chooses
	// SQLite, the store the server will open at dbPath.
	open := func(ctx context.Context) (conncred.Store, error) { return sqlite.Open(ctx, dbPath) }
	filled, err := loadgen.Prefill(ctx, open, n, 1000, func(done int) { logf("  %d/%d (%s)", done, n, time.Since(start).Round(time.Second)) })
	if err != nil {
		return p, fmt.Errorf("prefill: %w", err)
	}
	p.FillTime = time.Since(start).Round(time.Second).String()
	cl, err := loadgen.StartCluster(ctx, loadgen.ClusterOptions{
		Binary: bin, Nodes: 1, Dir: dir,
		Args: append([]string{"--max-active-credentials", strconv.Itoa(serveCap)}, cfg.serverArgs...),
	})
	if err != nil {
		return p, err
	}
	defer cl.Close()
	node := cl.Nodes[0]
	hc, err := benchnode.HTTPClient(node.CAFile(), cfg.http == "2", 1)
	if err != nil {
		return p, err
	}
	adminCred, err := benchnode.LoadCredential(node.AdminFile())
	if err != nil {
		return p, err
	}
	admin, err := benchnode.NewAdmin(ctx, hc, node.URL, adminCred)
	if err != nil {
		return p, err
	}
	creds, err := admin.CreateCredentials(ctx, 1, 1, 1, nil)
	if err != nil {
		return p, err
	}
	signer, err := benchnode.NewSigner(creds[0])
	if err != nil {
		return p, err
	}

	reps := cfg.scaleReps
	appPath := "/api/v1/apps/" + filled.AppID + "/connectors/"
	pick := func(i int) loadgen.FilledCredential {
		// A stride through the sample, so requests do not walk an index in order.
		return filled.Sample[(i*7919)%len(filled.Sample)]
	}
	var pageToken string
	listConn := 0
	ops := map[string]func(i int) error{
		"get": func(i int) error {
			c := pick(i)
			return admin.Get(ctx, appPath+c.ConnectorID+"/credentials/"+c.ID, nil)
		},
		"list": func(i int) error {
			c := pick(listConn)
			var page struct {
				NextPageToken string `json:"nextPageToken"`
			}
			q := "?page_size=50"
			if pageToken != "" {
				q += "&page_token=" + pageToken
			}
			if err := admin.Get(ctx, appPath+c.ConnectorID+"/credentials"+q, &page); err != nil {
				return err
			}
			if pageToken = page.NextPageToken; pageToken == "" {
				listConn++ // this connector's list is done: the next one's
			}
			return nil
		},
		"rotate": func(i int) error {
			c := pick(i)
			return admin.Post(ctx, "/api/v1/apps/connectors/credentials", map[string]string{"appId": filled.AppID, "connectorId": c.ConnectorID}, nil)
		},
		"exchange": func(int) error {
			_, err := benchnode.Exchange(ctx, hc, node.URL, signer)
			return err
		},
	}
	for _, op := range scaleOps {
		lat := make([]time.Duration, 0, reps)
		for i := range reps {
			t := time.Now()
			if err := ops[op](i); err != nil {
				return p, fmt.Errorf("%s at %d credentials: %w", op, n, err)
			}
			lat = append(lat, time.Since(t))
		}
		p.Ops[op] = summarize(lat)
		logf("  %d credentials, %s: p50 %.2f ms, p99 %.2f ms", n, op, p.Ops[op].P50Ms, p.Ops[op].P99Ms)
	}
	if !node.Alive() {
		return p, fmt.Errorf("server exited; its log is %s", node.LogFile)
	}
	return p, nil
}

func summarize(lat []time.Duration) scaleLatency {
	slices.Sort(lat)
	q := func(f float64) float64 {
		return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))]) / float64(time.Millisecond)
	}
	return scaleLatency{N: len(lat), P50Ms: q(0.50), P90Ms: q(0.90), P99Ms: q(0.99)}
}
