package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/conncred/conncred/baton"
	batonv1 "github.com/conncred/conncred/gen/c1/connectorapi/baton/v1"
	"github.com/conncred/conncred/internal/ksuid"
	"google.golang.org/protobuf/proto"
)

// TestBatonReplyCompression: a client that accepts gzip, as grpc-go does
// once a connector links a package that registers it, gets small replies
// uncompressed (the message's compressed flag unset) and large ones
// gzipped, and both decode. Before, every reply was gzipped, which made a
// 20-byte poll reply longer and cost a compressor reset per poll.
func TestBatonReplyCompression(t *testing.T) {
	e := newBatonEnv(t, baton.Config{})
	_, _, tok := e.connectorToken()

	// An empty poll: a reply of tens of bytes.
	flag, msg, enc := rawGRPC(t, e, tok, "GetTask", &batonv1.BatonServiceGetTaskRequest{HostId: "h"})
	if flag != 0 {
		t.Errorf("empty poll: compressed flag %d, want 0 (a %d-byte reply is below %d bytes)", flag, len(msg), batonCompressMinBytes)
	}
	var poll batonv1.BatonServiceGetTaskResponse
	if err := proto.Unmarshal(msg, &poll); err != nil {
		t.Fatalf("empty poll reply: %v", err)
	}
	if poll.GetNextPoll().AsDuration() <= 0 || poll.GetTask().GetNone() == nil {
		t.Errorf("empty poll reply: %v, want next_poll and a none task", &poll)
	}
	if enc != "" && enc != "gzip" {
		t.Errorf("grpc-encoding %q, want gzip or none", enc)
	}

	// GetTasks handing out 100 tasks: a reply of a few KiB, gzipped.
	appID, connID, tok := e.connectorToken()
	now := e.clock.Now().UTC()
	for i := range 100 {
		at := now.Add(time.Duration(i) * time.Millisecond)
		if err := e.store.(baton.Store).CreateTask(context.Background(), baton.Task{ID: ksuid.New(at), ConnectorID: connID, AppID: appID,
			Type: baton.TypeHello, State: baton.StatePending, Attempt: 1, CreatedAt: at, NotBefore: now}); err != nil {
			t.Fatal(err)
		}
	}
	flag, msg, enc = rawGRPC(t, e, tok, "GetTasks", &batonv1.BatonServiceGetTasksRequest{HostId: "h", PageSize: 100})
	if flag != 1 || enc != "gzip" {
		t.Fatalf("a %d-byte reply: compressed flag %d, grpc-encoding %q; want 1 and gzip", len(msg), flag, enc)
	}
	var tasks batonv1.BatonServiceGetTasksResponse
	if err := proto.Unmarshal(msg, &tasks); err != nil {
		t.Fatalf("large reply: %v", err)
	}
	if len(tasks.GetTasks()) != 100 {
		t.Errorf("large reply: %d tasks, want 100", len(tasks.GetTasks()))
	}
}

// rawGRPC makes one unary gRPC call over HTTP/2 that accepts gzip, and
// returns the reply message's compressed flag, its bytes (decompressed)
// and the grpc-encoding header. It fails the test on a non-OK status.
func rawGRPC(t *testing.T, e *batonEnv, token, method string, req proto.Message) (flag byte, msg []byte, encoding string) {
	t.Helper()
	body, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 5, 5+len(body))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(body)))
	frame = append(frame, body...)
	r, err := http.NewRequest("POST", e.srv.URL+"/c1.connectorapi.baton.v1.BatonService/"+method, bytes.NewReader(frame))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/grpc")
	r.Header.Set("TE", "trailers")
	r.Header.Set("Grpc-Accept-Encoding", "gzip")
	r.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if st := resp.Trailer.Get("Grpc-Status"); st != "0" {
		t.Fatalf("%s: grpc-status %q (%s)", method, st, resp.Trailer.Get("Grpc-Message"))
	}
	if len(raw) < 5 || int(binary.BigEndian.Uint32(raw[1:5])) != len(raw)-5 {
		t.Fatalf("%s: reply is not one gRPC message: %d bytes", method, len(raw))
	}
	flag, msg = raw[0], raw[5:]
	if flag == 1 {
		zr, err := gzip.NewReader(bytes.NewReader(msg))
		if err != nil {
			t.Fatalf("%s: compressed flag set but not gzip: %v", method, err)
		}
		if msg, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return flag, msg, resp.Header.Get("Grpc-Encoding")
}
