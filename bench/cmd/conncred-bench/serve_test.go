package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/conncred/conncred/bench/loadgen"
	"github.com/conncred/conncred/internal/benchnode/benchnodetest"
)

// fakeServeEnv makes this test binary act as `conncred serve`: the --serve
// path then starts, measures and stops a real child process without the
// real server.
const fakeServeEnv = "CONNCRED_BENCH_FAKE_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeServeEnv) == "1" {
		os.Exit(fakeServe(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeServe serves the fake with its files in --data-dir, says so on
// stderr the way conncred serve does, and exits on SIGTERM.
func fakeServe(args []string) int {
	dir := ""
	for i, a := range args {
		if a == "--data-dir" && i+1 < len(args) {
			dir = args[i+1]
		}
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	s, err := benchnodetest.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "level=INFO msg=\"serving %s\"\n", s.URL)
	<-stop
	s.Close()
	return 0
}

func TestServeStartsAndStopsTheServer(t *testing.T) {
	t.Setenv(fakeServeEnv, "1")
	var out, errOut bytes.Buffer
	args := []string{"--serve", "--conncred", os.Args[0], "--ceiling-time", "50ms",
		"--warmup", "100ms", "-d", "400ms", "--creds", "3", "-c", "2", "--json"}
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var rep loadgen.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Scenario.Server != "sqlite" || rep.Scenario.Nodes != 1 || len(rep.Results) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	res := rep.Results[0]
	if res.OK == 0 || res.Errors != nil {
		t.Fatalf("result: %+v", res)
	}
	// The child's own figures, from /proc.
	if res.ServerPeakRSS <= 0 || res.ServerCPUSeconds < 0 {
		t.Errorf("server figures: cpu %v s, peak RSS %v", res.ServerCPUSeconds, res.ServerPeakRSS)
	}
}
