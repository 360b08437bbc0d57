package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/conncred/conncred/baton"
)

var _ baton.Store = (*Store)(nil)

const hostCols = `connector_id, host_id, display_name, description, package, package_version, lang_version, os_info, first_seen_us, last_seen_us`

func scanHost(row scanner) (baton.Host, error) {
	var h baton.Host
	var osInfo string
	var first, last int64
	if err := row.Scan(&h.ConnectorID, &h.HostID, &h.DisplayName, &h.Description, &h.Package, &h.PackageVersion, &h.LangVersion, &osInfo, &first, &last); err != nil {
		return baton.Host{}, err
	}
	if err := json.Unmarshal([]byte(osInfo), &h.OS); err != nil {
		return baton.Host{}, err
	}
	h.FirstSeenAt, h.LastSeenAt = fromUS(first), fromUS(last)
	return h, nil
}

// SaveHost inserts a host or updates all but its first-seen time.
func (s *Store) SaveHost(ctx context.Context, h baton.Host) error {
	osInfo, _ := json.Marshal(h.OS) // a struct of strings always encodes
	_, err := s.w.ExecContext(ctx, `INSERT INTO baton_hosts (`+hostCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (connector_id, host_id) DO UPDATE SET display_name = excluded.display_name,
		description = excluded.description, package = excluded.package, package_version = excluded.package_version,
		lang_version = excluded.lang_version, os_info = excluded.os_info, last_seen_us = excluded.last_seen_us`,
		h.ConnectorID, h.HostID, h.DisplayName, h.Description, h.Package, h.PackageVersion, h.LangVersion, string(osInfo),
		us(h.FirstSeenAt), us(h.LastSeenAt))
	return dbErr(err)
}

// ListHosts returns a page of a connector's hosts in host id order.
func (s *Store) ListHosts(ctx context.Context, connectorID, after string, limit int) ([]baton.Host, error) {
	return queryAll(ctx, s.r, scanHost, `SELECT `+hostCols+` FROM baton_hosts WHERE connector_id = ? AND host_id > ? ORDER BY host_id LIMIT ?`,
		connectorID, after, pageLimit(limit))
}

const taskCols = `id, connector_id, app_id, type, state, attempt, retry_of, reason, host_id, created_us, not_before_us,
	started_us, heartbeat_us, finished_us, cancel_requested, error_code, error_message, non_retryable, response`

func scanTask(row scanner) (baton.Task, error) {
	var t baton.Task
	var created, notBefore int64
	var started, beat, finished sql.NullInt64
	if err := row.Scan(&t.ID, &t.ConnectorID, &t.AppID, &t.Type, &t.State, &t.Attempt, &t.RetryOf, &t.Reason, &t.HostID,
		&created, &notBefore, &started, &beat, &finished, &t.CancelRequested, &t.ErrorCode, &t.ErrorMessage, &t.NonRetryable, &t.Response); err != nil {
		return baton.Task{}, err
	}
	t.CreatedAt, t.NotBefore = fromUS(created), fromUS(notBefore)
	t.StartedAt, t.HeartbeatAt, t.FinishedAt = fromNullUS(started), fromNullUS(beat), fromNullUS(finished)
	return t, nil
}

// CreateTask inserts a pending task; a second live sync of a connector
// fails the baton_tasks_one_sync index: EConflict.
func (s *Store) CreateTask(ctx context.Context, t baton.Task) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO baton_tasks (`+taskCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.ConnectorID, t.AppID, t.Type, t.State, t.Attempt, t.RetryOf, t.Reason, t.HostID, us(t.CreatedAt), us(t.NotBefore),
		usPtr(t.StartedAt), usPtr(t.HeartbeatAt), usPtr(t.FinishedAt), t.CancelRequested, t.ErrorCode, t.ErrorMessage, t.NonRetryable, t.Response)
	return dbErr(err)
}

// GetTask returns a task.
func (s *Store) GetTask(ctx context.Context, id string) (baton.Task, error) {
	t, err := scanTask(s.r.QueryRowContext(ctx, `SELECT `+taskCols+` FROM baton_tasks WHERE id = ?`, id))
	return t, dbErr(err)
}

// ListTasks returns a page of tasks matching f.
func (s *Store) ListTasks(ctx context.Context, f baton.TaskFilter) ([]baton.Task, error) {
	where, args := taskWhere(f)
	order := "id"
	if f.Descending {
		order = "id DESC"
	}
	return queryAll(ctx, s.r, scanTask, `SELECT `+taskCols+` FROM baton_tasks WHERE `+where+` ORDER BY `+order+` LIMIT ?`,
		append(args, pageLimit(f.Limit))...)
}

func taskWhere(f baton.TaskFilter) (string, []any) {
	conds := []string{"1 = 1"}
	var args []any
	if f.ConnectorID != "" {
		conds, args = append(conds, "connector_id = ?"), append(args, f.ConnectorID)
	}
	if f.Type != "" {
		conds, args = append(conds, "type = ?"), append(args, f.Type)
	}
	if len(f.States) > 0 {
		conds = append(conds, "state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")")
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	if f.After != "" {
		if f.Descending {
			conds, args = append(conds, "id < ?"), append(args, f.After)
		} else {
			conds, args = append(conds, "id > ?"), append(args, f.After)
		}
	}
	return strings.Join(conds, " AND "), args
}

// ClaimTasks hands out pending tasks. SQLite has one writer, and the write
// transaction begins IMMEDIATE, so the select and the update cannot
// interleave with another claim.
//
// Almost every poll finds nothing, so a read on the read pool (which never
// waits for the writer) answers those, and only a poll that saw a task
// takes the write lock: measured, an empty poll went from a write
// transaction to one indexed read. The same read gives the earliest
// NotBefore, the next a poll that claims nothing reports.
func (s *Store) ClaimTasks(ctx context.Context, connectorID, host string, now time.Time, n int) ([]baton.Task, time.Time, error) {
	var first sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT MIN(not_before_us) FROM baton_tasks WHERE connector_id = ? AND state = 'pending'`,
		connectorID).Scan(&first)
	switch {
	case err != nil:
		return nil, time.Time{}, dbErr(err)
	case !first.Valid:
		return nil, time.Time{}, nil
	case first.Int64 > us(now):
		return nil, fromUS(first.Int64), nil
	}
	var out []baton.Task
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryAll(ctx, tx, scanTask, `UPDATE baton_tasks SET state = 'running', host_id = ?1, started_us = ?2, heartbeat_us = ?2
			WHERE id IN (SELECT id FROM baton_tasks WHERE connector_id = ?3 AND state = 'pending' AND not_before_us <= ?2 ORDER BY id LIMIT ?4)
			RETURNING `+taskCols, host, us(now), connectorID, n)
		return err
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	sortTasks(out)
	if len(out) == 0 {
		// What the read saw went to another caller in between.
		return nil, now, nil
	}
	return out, time.Time{}, nil
}

// BeatTasks records a heartbeat of the connector's running tasks.
func (s *Store) BeatTasks(ctx context.Context, connectorID string, ids []string, now time.Time) ([]baton.Task, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	in := "?" + strings.Repeat(", ?", len(ids)-1)
	args := []any{us(now), connectorID}
	for _, id := range ids {
		args = append(args, id)
	}
	var out []baton.Task
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE baton_tasks SET heartbeat_us = ? WHERE connector_id = ? AND state = 'running' AND id IN (`+in+`)`, args...); err != nil {
			return err
		}
		var err error
		out, err = queryAll(ctx, tx, scanTask, `SELECT `+taskCols+` FROM baton_tasks WHERE connector_id = ? AND id IN (`+in+`) ORDER BY id`, args[1:]...)
		return err
	})
	return out, err
}

// EndTask sets a task's outcome unless it is final already.
func (s *Store) EndTask(ctx context.Context, id string, o baton.Outcome) (baton.Task, bool, error) {
	var t baton.Task
	changed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		from := `state = 'running'`
		if o.State == baton.StateCancelled {
			from = `state IN ('pending', 'running')`
		}
		res, err := tx.ExecContext(ctx, `UPDATE baton_tasks SET state = ?, finished_us = ?, error_code = ?, error_message = ?,
			non_retryable = ?, response = ? WHERE id = ? AND `+from,
			o.State, us(o.At), o.ErrorCode, o.ErrorMessage, o.NonRetryable, o.Response, id)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		changed = n == 1
		t, err = scanTask(tx.QueryRowContext(ctx, `SELECT `+taskCols+` FROM baton_tasks WHERE id = ?`, id))
		return err
	})
	return t, changed, err
}

// RequestCancel marks a running task to be cancelled by its next heartbeat.
func (s *Store) RequestCancel(ctx context.Context, id string) (baton.Task, error) {
	var t baton.Task
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE baton_tasks SET cancel_requested = 1 WHERE id = ? AND state = 'running'`, id); err != nil {
			return err
		}
		var err error
		t, err = scanTask(tx.QueryRowContext(ctx, `SELECT `+taskCols+` FROM baton_tasks WHERE id = ?`, id))
		return err
	})
	return t, err
}

// StaleTasks lists running tasks whose last sign of life is before before.
func (s *Store) StaleTasks(ctx context.Context, before time.Time, limit int) ([]baton.Task, error) {
	return queryAll(ctx, s.r, scanTask, `SELECT `+taskCols+` FROM baton_tasks
		WHERE state = 'running' AND heartbeat_us < ? ORDER BY heartbeat_us, id LIMIT ?`, us(before), pageLimit(limit))
}

const artifactCols = `task_id, kind, connector_id, key, size, sha256, created_us`

func scanArtifact(row scanner) (baton.Artifact, error) {
	var a baton.Artifact
	var created int64
	if err := row.Scan(&a.TaskID, &a.Kind, &a.ConnectorID, &a.Key, &a.Size, &a.SHA256, &created); err != nil {
		return baton.Artifact{}, err
	}
	a.CreatedAt = fromUS(created)
	return a, nil
}

// SaveArtifact records an artifact, replacing the task's previous one of
// the same kind.
func (s *Store) SaveArtifact(ctx context.Context, a baton.Artifact) (string, error) {
	var replaced string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT key FROM baton_artifacts WHERE task_id = ? AND kind = ?`, a.TaskID, a.Kind).Scan(&replaced)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO baton_artifacts (`+artifactCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (task_id, kind) DO UPDATE SET key = excluded.key, size = excluded.size, sha256 = excluded.sha256, created_us = excluded.created_us`,
			a.TaskID, a.Kind, a.ConnectorID, a.Key, a.Size, a.SHA256, us(a.CreatedAt))
		return err
	})
	return replaced, err
}

// GetArtifact returns a task's artifact of the given kind.
func (s *Store) GetArtifact(ctx context.Context, taskID, kind string) (baton.Artifact, error) {
	a, err := scanArtifact(s.r.QueryRowContext(ctx, `SELECT `+artifactCols+` FROM baton_artifacts WHERE task_id = ? AND kind = ?`, taskID, kind))
	return a, dbErr(err)
}

const settingsCols = `connector_id, cron, time_zone, next_run_us, disabled_us, updated_us`

func scanSettings(row scanner) (baton.Settings, error) {
	var st baton.Settings
	var next, disabled sql.NullInt64
	var updated int64
	if err := row.Scan(&st.ConnectorID, &st.Cron, &st.TimeZone, &next, &disabled, &updated); err != nil {
		return baton.Settings{}, err
	}
	st.NextRunAt, st.DisabledAt, st.UpdatedAt = fromNullUS(next), fromNullUS(disabled), fromUS(updated)
	return st, nil
}

// GetSettings returns a connector's sync settings; ENotFound if never saved.
func (s *Store) GetSettings(ctx context.Context, connectorID string) (baton.Settings, error) {
	st, err := scanSettings(s.r.QueryRowContext(ctx, `SELECT `+settingsCols+` FROM baton_settings WHERE connector_id = ?`, connectorID))
	return st, dbErr(err)
}

// SaveSettings inserts or replaces a connector's sync settings.
func (s *Store) SaveSettings(ctx context.Context, st baton.Settings) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO baton_settings (`+settingsCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (connector_id) DO UPDATE SET cron = excluded.cron, time_zone = excluded.time_zone,
		next_run_us = excluded.next_run_us, disabled_us = excluded.disabled_us, updated_us = excluded.updated_us`,
		st.ConnectorID, st.Cron, st.TimeZone, usPtr(st.NextRunAt), usPtr(st.DisabledAt), us(st.UpdatedAt))
	return dbErr(err)
}

// DueSchedules lists settings whose next scheduled run has come.
func (s *Store) DueSchedules(ctx context.Context, now time.Time, limit int) ([]baton.Settings, error) {
	return queryAll(ctx, s.r, scanSettings, `SELECT `+settingsCols+` FROM baton_settings
		WHERE next_run_us IS NOT NULL AND next_run_us <= ? ORDER BY next_run_us, connector_id LIMIT ?`, us(now), pageLimit(limit))
}

// sortTasks orders claimed tasks by id: RETURNING gives no order.
func sortTasks(ts []baton.Task) {
	slices.SortFunc(ts, func(a, b baton.Task) int { return strings.Compare(a.ID, b.ID) })
}
