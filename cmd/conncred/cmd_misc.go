package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
	"github.com/spf13/cobra"
)

func keysCmd() *cobra.Command {
	var lf, rf clientFlags
	list := &cobra.Command{
		Use:     "list",
		Short:   "list the server's access-token signing keys; the active one signs new tokens",
		Example: "  conncred keys list",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := lf.prepare()
			if err != nil {
				return err
			}
			keys, err := c.ListSigningKeys(cmd.Context())
			if err != nil {
				return err
			}
			if lf.json {
				return printJSON(cmd.OutOrStdout(), apitype.ListSigningKeysResponse{List: keys})
			}
			return keyTable(cmd.OutOrStdout(), keys...)
		},
	}
	lf.register(list.Flags())
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "add a new signing key, which signs from now on",
		Long: `Adds a new signing key, which signs from now on. Tokens signed by older keys
stay valid until they expire.`,
		Example: "  conncred keys rotate",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := rf.prepare()
			if err != nil {
				return err
			}
			k, err := c.RotateSigningKey(cmd.Context())
			if err != nil {
				return err
			}
			if rf.json {
				return printJSON(cmd.OutOrStdout(), apitype.RotateSigningKeyResponse{Key: k})
			}
			return keyTable(cmd.OutOrStdout(), k)
		},
	}
	rf.register(rotate.Flags())
	return group("keys", "list and rotate the server's token signing keys", "  conncred keys list", list, rotate)
}

func keyTable(w io.Writer, keys ...apitype.SigningKey) error {
	rows := make([][]string, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, []string{k.KID, ts(k.CreatedAt), strconv.FormatBool(k.Active)})
	}
	return table(w, []string{"KID", "CREATED", "ACTIVE"}, rows)
}

func auditCmd() *cobra.Command {
	var f clientFlags
	var q client.AuditQuery
	var since, until string
	cmd := &cobra.Command{
		Use:   "audit [--kind K] [--actor A] [--outcome O] [--source S] [--connector ID] [--credential ID] [--since T] [--until T] [--newest-first]",
		Short: "read the audit trail",
		Long: `Reads the audit trail, oldest first (--newest-first turns it round). Kinds
include credential.created, credential.revoked, token.issued, token.refused,
admin.created, signing_key.rotated. --actor and --source match beginnings: a
client id or address, or its start (--source ::1 also finds [::1]:53211).`,
		Example: "  conncred audit --kind token.refused --since 2026-11-28T00:00:00Z\n  conncred audit --outcome failure --source 10.1. --newest-first",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, p := range []struct {
				s   string
				dst *time.Time
			}{{since, &q.Since}, {until, &q.Until}} {
				if p.s == "" {
					continue
				}
				t, err := time.Parse(time.RFC3339, p.s)
				if err != nil {
					return usagef("%q is not an RFC 3339 time such as 2026-11-28T00:00:00Z", p.s)
				}
				*p.dst = t
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			out, err := c.ListAudit(cmd.Context(), q)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			rows := make([][]string, 0, len(out.List))
			for _, e := range out.List {
				subject := e.CredentialID
				if subject == "" {
					subject = e.ConnectorID
				}
				if subject == "" {
					subject = e.AppID
				}
				rows = append(rows, []string{ts(e.Time), e.Kind, e.Outcome, strconv.Itoa(e.Count), dash(e.Actor), dash(subject), dash(e.Reason)})
			}
			if err := table(cmd.OutOrStdout(), []string{"TIME", "KIND", "OUTCOME", "COUNT", "ACTOR", "SUBJECT", "REASON"}, rows); err != nil {
				return err
			}
			return printNext(cmd.ErrOrStderr(), out.NextPageToken)
		},
	}
	f.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&q.Kind, "kind", "", "only events of this kind")
	fs.StringVar(&q.ConnectorID, "connector", "", "only events about this connector")
	fs.StringVar(&q.CredentialID, "credential", "", "only events about this credential")
	fs.StringVar(&q.Actor, "actor", "", "only events by actors whose client id starts with this (or system)")
	fs.StringVar(&q.Outcome, "outcome", "", "only events with this outcome: success, failure or unchanged")
	fs.StringVar(&q.Source, "source", "", "only events from source addresses that start with this, e.g. 10.1.")
	fs.BoolVar(&q.Newest, "newest-first", false, "newest events first (pass it with --page-token too)")
	fs.StringVar(&since, "since", "", "only events at or after this RFC 3339 time")
	fs.StringVar(&until, "until", "", "only events before this RFC 3339 time")
	fs.IntVar(&q.Page.Size, "page-size", 0, "events per page")
	fs.StringVar(&q.Page.Token, "page-token", "", "nextPageToken of the previous page")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func tokenCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "token",
		Short: "exchange a credential for an access token and print it",
		Long: `Exchanges the credential for an access token (POST /auth/v1/token) and prints
the token response, always as JSON with RFC 6749's own names (access_token,
token_type, expires_in), which OAuth tools read. The token is a bearer
credential: treat it as a secret.`,
		Example: "  conncred token --credentials connector.json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare()
			if err != nil {
				return err
			}
			tok, err := c.Token(cmd.Context())
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), tok)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func whoamiCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:     "whoami",
		Short:   "show who the current credential is",
		Long:    "Shows who the credential is (GET /api/v1/auth/introspect).",
		Example: "  conncred whoami --server https://127.0.0.1:8443",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.prepare()
			if err != nil {
				return err
			}
			in, err := c.Introspect(cmd.Context())
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), in)
			}
			rows := [][]string{
				{"client id", in.ClientID}, {"credential", in.CredentialID}, {"roles", fmt.Sprint(in.Roles)},
				{"permissions", fmt.Sprint(in.Permissions)}, {"token expires", ts(in.ExpiresAt)},
			}
			if in.ConnectorID != "" {
				rows = append(rows, []string{"app", in.AppID}, []string{"connector", in.ConnectorID})
			}
			return table(cmd.OutOrStdout(), []string{"FIELD", "VALUE"}, rows)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// migrationState is one schema migration as `migrate --json` prints it.
type migrationState struct {
	Version   int        `json:"version"`
	Name      string     `json:"name"`
	AppliedAt *time.Time `json:"appliedAt"`
}

// migrationsResponse is `migrate --json`'s output, in the API's list shape.
type migrationsResponse struct {
	List []migrationState `json:"list"`
}

func migrateCmd() *cobra.Command {
	verb := func(use, short, long, example string, apply bool) *cobra.Command {
		var db, dataDir string
		var asJSON bool
		cmd := &cobra.Command{
			Use:     use,
			Short:   short,
			Long:    long,
			Example: example,
			Args:    noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				ctx := cmd.Context()
				s, err := openStoreMode(ctx, db, dataDir, false)
				if err != nil {
					return err
				}
				defer s.Close()
				m, ok := s.(conncred.Migrator)
				if !ok {
					return fmt.Errorf("this database has no versioned schema")
				}
				if apply {
					if err := m.Migrate(ctx); err != nil {
						return err
					}
				}
				st, err := m.MigrationStatus(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					out := migrationsResponse{List: make([]migrationState, 0, len(st))}
					for _, s := range st {
						out.List = append(out.List, migrationState{Version: s.Version, Name: s.Name, AppliedAt: s.AppliedAt})
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				rows := make([][]string, 0, len(st))
				for _, s := range st {
					state := "pending"
					if s.AppliedAt != nil {
						state = "applied " + s.AppliedAt.UTC().Format(time.RFC3339)
					}
					rows = append(rows, []string{fmt.Sprintf("%04d", s.Version), s.Name, state})
				}
				return table(cmd.OutOrStdout(), []string{"VERSION", "NAME", "STATE"}, rows)
			},
		}
		fs := cmd.Flags()
		fs.StringVar(&db, "db", "", "database: sqlite:<path> (default sqlite:<data-dir>/conncred.db) or postgres://...")
		fs.StringVar(&dataDir, "data-dir", "./conncred-data", "data directory of the default SQLite database")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		return cmd
	}
	return group("migrate", "apply or show database migrations", "  conncred migrate status",
		verb("status [--db URL]", "show which schema migrations are applied and which are pending", "",
			"  conncred migrate status --db postgres://conncred@db.internal/conncred", false),
		verb("apply [--db URL]", "apply pending schema migrations", `Applies pending schema migrations, each in its own transaction (on PostgreSQL
under an advisory lock, so nodes starting at the same time do not race), then
shows the status. `+"`conncred serve`"+` does this itself at start.`,
			"  conncred migrate apply --db postgres://conncred@db.internal/conncred", true),
	)
}
