package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/internal/artifacthttp"
)

// downloadURLTTL is how long a download_url works.
const downloadURLTTL = 5 * time.Minute

// batonControlRoutes are the official sync control calls and conncred's
// extensions for hosts, tasks, syncs and downloads. They are registered
// whether or not the server runs the BatonService (the route table is the
// same on every server) and answer 503 where it does not.
func (s *Server) batonControlRoutes() {
	const base = "/api/v1/apps/{app_id}/connectors/{connector_id}"
	s.handle("POST "+base+"/force_sync", s.handleForceSync, true)
	s.handle("POST "+base+"/pause", s.handlePauseSync, true)
	s.handle("POST "+base+"/resume", s.handleResumeSync, true)
	s.handle("POST "+base+"/schedule", s.handleSetSchedule, true)
	s.handle("GET "+base+"/sync_status", s.handleSyncStatus, true)
	s.handle("GET "+base+"/hosts", s.handleListHosts, true)
	s.handle("GET "+base+"/tasks", s.handleListTasks, true)
	s.handle("GET "+base+"/syncs", s.handleListSyncs, true)
	s.handle("GET "+base+"/syncs/{sync_id}", s.handleGetSync, true)
	s.handle("GET "+base+"/syncs/{sync_id}/download_url", s.handleDownloadURL, true)
	s.handle("GET "+base+"/syncs/{sync_id}/download", s.handleDownload, true)
	s.handle("GET /api/v1/sync_downloads/{token}", s.handleSignedDownload, false)
}

// batonAdmin clears an admin for a control call (a read: the calls that
// change something also clear ActionControlSyncs), then returns the wing.
func (s *Server) batonAdmin(r *http.Request) (*baton.Service, error) {
	if err := s.auth.Authorize(r.Context(), authority.ActionReadSyncs); err != nil {
		return nil, err
	}
	return s.baton()
}

func (s *Server) baton() (*baton.Service, error) {
	if s.cfg.Baton == nil {
		return nil, conncred.Errorf(conncred.EUnavailable, "this server does not run connector tasks")
	}
	return s.cfg.Baton, nil
}

// readControl authorizes an admin and reads the optional body of a control
// call ({} or nothing).
func (s *Server) readControl(w http.ResponseWriter, r *http.Request, v validator) error {
	if err := s.auth.Authorize(r.Context(), authority.ActionControlSyncs); err != nil {
		return err
	}
	if r.ContentLength == 0 {
		return nil
	}
	return s.readJSON(w, r, authority.ActionControlSyncs, v)
}

type emptyBody struct{}

func (emptyBody) Validate() error { return nil }

func syncStatusView(st baton.Status) apitype.SyncStatusResponse {
	out := apitype.SyncStatusResponse{
		Status:         apitype.ConnectorSyncStatus{Status: st.Status, StartedAt: st.StartedAt, CompletedAt: st.CompletedAt, LastError: st.LastError, UpdatedAt: st.UpdatedAt},
		SyncDisabledAt: st.SyncDisabledAt, CanResumeSync: st.CanResumeSync, NextSyncAt: st.NextRunAt,
	}
	if st.Cron != "" {
		out.Schedule = &apitype.ScheduleCron{CronSpec: st.Cron, Timezone: st.TimeZone}
	}
	return out
}

func (s *Server) handleForceSync(w http.ResponseWriter, r *http.Request) error {
	b, err := s.batonAdmin(r)
	if err != nil {
		return err
	}
	if err := s.readControl(w, r, &emptyBody{}); err != nil {
		return err
	}
	app, conn := r.PathValue("app_id"), r.PathValue("connector_id")
	t, err := b.ForceSync(r.Context(), app, conn)
	if err != nil {
		return err
	}
	st, err := b.Status(r.Context(), app, conn)
	if err != nil {
		return err
	}
	out := syncStatusView(st)
	out.SyncID = t.ID
	return writeJSON(w, out)
}

func (s *Server) handlePauseSync(w http.ResponseWriter, r *http.Request) error {
	return s.pauseOrResume(w, r, true)
}

func (s *Server) handleResumeSync(w http.ResponseWriter, r *http.Request) error {
	return s.pauseOrResume(w, r, false)
}

func (s *Server) pauseOrResume(w http.ResponseWriter, r *http.Request, pause bool) error {
	b, err := s.batonAdmin(r)
	if err != nil {
		return err
	}
	if err := s.readControl(w, r, &emptyBody{}); err != nil {
		return err
	}
	f := b.Resume
	if pause {
		f = b.Pause
	}
	st, err := f(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, syncStatusView(st))
}

func (s *Server) handleSetSchedule(w http.ResponseWriter, r *http.Request) error {
	b, err := s.batonAdmin(r)
	if err != nil {
		return err
	}
	var req apitype.SetScheduleRequest
	if err := s.readJSON(w, r, authority.ActionControlSyncs, &req); err != nil {
		return err
	}
	spec, tz := req.Spec()
	st, err := b.SetSchedule(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"), spec, tz)
	if err != nil {
		return err
	}
	return writeJSON(w, syncStatusView(st))
}

func (s *Server) handleSyncStatus(w http.ResponseWriter, r *http.Request) error {
	b, err := s.batonAdmin(r)
	if err != nil {
		return err
	}
	st, err := b.Status(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, syncStatusView(st))
}

// page reads page_size (default 50, at most 100) and page_token (the last
// id of the previous page).
func page(r *http.Request) (string, int, error) {
	p, err := pageRequest(r)
	if err != nil {
		return "", 0, err
	}
	if p.Size <= 0 || p.Size > 100 {
		p.Size = 50
	}
	return p.Token, p.Size, nil
}

func (s *Server) handleListHosts(w http.ResponseWriter, r *http.Request) error {
	b, err := s.batonAdmin(r)
	if err != nil {
		return err
	}
	after, n, err := page(r)
	if err != nil {
		return err
	}
	hosts, err := b.ListHosts(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"), after, n)
	if err != nil {
		return err
	}
	out := apitype.ListHostsResponse{List: []*apitype.HostView{}}
	for _, h := range hosts {
		out.List = append(out.List, &apitype.HostView{HostID: h.HostID, DisplayName: h.DisplayName, Package: h.Package,
			PackageVersion: h.PackageVersion, LangVersion: h.LangVersion, OS: h.OS, FirstSeenAt: h.FirstSeenAt, LastSeenAt: h.LastSeenAt})
	}
	if len(hosts) == n {
		out.NextPageToken = hosts[n-1].HostID
	}
	return writeJSON(w, out)
}

func syncView(t baton.Task, a *baton.Artifact) *apitype.SyncView {
	v := &apitype.SyncView{ID: t.ID, ConnectorID: t.ConnectorID, State: t.State, Reason: t.Reason, Attempt: t.Attempt, RetryOf: t.RetryOf,
		HostID: t.HostID, CreatedAt: t.CreatedAt, StartedAt: t.StartedAt, HeartbeatAt: t.HeartbeatAt, FinishedAt: t.FinishedAt,
		ErrorCode: t.ErrorCode, ErrorMessage: t.ErrorMessage, Type: t.Type}
	if a != nil && a.Key != "" {
		v.ArtifactSize = &a.Size
		v.ArtifactHash = base64.StdEncoding.EncodeToString(a.SHA256)
	}
	return v
}

func (s *Server) handleListTasks(w http.ResponseWriter, r *http.Request) error {
	return s.listTasks(w, r, false)
}

func (s *Server) handleListSyncs(w http.ResponseWriter, r *http.Request) error {
	return s.listTasks(w, r, true)
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, syncOnly bool) error {
	b, err := s.batonAdmin(r)
	if err != nil {
		return err
	}
	after, n, err := page(r)
	if err != nil {
		return err
	}
	tasks, err := b.ListTasks(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"), syncOnly, after, n)
	if err != nil {
		return err
	}
	arts := make([]baton.Artifact, len(tasks))
	if syncOnly {
		if arts, err = b.Artifacts(r.Context(), tasks); err != nil {
			return err
		}
	}
	out := apitype.ListSyncsResponse{List: []*apitype.SyncView{}}
	for i, t := range tasks {
		out.List = append(out.List, syncView(t, &arts[i]))
	}
	if len(tasks) == n {
		out.NextPageToken = tasks[n-1].ID
	}
	return writeJSON(w, out)
}

func (s *Server) handleGetSync(w http.ResponseWriter, r *http.Request) error {
	b, err := s.batonAdmin(r)
	if err != nil {
		return err
	}
	t, a, err := b.GetSync(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"), r.PathValue("sync_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.SyncResponse{Sync: syncView(t, &a)})
}

// handleDownloadURL answers a URL on this server that downloads the
// sync's .c1z without a token for downloadURLTTL: the URL's HMAC is the
// authorization.
func (s *Server) handleDownloadURL(w http.ResponseWriter, r *http.Request) error {
	b, err := s.batonAdmin(r)
	if err != nil {
		return err
	}
	t, a, err := b.GetSync(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"), r.PathValue("sync_id"))
	if err != nil {
		return err
	}
	if a.Key == "" {
		return conncred.Errorf(conncred.ENotFound, "sync %s has no uploaded artifact", t.ID)
	}
	key, err := s.downloadKey(r, b)
	if err != nil {
		return err
	}
	exp := s.cfg.Clock.Now().Add(downloadURLTTL).Truncate(time.Second)
	tok := signDownload(key, t.ID, exp)
	return writeJSON(w, apitype.DownloadURLResponse{DownloadURL: s.auth.Issuer() + "/api/v1/sync_downloads/" + tok, ExpiresAt: exp.UTC()})
}

func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) error {
	b, err := s.batonAdmin(r)
	if err != nil {
		return err
	}
	_, a, err := b.GetSync(r.Context(), r.PathValue("app_id"), r.PathValue("connector_id"), r.PathValue("sync_id"))
	if err != nil {
		return err
	}
	return artifacthttp.Send(w, r, b, a)
}

func (s *Server) handleSignedDownload(w http.ResponseWriter, r *http.Request) error {
	b, err := s.baton()
	if err != nil {
		return err
	}
	key, err := s.downloadKey(r, b)
	if err != nil {
		return err
	}
	id, ok := s.verifyDownload(key, r.PathValue("token"))
	if !ok {
		return conncred.Errorf(conncred.EPermissionDenied, "this download URL is invalid or expired; ask for a new one with .../syncs/{sync_id}/download_url")
	}
	a, err := b.ArtifactFor(r.Context(), id)
	if err != nil {
		return err
	}
	return artifacthttp.Send(w, r, b, a)
}

// downloadKey is the HMAC key of download URLs: Config.DownloadKey, else
// the wing's key kept in the database, the same on every node.
func (s *Server) downloadKey(r *http.Request, b *baton.Service) ([]byte, error) {
	if len(s.cfg.DownloadKey) > 0 {
		return s.cfg.DownloadKey, nil
	}
	return b.DownloadKey(r.Context())
}

func signDownload(key []byte, id string, exp time.Time) string {
	msg := id + "." + strconv.FormatInt(exp.Unix(), 10)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return msg + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) verifyDownload(key []byte, tok string) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || s.cfg.Clock.Now().Unix() >= exp {
		return "", false
	}
	want := signDownload(key, parts[0], time.Unix(exp, 0))
	if !hmac.Equal([]byte(want), []byte(tok)) {
		return "", false
	}
	return parts[0], true
}
