package webconsole

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/internal/artifacthttp"
)

// syncRoutes are the connector page's baton controls: force sync, pause,
// resume, the schedule, and a sync's download. They call package baton as
// server/baton_control.go does.
func (c *Console) syncRoutes(conn string) {
	c.handle("POST "+conn+"/force-sync", c.syncControl(func(b *baton.Service, r *http.Request, app, cn string) (string, error) {
		_, err := b.ForceSync(r.Context(), app, cn)
		return "sync-forced", err
	}))
	c.handle("POST "+conn+"/pause", c.syncControl(func(b *baton.Service, r *http.Request, app, cn string) (string, error) {
		_, err := b.Pause(r.Context(), app, cn)
		return "sync-paused", err
	}))
	c.handle("POST "+conn+"/resume", c.syncControl(func(b *baton.Service, r *http.Request, app, cn string) (string, error) {
		_, err := b.Resume(r.Context(), app, cn)
		return "sync-resumed", err
	}))
	c.handle("POST "+conn+"/schedule", c.syncControl(func(b *baton.Service, r *http.Request, app, cn string) (string, error) {
		req := apitype.SetScheduleRequest{Cron: &apitype.ScheduleCron{CronSpec: strings.TrimSpace(r.PostForm.Get("cron")), Timezone: strings.TrimSpace(r.PostForm.Get("timezone"))}}
		if err := req.Validate(); err != nil {
			return "", err
		}
		spec, tz := req.Spec()
		_, err := b.SetSchedule(r.Context(), app, cn, spec, tz)
		return "schedule-set", err
	}))
	c.handle("GET "+conn+"/syncs/{sync}/download", c.syncDownload)
}

// syncControl runs one control action and redirects back to the connector
// page; a refusal the admin can fix (paused, a sync already running, a
// bad cron spec) is shown on that page.
func (c *Console) syncControl(act func(b *baton.Service, r *http.Request, appID, connID string) (string, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		b, err := c.baton(r)
		if err != nil {
			return err
		}
		if err := readForm(w, r); err != nil {
			return err
		}
		appID, connID := r.PathValue("app"), r.PathValue("conn")
		done, err := act(b, r, appID, connID)
		if err != nil {
			switch conncred.ErrorCode(err) {
			case conncred.EInvalid, conncred.EConflict:
				v, verr := c.connectorView(r)
				if verr != nil {
					return verr
				}
				return c.render(w, r, http.StatusBadRequest, "connector", page{Title: connectorTitle(v), Nav: "apps", Error: formError("Not done", err), Data: v})
			}
			return err
		}
		http.Redirect(w, r, connectorPath(appID, connID)+"?done="+done+"#syncs", http.StatusSeeOther)
		return nil
	}
}

// baton clears the principal for sync control, as the API does, and
// returns the wing.
func (c *Console) baton(r *http.Request) (*baton.Service, error) {
	if err := c.cfg.Auth.Authorize(r.Context(), authority.ActionControlSyncs); err != nil {
		return nil, err
	}
	if c.cfg.Baton == nil {
		return nil, conncred.Errorf(conncred.EUnavailable, "this server does not run connector tasks (the baton wing is off).")
	}
	return c.cfg.Baton, nil
}

// syncView is the connector page's hosts, syncs, tasks and schedule.
type syncView struct {
	Status        string
	Paused        *timeView
	CanResume     bool
	LastError     string
	Cron, TZ      string
	NextRun       *timeView
	StartedAt     *timeView
	CompletedAt   *timeView
	Hosts         []hostView
	Syncs         []taskView
	Tasks         []taskView
	ConnectorPath string
}

type hostView struct {
	ID, Name, Package, Version, OS string
	FirstSeen, LastSeen            *timeView // LastSeen: the last Hello
}

type taskView struct {
	ID, Type, State, Reason, Error, Host  string
	Attempt                               int
	Created, Started, Heartbeat, Finished *timeView
	Download                              string // the download link, for a sync with an artifact
	Size                                  string
}

// syncListSize is how many hosts, syncs and tasks the connector page shows.
const syncListSize = 20

func (c *Console) syncView(r *http.Request, appID, connID string) (syncView, error) {
	ctx, b := r.Context(), c.cfg.Baton
	now := c.cfg.Clock.Now()
	st, err := b.Status(ctx, appID, connID)
	if err != nil {
		return syncView{}, err
	}
	v := syncView{Status: st.Status, Paused: tvp(st.SyncDisabledAt), CanResume: st.CanResumeSync, LastError: st.LastError,
		Cron: st.Cron, TZ: st.TimeZone, NextRun: tvp(st.NextRunAt), StartedAt: tvp(st.StartedAt), CompletedAt: tvp(st.CompletedAt),
		ConnectorPath: connectorPath(appID, connID)}
	hosts, err := b.ListHosts(ctx, appID, connID, "", syncListSize)
	if err != nil {
		return syncView{}, err
	}
	for _, h := range hosts {
		osName := strings.TrimSpace(h.OS.Platform + " " + h.OS.PlatformVersion)
		if osName == "" {
			osName = h.OS.OS
		}
		v.Hosts = append(v.Hosts, hostView{ID: h.HostID, Name: h.DisplayName, Package: h.Package, Version: h.PackageVersion, OS: osName,
			FirstSeen: tv(h.FirstSeenAt), LastSeen: relTime(now, &h.LastSeenAt)})
	}
	syncs, err := b.ListTasks(ctx, appID, connID, true, "", syncListSize)
	if err != nil {
		return syncView{}, err
	}
	arts, err := b.Artifacts(ctx, syncs)
	if err != nil {
		return syncView{}, err
	}
	for i, t := range syncs {
		tvw := viewTask(t)
		if arts[i].Key != "" {
			tvw.Download = connectorPath(appID, connID) + "/syncs/" + t.ID + "/download"
			tvw.Size = byteSize(arts[i].Size)
		}
		v.Syncs = append(v.Syncs, tvw)
	}
	tasks, err := b.ListTasks(ctx, appID, connID, false, "", syncListSize)
	if err != nil {
		return syncView{}, err
	}
	for _, t := range tasks {
		v.Tasks = append(v.Tasks, viewTask(t))
	}
	return v, nil
}

func viewTask(t baton.Task) taskView {
	return taskView{ID: t.ID, Type: t.Type, State: t.State, Reason: t.Reason, Error: t.ErrorMessage, Host: t.HostID, Attempt: t.Attempt,
		Created: tv(t.CreatedAt), Started: tvp(t.StartedAt), Heartbeat: tvp(t.HeartbeatAt), Finished: tvp(t.FinishedAt)}
}

// byteSize is n in the largest binary unit that keeps it at least 1.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + string("KMGTPE"[exp]) + "iB"
}

// syncDownload streams a sync's .c1z, as the API's .../download does.
func (c *Console) syncDownload(w http.ResponseWriter, r *http.Request) error {
	b, err := c.baton(r)
	if err != nil {
		return err
	}
	t, a, err := b.GetSync(r.Context(), r.PathValue("app"), r.PathValue("conn"), r.PathValue("sync"))
	if err != nil {
		return err
	}
	if a.Key == "" {
		return conncred.Errorf(conncred.ENotFound, "sync %s has no uploaded file yet; it appears once the connector uploads it", t.ID)
	}
	return artifacthttp.Send(w, r, b, a)
}
