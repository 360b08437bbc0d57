package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/conncred/conncred/baton"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ baton.Store = (*Store)(nil)

const hostCols = `connector_id, host_id, display_name, description, package, package_version, lang_version, os_info, first_seen_at, last_seen_at`

func scanHost(row pgx.Row) (baton.Host, error) {
	var h baton.Host
	var osInfo []byte
	if err := row.Scan(&h.ConnectorID, &h.HostID, &h.DisplayName, &h.Description, &h.Package, &h.PackageVersion, &h.LangVersion, &osInfo, &h.FirstSeenAt, &h.LastSeenAt); err != nil {
		return baton.Host{}, err
	}
	if err := json.Unmarshal(osInfo, &h.OS); err != nil {
		return baton.Host{}, err
	}
	h.FirstSeenAt, h.LastSeenAt = h.FirstSeenAt.UTC(), h.LastSeenAt.UTC()
	return h, nil
}

// SaveHost inserts a host or updates all but its first-seen time.
func (s *Store) SaveHost(ctx context.Context, h baton.Host) error {
	osInfo, _ := json.Marshal(h.OS) // a struct of strings always encodes
	return s.exec(ctx, `INSERT INTO baton_hosts (`+hostCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (connector_id, host_id) DO UPDATE SET display_name = excluded.display_name,
		description = excluded.description, package = excluded.package, package_version = excluded.package_version,
		lang_version = excluded.lang_version, os_info = excluded.os_info, last_seen_at = excluded.last_seen_at`,
		h.ConnectorID, h.HostID, h.DisplayName, h.Description, h.Package, h.PackageVersion, h.LangVersion, string(osInfo),
		h.FirstSeenAt, h.LastSeenAt)
}

// ListHosts returns a page of a connector's hosts in host id order.
func (s *Store) ListHosts(ctx context.Context, connectorID, after string, limit int) ([]baton.Host, error) {
	return list(ctx, s, scanHost, `SELECT `+hostCols+` FROM baton_hosts WHERE connector_id = $1 AND host_id > $2 ORDER BY host_id LIMIT $3`,
		connectorID, after, limitArg(limit))
}

const taskCols = `id, connector_id, app_id, type, state, attempt, retry_of, reason, host_id, created_at, not_before,
	started_at, heartbeat_at, finished_at, cancel_requested, error_code, error_message, non_retryable, response`

func scanTask(row pgx.Row) (baton.Task, error) {
	var t baton.Task
	if err := row.Scan(&t.ID, &t.ConnectorID, &t.AppID, &t.Type, &t.State, &t.Attempt, &t.RetryOf, &t.Reason, &t.HostID,
		&t.CreatedAt, &t.NotBefore, &t.StartedAt, &t.HeartbeatAt, &t.FinishedAt, &t.CancelRequested, &t.ErrorCode, &t.ErrorMessage,
		&t.NonRetryable, &t.Response); err != nil {
		return baton.Task{}, err
	}
	t.CreatedAt, t.NotBefore = t.CreatedAt.UTC(), t.NotBefore.UTC()
	t.StartedAt, t.HeartbeatAt, t.FinishedAt = utc(t.StartedAt), utc(t.HeartbeatAt), utc(t.FinishedAt)
	return t, nil
}

// CreateTask inserts a pending task; a second live sync of a connector
// fails the baton_tasks_one_sync index: EConflict. The same statement
// announces it to every node (baton_watch.go), so it is heard exactly
// when it commits.
func (s *Store) CreateTask(ctx context.Context, t baton.Task) error {
	return s.exec(ctx, `WITH ins AS (INSERT INTO baton_tasks (`+taskCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
		RETURNING connector_id) SELECT pg_notify('`+taskChannel+`', connector_id) FROM ins`,
		t.ID, t.ConnectorID, t.AppID, t.Type, t.State, t.Attempt, t.RetryOf, t.Reason, t.HostID, t.CreatedAt, t.NotBefore,
		t.StartedAt, t.HeartbeatAt, t.FinishedAt, t.CancelRequested, t.ErrorCode, t.ErrorMessage, t.NonRetryable, t.Response)
}

// GetTask returns a task.
func (s *Store) GetTask(ctx context.Context, id string) (baton.Task, error) {
	var t baton.Task
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) (err error) {
		t, err = scanTask(c.QueryRow(ctx, `SELECT `+taskCols+` FROM baton_tasks WHERE id = $1`, id))
		return err
	})
	return t, err
}

// ListTasks returns a page of tasks matching f.
func (s *Store) ListTasks(ctx context.Context, f baton.TaskFilter) ([]baton.Task, error) {
	conds := []string{"true"}
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.ConnectorID != "" {
		add("connector_id = $%d", f.ConnectorID)
	}
	if f.Type != "" {
		add("type = $%d", f.Type)
	}
	if len(f.States) > 0 {
		add("state = ANY($%d)", f.States)
	}
	order := "id"
	if f.After != "" {
		if f.Descending {
			add("id < $%d", f.After)
		} else {
			add("id > $%d", f.After)
		}
	}
	if f.Descending {
		order = "id DESC"
	}
	args = append(args, limitArg(f.Limit))
	return list(ctx, s, scanTask, fmt.Sprintf(`SELECT %s FROM baton_tasks WHERE %s ORDER BY %s LIMIT $%d`,
		taskCols, strings.Join(conds, " AND "), order, len(args)), args...)
}

// ClaimTasks hands out pending tasks. FOR UPDATE SKIP LOCKED makes
// concurrent claims (on any node) pass over each other's rows instead of
// waiting for them, and the update re-checks the state, so no task is
// handed out twice. Almost every poll finds nothing, so one read first
// answers those (and gives the earliest NotBefore, the next a poll that
// claims nothing reports); only a poll that saw a claimable task writes.
func (s *Store) ClaimTasks(ctx context.Context, connectorID, host string, now time.Time, n int) ([]baton.Task, time.Time, error) {
	var first *time.Time
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		return c.QueryRow(ctx, `SELECT min(not_before) FROM baton_tasks WHERE connector_id = $1 AND state = 'pending'`, connectorID).Scan(&first)
	})
	switch {
	case err != nil:
		return nil, time.Time{}, err
	case first == nil:
		return nil, time.Time{}, nil
	case first.After(now):
		return nil, first.UTC(), nil
	}
	out, err := list(ctx, s, scanTask, `UPDATE baton_tasks SET state = 'running', host_id = $1, started_at = $2, heartbeat_at = $2
		WHERE id IN (SELECT id FROM baton_tasks WHERE connector_id = $3 AND state = 'pending' AND not_before <= $2
			ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
		AND state = 'pending'
		RETURNING `+taskCols, host, now, connectorID, n)
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(out) == 0 {
		// What the read saw went to another node in between, or is
		// locked by a claim that may yet fail: say nothing about later.
		return nil, now, nil
	}
	slices.SortFunc(out, func(a, b baton.Task) int { return strings.Compare(a.ID, b.ID) })
	return out, time.Time{}, nil
}

// BeatTasks records a heartbeat of the connector's running tasks.
func (s *Store) BeatTasks(ctx context.Context, connectorID string, ids []string, now time.Time) ([]baton.Task, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if err := s.exec(ctx, `UPDATE baton_tasks SET heartbeat_at = $1 WHERE connector_id = $2 AND state = 'running' AND id = ANY($3)`,
		now, connectorID, ids); err != nil {
		return nil, err
	}
	return list(ctx, s, scanTask, `SELECT `+taskCols+` FROM baton_tasks WHERE connector_id = $1 AND id = ANY($2) ORDER BY id`, connectorID, ids)
}

// EndTask sets a task's outcome unless it is final already.
func (s *Store) EndTask(ctx context.Context, id string, o baton.Outcome) (baton.Task, bool, error) {
	from := `state = 'running'`
	if o.State == baton.StateCancelled {
		from = `state IN ('pending', 'running')`
	}
	var t baton.Task
	changed := false
	err := s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE baton_tasks SET state = $1, finished_at = $2, error_code = $3, error_message = $4,
			non_retryable = $5, response = $6 WHERE id = $7 AND `+from,
			o.State, o.At, o.ErrorCode, o.ErrorMessage, o.NonRetryable, o.Response, id)
		if err != nil {
			return err
		}
		changed = tag.RowsAffected() == 1
		t, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM baton_tasks WHERE id = $1`, id))
		return err
	})
	return t, changed, err
}

// RequestCancel marks a running task to be cancelled by its next heartbeat.
func (s *Store) RequestCancel(ctx context.Context, id string) (baton.Task, error) {
	var t baton.Task
	err := s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE baton_tasks SET cancel_requested = true WHERE id = $1 AND state = 'running'`, id); err != nil {
			return err
		}
		var err error
		t, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM baton_tasks WHERE id = $1`, id))
		return err
	})
	return t, err
}

// StaleTasks lists running tasks whose last sign of life is before before.
func (s *Store) StaleTasks(ctx context.Context, before time.Time, limit int) ([]baton.Task, error) {
	return list(ctx, s, scanTask, `SELECT `+taskCols+` FROM baton_tasks
		WHERE state = 'running' AND heartbeat_at < $1 ORDER BY heartbeat_at, id LIMIT $2`, before, limitArg(limit))
}

const artifactCols = `task_id, kind, connector_id, key, size, sha256, created_at`

func scanArtifact(row pgx.Row) (baton.Artifact, error) {
	var a baton.Artifact
	if err := row.Scan(&a.TaskID, &a.Kind, &a.ConnectorID, &a.Key, &a.Size, &a.SHA256, &a.CreatedAt); err != nil {
		return baton.Artifact{}, err
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return a, nil
}

// SaveArtifact records an artifact, replacing the task's previous one of
// the same kind.
func (s *Store) SaveArtifact(ctx context.Context, a baton.Artifact) (string, error) {
	var replaced string
	err := s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT key FROM baton_artifacts WHERE task_id = $1 AND kind = $2 FOR UPDATE`, a.TaskID, a.Kind).Scan(&replaced)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO baton_artifacts (`+artifactCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (task_id, kind) DO UPDATE SET key = excluded.key, size = excluded.size, sha256 = excluded.sha256, created_at = excluded.created_at`,
			a.TaskID, a.Kind, a.ConnectorID, a.Key, a.Size, a.SHA256, a.CreatedAt)
		return err
	})
	return replaced, err
}

// GetArtifact returns a task's artifact of the given kind.
func (s *Store) GetArtifact(ctx context.Context, taskID, kind string) (baton.Artifact, error) {
	var a baton.Artifact
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) (err error) {
		a, err = scanArtifact(c.QueryRow(ctx, `SELECT `+artifactCols+` FROM baton_artifacts WHERE task_id = $1 AND kind = $2`, taskID, kind))
		return err
	})
	return a, err
}

const settingsCols = `connector_id, cron, time_zone, next_run_at, disabled_at, updated_at`

func scanSettings(row pgx.Row) (baton.Settings, error) {
	var st baton.Settings
	if err := row.Scan(&st.ConnectorID, &st.Cron, &st.TimeZone, &st.NextRunAt, &st.DisabledAt, &st.UpdatedAt); err != nil {
		return baton.Settings{}, err
	}
	st.NextRunAt, st.DisabledAt, st.UpdatedAt = utc(st.NextRunAt), utc(st.DisabledAt), st.UpdatedAt.UTC()
	return st, nil
}

// GetSettings returns a connector's sync settings; ENotFound if never saved.
func (s *Store) GetSettings(ctx context.Context, connectorID string) (baton.Settings, error) {
	var st baton.Settings
	err := s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) (err error) {
		st, err = scanSettings(c.QueryRow(ctx, `SELECT `+settingsCols+` FROM baton_settings WHERE connector_id = $1`, connectorID))
		return err
	})
	return st, err
}

// SaveSettings inserts or replaces a connector's sync settings and
// announces it to every node (a resume makes pending tasks claimable).
func (s *Store) SaveSettings(ctx context.Context, st baton.Settings) error {
	return s.exec(ctx, `WITH up AS (INSERT INTO baton_settings (`+settingsCols+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (connector_id) DO UPDATE SET cron = excluded.cron, time_zone = excluded.time_zone,
		next_run_at = excluded.next_run_at, disabled_at = excluded.disabled_at, updated_at = excluded.updated_at
		RETURNING connector_id) SELECT pg_notify('`+taskChannel+`', connector_id) FROM up`,
		st.ConnectorID, st.Cron, st.TimeZone, st.NextRunAt, st.DisabledAt, st.UpdatedAt)
}

// DueSchedules lists settings whose next scheduled run has come.
func (s *Store) DueSchedules(ctx context.Context, now time.Time, limit int) ([]baton.Settings, error) {
	return list(ctx, s, scanSettings, `SELECT `+settingsCols+` FROM baton_settings
		WHERE next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at, connector_id LIMIT $2`, now, limitArg(limit))
}
