package batonbench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	batonv1 "github.com/conncred/conncred/gen/c1/connectorapi/baton/v1"
)

// chunk is the data message size baton-sdk sends (512 KiB).
const chunk = 512 << 10

// TestUploadThroughput uploads .c1z-sized bodies over TLS + HTTP/2 to a
// real serve on SQLite (directory artifact store under the data dir) and,
// with CONNCRED_TEST_POSTGRES_URL, on PostgreSQL (artifacts in chunks in
// the database), and beside each upload writes the same bytes the way the
// directory store does (temp file in the artifact directory, 512 KiB
// writes, fsync, rename, fsync of the directory): the disk's own speed,
// seconds apart, so the ratio means the same on a busy or idle machine.
// Each size is measured CONNCRED_BATON_BENCH_ROUNDS times (default 3) and
// the fastest kept, for upload and disk alike.
func TestUploadThroughput(t *testing.T) {
	needBench(t)
	rounds := envInt(t, "CONNCRED_BATON_BENCH_ROUNDS", 3)
	sizes := []int{8 << 20, 64 << 20, 256 << 20}
	body := make([]byte, sizes[len(sizes)-1])
	_, _ = rand.Read(body)
	copy(body, "C1ZF\x00")

	stores := []string{""}
	if pg := os.Getenv("CONNCRED_TEST_POSTGRES_URL"); pg != "" {
		stores = append(stores, pg)
	} else {
		t.Log("CONNCRED_TEST_POSTGRES_URL is unset: PostgreSQL chunk storage not measured")
	}
	for _, db := range stores {
		nd := startNode(t, db)
		// The disk measured is the data dir's: the directory store's own
		// directory on SQLite; on PostgreSQL the artifacts go to the
		// database's disk, and the data dir's is shown for comparison.
		diskDir := filepath.Join(nd.DataDir, "artifacts")
		if err := os.MkdirAll(diskDir, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, size := range sizes {
			part := body[:size]
			sum := sha256.Sum256(part)
			var bestUp, bestDisk time.Duration
			for r := range rounds {
				d, err := diskWrite(diskDir, part)
				if err != nil {
					t.Fatal(err)
				}
				u, err := uploadOnce(t, nd, part, sum[:])
				if err != nil {
					t.Fatalf("%s %d MiB round %d: %v", nd.dbLabel, size>>20, r, err)
				}
				if bestDisk == 0 || d < bestDisk {
					bestDisk = d
				}
				if bestUp == 0 || u < bestUp {
					bestUp = u
				}
			}
			upRate := mib(int64(size)) / bestUp.Seconds()
			diskRate := mib(int64(size)) / bestDisk.Seconds()
			t.Logf("upload %-8s %4d MiB: upload %7.1f MiB/s (%v)  disk write+fsync+rename %7.1f MiB/s (%v)  ratio %.2f",
				nd.dbLabel, size>>20, upRate, bestUp.Round(time.Millisecond), diskRate, bestDisk.Round(time.Millisecond), upRate/diskRate)
		}
	}
}

// diskWrite writes p as the directory store writes an artifact and
// returns how long it took; it removes the file afterwards.
func diskWrite(dir string, p []byte) (time.Duration, error) {
	start := time.Now()
	f, err := os.CreateTemp(dir, ".disk-")
	if err != nil {
		return 0, err
	}
	for rest := p; len(rest) > 0; {
		n := min(len(rest), chunk)
		if _, err := f.Write(rest[:n]); err != nil {
			f.Close()
			return 0, err
		}
		rest = rest[n:]
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	final := filepath.Join(dir, fmt.Sprintf(".disk-final-%d", time.Now().UnixNano()))
	if err == nil {
		err = os.Rename(f.Name(), final)
	}
	if err == nil {
		var d *os.File
		if d, err = os.Open(dir); err == nil {
			err = d.Sync()
			d.Close()
		}
	}
	elapsed := time.Since(start)
	_ = os.Remove(f.Name())
	_ = os.Remove(final)
	return elapsed, err
}

// uploadOnce makes a connector, gives it a sync task and uploads p as its
// artifact over the connector's kept-alive HTTP/2 connection; it returns
// the time from opening the stream to the server's answer (the artifact
// is then durable and tied to the task).
func uploadOnce(t *testing.T, nd *node, p, sum []byte) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cs := makeConnectors(t, nd, 1)
	c := cs[0]
	defer c.tr.CloseIdleConnections()
	if err := forceSync(ctx, nd, c); err != nil {
		return 0, err
	}
	resp, err := c.kept.GetTask(ctx, connect.NewRequest(&batonv1.BatonServiceGetTaskRequest{HostId: "bench"}))
	if err != nil {
		return 0, err
	}
	taskID := resp.Msg.GetTask().GetId()
	if taskID == "" {
		return 0, fmt.Errorf("GetTask after force_sync handed out no task")
	}
	start := time.Now()
	s := c.kept.UploadAsset(ctx)
	send := func(m *batonv1.BatonServiceUploadAssetRequest) bool { return s.Send(m) == nil }
	ok := send(&batonv1.BatonServiceUploadAssetRequest{Msg: &batonv1.BatonServiceUploadAssetRequest_Metadata{
		Metadata: &batonv1.BatonServiceUploadAssetRequest_UploadMetadata{HostId: "bench", TaskId: taskID}}})
	for rest := p; ok && len(rest) > 0; {
		n := min(len(rest), chunk)
		ok = send(&batonv1.BatonServiceUploadAssetRequest{Msg: &batonv1.BatonServiceUploadAssetRequest_Data{
			Data: &batonv1.BatonServiceUploadAssetRequest_UploadData{Data: rest[:n]}}})
		rest = rest[n:]
	}
	if ok {
		send(&batonv1.BatonServiceUploadAssetRequest{Msg: &batonv1.BatonServiceUploadAssetRequest_Eof{
			Eof: &batonv1.BatonServiceUploadAssetRequest_UploadEOF{Sha256Checksum: sum}}})
	}
	_, err = s.CloseAndReceive()
	return time.Since(start), err
}
