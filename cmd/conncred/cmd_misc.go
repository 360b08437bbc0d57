package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/client"
)

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	list := func(args []string) error {
		var f clientFlags
		fs := newFlagSet("keys list", "Usage: conncred keys list\n\nLists the server's access-token signing keys; the active one signs new tokens.\n\nExample:\n  conncred keys list\n", stderr)
		f.register(fs)
		c, err := f.prepare(fs, args)
		if err != nil {
			return err
		}
		keys, err := c.ListSigningKeys(ctx)
		if err != nil {
			return err
		}
		return printKeys(stdout, f.json, keys...)
	}
	rotate := func(args []string) error {
		var f clientFlags
		fs := newFlagSet("keys rotate", "Usage: conncred keys rotate\n\nAdds a new signing key, which signs from now on. Tokens signed by older keys\nstay valid until they expire.\n\nExample:\n  conncred keys rotate\n", stderr)
		f.register(fs)
		c, err := f.prepare(fs, args)
		if err != nil {
			return err
		}
		k, err := c.RotateSigningKey(ctx)
		if err != nil {
			return err
		}
		return printKeys(stdout, f.json, k)
	}
	return subcommand("keys", map[string]func([]string) error{"list": list, "rotate": rotate}, []string{"list", "rotate"}, args, stderr)
}

func printKeys(w io.Writer, asJSON bool, keys ...apitype.SigningKey) error {
	if asJSON {
		return printJSON(w, keys)
	}
	rows := make([][]string, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, []string{k.KID, ts(k.CreatedAt), strconv.FormatBool(k.Active)})
	}
	return table(w, []string{"KID", "CREATED", "ACTIVE"}, rows)
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f clientFlags
	var q client.AuditQuery
	var since, until string
	fs := newFlagSet("audit", "Usage: conncred audit [--kind K] [--connector ID] [--credential ID] [--since T] [--until T]\n\nReads the audit trail, oldest first. Kinds include credential.created,\ncredential.revoked, token.issued, token.refused, admin.created, signing_key.rotated.\n\nExample:\n  conncred audit --kind token.refused --since 2026-11-28T00:00:00Z\n", stderr)
	f.register(fs)
	fs.StringVar(&q.Kind, "kind", "", "only events of this kind")
	fs.StringVar(&q.ConnectorID, "connector", "", "only events about this connector")
	fs.StringVar(&q.CredentialID, "credential", "", "only events about this credential")
	fs.StringVar(&since, "since", "", "only events at or after this RFC 3339 time")
	fs.StringVar(&until, "until", "", "only events before this RFC 3339 time")
	fs.IntVar(&q.Page.Size, "page-size", 0, "events per page")
	fs.StringVar(&q.Page.Token, "page-token", "", "nextPageToken of the previous page")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, p := range []struct {
		s   string
		dst *time.Time
	}{{since, &q.Since}, {until, &q.Until}} {
		if p.s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, p.s)
		if err != nil {
			return usageError{err: fmt.Errorf("%q is not an RFC 3339 time such as 2026-11-28T00:00:00Z", p.s)}
		}
		*p.dst = t
	}
	c, err := f.client()
	if err != nil {
		return err
	}
	out, err := c.ListAudit(ctx, q)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, out)
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
	if err := table(stdout, []string{"TIME", "KIND", "OUTCOME", "COUNT", "ACTOR", "SUBJECT", "REASON"}, rows); err != nil {
		return err
	}
	return printNext(stderr, out.NextPageToken)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f clientFlags
	fs := newFlagSet("token", "Usage: conncred token\n\nExchanges the credential for an access token (POST /auth/v1/token) and prints\nthe token response. The token is a bearer credential: treat it as a secret.\n\nExample:\n  conncred token --credentials connector.json\n", stderr)
	f.register(fs)
	c, err := f.prepare(fs, args)
	if err != nil {
		return err
	}
	tok, err := c.Token(ctx)
	if err != nil {
		return err
	}
	return printJSON(stdout, tok)
}

func runWhoami(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f clientFlags
	fs := newFlagSet("whoami", "Usage: conncred whoami\n\nShows who the credential is (GET /api/v1/auth/introspect).\n\nExample:\n  conncred whoami --server https://127.0.0.1:8443\n", stderr)
	f.register(fs)
	c, err := f.prepare(fs, args)
	if err != nil {
		return err
	}
	in, err := c.Introspect(ctx)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, in)
	}
	rows := [][]string{
		{"client id", in.ClientID}, {"credential", in.CredentialID}, {"roles", fmt.Sprint(in.Roles)},
		{"permissions", fmt.Sprint(in.Permissions)}, {"token expires", ts(in.ExpiresAt)},
	}
	if in.ConnectorID != "" {
		rows = append(rows, []string{"app", in.AppID}, []string{"connector", in.ConnectorID})
	}
	return table(stdout, []string{"FIELD", "VALUE"}, rows)
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	_, err := fmt.Fprintln(stdout, "conncred", v)
	return err
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	open := func(args []string, name, usage string, migrate bool) (conncred.Migrator, func(), bool, error) {
		var db, dataDir string
		var asJSON bool
		fs := newFlagSet(name, usage, stderr)
		fs.StringVar(&db, "db", "", "database: sqlite:<path> (default sqlite:<data-dir>/conncred.db) or postgres://...")
		fs.StringVar(&dataDir, "data-dir", "./conncred-data", "data directory of the default SQLite database")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		if err := parse(fs, args); err != nil {
			return nil, nil, false, err
		}
		s, err := openStoreMode(ctx, db, dataDir, false)
		if err != nil {
			return nil, nil, false, err
		}
		m, ok := s.(conncred.Migrator)
		if !ok {
			s.Close()
			return nil, nil, false, fmt.Errorf("this database has no versioned schema")
		}
		return m, func() { s.Close() }, asJSON, nil
	}
	status := func(m conncred.Migrator, asJSON bool) error {
		st, err := m.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(stdout, st)
		}
		rows := make([][]string, 0, len(st))
		for _, s := range st {
			state := "pending"
			if s.AppliedAt != nil {
				state = "applied " + s.AppliedAt.UTC().Format(time.RFC3339)
			}
			rows = append(rows, []string{fmt.Sprintf("%04d", s.Version), s.Name, state})
		}
		return table(stdout, []string{"VERSION", "NAME", "STATE"}, rows)
	}
	verbs := map[string]func([]string) error{
		"status": func(args []string) error {
			m, done, asJSON, err := open(args, "migrate status", "Usage: conncred migrate status [--db URL]\n\nShows which schema migrations are applied and which are pending.\n\nExample:\n  conncred migrate status --db postgres://conncred@db.internal/conncred\n", false)
			if err != nil {
				return err
			}
			defer done()
			return status(m, asJSON)
		},
		"apply": func(args []string) error {
			m, done, asJSON, err := open(args, "migrate apply", "Usage: conncred migrate apply [--db URL]\n\nApplies pending schema migrations, each in its own transaction (on PostgreSQL\nunder an advisory lock, so nodes starting at the same time do not race), then\nshows the status. `conncred serve` does this itself at start.\n\nExample:\n  conncred migrate apply --db postgres://conncred@db.internal/conncred\n", true)
			if err != nil {
				return err
			}
			defer done()
			if err := m.Migrate(ctx); err != nil {
				return err
			}
			return status(m, asJSON)
		},
	}
	return subcommand("migrate", verbs, []string{"apply", "status"}, args, stderr)
}
