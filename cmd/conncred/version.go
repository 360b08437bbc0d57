package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
)

// Set at link time by scripts/build.sh:
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.revision=$(git rev-parse HEAD) -X main.buildDate=..."
//
// A build without them falls back to what the Go toolchain recorded, which
// is nothing under -buildvcs=false (then "unknown").
var (
	version   string
	revision  string
	buildDate string
)

// buildInfo is what `conncred version` shows.
type buildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

func (b buildInfo) line() string {
	return fmt.Sprintf("conncred %s (revision %s, built %s, %s)", b.Version, b.Revision, b.BuildDate, b.GoVersion)
}

// versionInfo merges the link-time variables over the toolchain's record,
// and without either takes the build date from the executable's own
// modification time (go build and go run write it when they link).
func versionInfo() buildInfo {
	b := resolveVersion(version, revision, buildDate, debug.ReadBuildInfo)
	if b.BuildDate == "unknown" {
		if exe, err := os.Executable(); err == nil {
			if st, err := os.Stat(exe); err == nil {
				b.BuildDate = st.ModTime().UTC().Format(time.RFC3339)
			}
		}
	}
	return b
}

func resolveVersion(v, rev, date string, read func() (*debug.BuildInfo, bool)) buildInfo {
	b := buildInfo{Version: v, Revision: rev, BuildDate: date, GoVersion: runtime.Version()}
	if bi, ok := read(); ok {
		if b.Version == "" {
			b.Version = bi.Main.Version // "(devel)" for a build inside the module
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Revision == "":
				b.Revision = s.Value
			case s.Key == "vcs.time" && b.BuildDate == "":
				b.BuildDate = s.Value // the commit's time: the toolchain records no build time
			}
		}
	}
	for _, p := range []*string{&b.Version, &b.Revision, &b.BuildDate} {
		if *p == "" {
			*p = "unknown"
		}
	}
	return b
}

func versionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "print the version, VCS revision and build date",
		Long: `Prints the module version, VCS revision and build date. scripts/build.sh sets
them from git; a plain go build records what the toolchain knows, and
"unknown" for the rest.`,
		Example: "  conncred version --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := versionInfo()
			if asJSON {
				return printJSON(cmd.OutOrStdout(), b)
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), b.line())
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
