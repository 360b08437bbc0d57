package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
	"github.com/spf13/cobra"
)

func syncCmd() *cobra.Command {
	return group("sync", "list and show a connector's syncs, and download their .c1z",
		"  conncred sync list --app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz",
		syncListCmd(), syncGetCmd(), syncDownloadCmd())
}

// syncFlags name a connector's sync: --app, --connector, and --id unless
// the command lists them.
type syncFlags struct {
	clientFlags
	appID, connectorID, id string
}

func (s *syncFlags) register(cmd *cobra.Command, withID bool) {
	s.clientFlags.register(cmd.Flags())
	cmd.Flags().StringVar(&s.appID, "app", "", "app id (required)")
	registerAppCompletion(cmd, "app", &s.clientFlags)
	cmd.Flags().StringVar(&s.connectorID, "connector", "", "connector id (required)")
	registerConnectorCompletion(cmd, "connector", &s.clientFlags, &s.appID)
	if withID {
		cmd.Flags().StringVar(&s.id, "id", "", "sync id (required)")
	}
}

const exampleSync = "--app 2HErg7BRmNdHgX8sTCWVq4E1fyh --connector 2HErg7BRmNdHgX8sTCWVq4E1fyz"

func syncListCmd() *cobra.Command {
	var f syncFlags
	var p client.Page
	cmd := &cobra.Command{
		Use:     "list --app APP_ID --connector CONNECTOR_ID [--page-size N] [--page-token T]",
		Short:   "list a connector's syncs, newest first",
		Example: "  conncred sync list " + exampleSync,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"app", &f.appID}, required{"connector", &f.connectorID})
			if err != nil {
				return err
			}
			out, err := c.ListSyncs(cmd.Context(), f.appID, f.connectorID, p)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			if err := syncTable(cmd.OutOrStdout(), out.List...); err != nil {
				return err
			}
			return printNext(cmd.ErrOrStderr(), out.NextPageToken)
		},
	}
	f.register(cmd, false)
	cmd.Flags().IntVar(&p.Size, "page-size", 0, "syncs per page (default 50, at most 100)")
	cmd.Flags().StringVar(&p.Token, "page-token", "", "nextPageToken of the previous page")
	return cmd
}

func syncGetCmd() *cobra.Command {
	var f syncFlags
	cmd := &cobra.Command{
		Use:     "get --app APP_ID --connector CONNECTOR_ID --id SYNC_ID",
		Short:   "show one sync: its state, attempts, host, error, and the uploaded artifact's size and SHA-256",
		Example: "  conncred sync get " + exampleSync + " --id 2HErg7BRmNdHgX8sTCWVq4E1fz0",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare(required{"app", &f.appID}, required{"connector", &f.connectorID}, required{"id", &f.id})
			if err != nil {
				return err
			}
			s, err := c.GetSync(cmd.Context(), f.appID, f.connectorID, f.id)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), apitype.SyncResponse{Sync: s})
			}
			return syncTable(cmd.OutOrStdout(), s)
		},
	}
	f.register(cmd, true)
	return cmd
}

func syncDownloadCmd() *cobra.Command {
	var f syncFlags
	var output string
	cmd := &cobra.Command{
		Use:   "download --app APP_ID --connector CONNECTOR_ID --id SYNC_ID [--output FILE]",
		Short: "download a sync's .c1z, verifying its SHA-256; never overwrites a file",
		Long: `Downloads the artifact a connector uploaded for the sync (its .c1z) to
--output (default <sync id>.c1z in the current directory), showing progress on
stderr. The bytes go to a temporary file beside the output first; only when
their SHA-256 and length match the sync's record is the file given its name,
and an existing file of that name is never overwritten. --json prints the
sync's record ({"sync": ...}) once the file is in place.`,
		Example: "  conncred sync download " + exampleSync + " --id 2HErg7BRmNdHgX8sTCWVq4E1fz0 --output okta.c1z",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := require("app", f.appID, "connector", f.connectorID, "id", f.id); err != nil {
				return err
			}
			if output == "" {
				output = f.id + ".c1z"
			}
			if _, err := os.Lstat(output); err == nil {
				return fmt.Errorf("%s exists; conncred never overwrites a file: remove it or give another --output", output)
			}
			f.streaming = true
			c, err := f.client()
			if err != nil {
				return err
			}
			s, err := c.GetSync(cmd.Context(), f.appID, f.connectorID, f.id)
			if err != nil {
				return err
			}
			if s.ArtifactSize == nil || s.ArtifactHash == "" {
				return fmt.Errorf("sync %s has no uploaded artifact yet (state %s); wait until it has finished", f.id, s.State)
			}
			want, err := base64.StdEncoding.DecodeString(s.ArtifactHash)
			if err != nil || len(want) != sha256.Size {
				return fmt.Errorf("the server's artifactSha256 %q is not a base64 SHA-256", s.ArtifactHash)
			}
			d, err := c.OpenSync(cmd.Context(), f.appID, f.connectorID, f.id)
			if err != nil {
				return err
			}
			defer d.Body.Close()
			if err := saveVerified(d.Body, output, *s.ArtifactSize, want, cmd.ErrOrStderr()); err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), apitype.SyncResponse{Sync: s})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: %d bytes, sha256 %x verified\n", output, *s.ArtifactSize, want)
			return err
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write (default <sync id>.c1z); must not exist")
	return cmd
}

// saveVerified streams r to a temporary file beside path, checks its
// length and SHA-256, and only then links it to path, which fails if path
// exists by now: a file of that name is never overwritten, and a broken
// download never appears under it.
func saveVerified(r io.Reader, path string, size int64, sum []byte, progress io.Writer) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".part-*")
	if err != nil {
		return fmt.Errorf("cannot write beside %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	pw := &progressWriter{w: progress, name: path, total: size}
	n, err := io.Copy(io.MultiWriter(tmp, h, pw), r)
	if err != nil {
		return fmt.Errorf("download interrupted after %d bytes: %w", n, err)
	}
	if n != size {
		return fmt.Errorf("download has %d bytes, the sync's record says %d; nothing written to %s", n, size, path)
	}
	if got := h.Sum(nil); !bytes.Equal(got, sum) {
		return fmt.Errorf("download's SHA-256 %x differs from the sync's record %x; nothing written to %s", got, sum, path)
	}
	pw.finish()
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s appeared during the download; conncred never overwrites a file: remove it or give another --output", path)
		}
		return err
	}
	return nil
}

// progressWriter reports on stderr each tenth of the download (and its
// end), so a log of the command stays short.
type progressWriter struct {
	w         io.Writer
	name      string
	total, n  int64
	lastTenth int64
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.total > 0 {
		if tenth := p.n * 10 / p.total; tenth > p.lastTenth && tenth < 10 {
			p.lastTenth = tenth
			fmt.Fprintf(p.w, "%s: %s of %s (%d%%)\n", p.name, mib(p.n), mib(p.total), tenth*10)
		}
	}
	return len(b), nil
}

func (p *progressWriter) finish() {
	fmt.Fprintf(p.w, "%s: %s of %s (100%%)\n", p.name, mib(p.n), mib(p.total))
}

func mib(n int64) string {
	if n < 1<<20 {
		return strconv.FormatInt(n, 10) + " B"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func syncTable(w io.Writer, syncs ...*apitype.SyncView) error {
	rows := make([][]string, 0, len(syncs))
	for _, s := range syncs {
		size, errText := "-", s.ErrorMessage
		if s.ArtifactSize != nil {
			size = strconv.FormatInt(*s.ArtifactSize, 10)
		}
		if errText == "" {
			errText = "-"
		}
		host := s.HostID
		if host == "" {
			host = "-"
		}
		rows = append(rows, []string{s.ID, s.State, strconv.Itoa(s.Attempt), host, s.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), ts(s.FinishedAt), size, errText})
	}
	return table(w, []string{"ID", "STATE", "ATTEMPT", "HOST", "CREATED", "FINISHED", "BYTES", "ERROR"}, rows)
}
