package loadgen

import (
	"context"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// TableCounts are PostgreSQL's cumulative row counters for one table.
type TableCounts struct {
	Inserted int64 `json:"inserted"`
	Updated  int64 `json:"updated"`
	Deleted  int64 `json:"deleted"`
	Live     int64 `json:"live"`
}

// TableStats reads pg_stat_user_tables for the schema in dbURL's
// search_path: how many rows each table had inserted, updated and deleted.
// The server's backends publish their counts at most about once a second,
// so read them a second or two after the load they should include.
func TableStats(ctx context.Context, dbURL string) (map[string]TableCounts, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, err
	}
	schema := u.Query().Get("search_path")
	if schema == "" {
		schema = "public"
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_live_tup
		FROM pg_stat_user_tables WHERE schemaname = $1`, schema)
	if err != nil {
		return nil, err
	}
	out := map[string]TableCounts{}
	for rows.Next() {
		var name string
		var c TableCounts
		if err := rows.Scan(&name, &c.Inserted, &c.Updated, &c.Deleted, &c.Live); err != nil {
			return nil, err
		}
		out[name] = c
	}
	return out, rows.Err()
}

// DiffTables returns, for every table, what after counted beyond before;
// Live is after's.
func DiffTables(before, after map[string]TableCounts) map[string]TableCounts {
	out := map[string]TableCounts{}
	for name, a := range after {
		b := before[name]
		d := TableCounts{Inserted: a.Inserted - b.Inserted, Updated: a.Updated - b.Updated, Deleted: a.Deleted - b.Deleted, Live: a.Live}
		if d.Inserted != 0 || d.Updated != 0 || d.Deleted != 0 || d.Live != 0 {
			out[name] = d
		}
	}
	return out
}
