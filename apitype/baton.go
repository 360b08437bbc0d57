package apitype

import (
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/conncred/conncred"
)

// ConnectorSyncStatus is a connector's sync status, as the official API's
// connector record carries it in "status".
type ConnectorSyncStatus struct {
	Status      string     `json:"status"`
	StartedAt   *time.Time `json:"startedAt,omitempty"`
	CompletedAt *time.Time `json:"completedAt,omitempty"`
	LastError   string     `json:"lastError,omitempty"`
	UpdatedAt   *time.Time `json:"updatedAt,omitempty"`
}

// SyncStatusResponse is the body of the sync control calls (force_sync,
// pause, resume, schedule) and of GET .../sync_status (conncred).
type SyncStatusResponse struct {
	Status         ConnectorSyncStatus `json:"status"`
	SyncDisabledAt *time.Time          `json:"syncDisabledAt,omitempty"`
	CanResumeSync  bool                `json:"canResumeSync"`
	Schedule       *SyncSchedule       `json:"schedule,omitempty"`
	NextSyncAt     *time.Time          `json:"nextSyncAt,omitempty"`
	SyncID         string              `json:"syncId,omitempty"` // the sync force_sync started
}

// SyncSchedule is a cron spec and the time zone it is read in.
type SyncSchedule struct {
	Cron     string `json:"cron"`
	TimeZone string `json:"timeZone,omitempty"`
}

// SetScheduleRequest is the body of POST .../schedule. The official API
// (the Go SDK's UpdateConnectorScheduleRequest) nests the spec:
// {"cron":{"cronSpec":"0 3 * * *","timezone":"Europe/Berlin"}}; conncred's
// first, flat form {"cron":"0 3 * * *","timeZone":"Europe/Berlin"} is still
// read. An empty or absent cron ({} is what the SDK sends without one)
// removes the schedule.
type SetScheduleRequest struct {
	Cron     ScheduleCron `json:"cron"`
	TimeZone string       `json:"timeZone,omitempty"`
}

// ScheduleCron is the request's "cron": the official object or a bare spec.
type ScheduleCron struct {
	Spec     string
	TimeZone string // only from the object form
}

// UnmarshalJSON accepts null, a spec string, and the official object
// {"cronSpec","timezone"} (cron_spec as protobuf's JSON also allows).
func (c *ScheduleCron) UnmarshalJSON(b []byte) error {
	*c = ScheduleCron{}
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &c.Spec); err == nil {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return conncred.Errorf(conncred.EInvalid, `cron must be an object {"cronSpec":"0 3 * * *","timezone":"Europe/Berlin"} or a cron spec string`)
	}
	for k, v := range fields {
		var dst *string
		switch k {
		case "cronSpec", "cron_spec":
			dst = &c.Spec
		case "timezone", "timeZone", "time_zone":
			dst = &c.TimeZone
		default:
			return conncred.Errorf(conncred.EInvalid, "cron has no field %q; it takes cronSpec and timezone", truncate(k))
		}
		if string(v) == "null" {
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return conncred.Errorf(conncred.EInvalid, "cron.%s must be a string", k)
		}
	}
	return nil
}

// Schedule returns the cron spec and its time zone, from whichever form
// the request used.
func (r *SetScheduleRequest) Schedule() (spec, timeZone string) {
	if r.Cron.TimeZone != "" {
		return r.Cron.Spec, r.Cron.TimeZone
	}
	return r.Cron.Spec, r.TimeZone
}

// Validate reports what is wrong with the request.
func (r *SetScheduleRequest) Validate() error {
	if r.Cron.TimeZone != "" && r.TimeZone != "" && r.Cron.TimeZone != r.TimeZone {
		return conncred.Errorf(conncred.EInvalid, "cron.timezone %q and timeZone %q disagree; give the time zone once", truncate(r.Cron.TimeZone), truncate(r.TimeZone))
	}
	spec, tz := r.Schedule()
	if len(spec) > 200 || !utf8.ValidString(spec) || len(tz) > 100 || !utf8.ValidString(tz) {
		return conncred.Errorf(conncred.EInvalid, "cron must be at most 200 and timeZone at most 100 characters")
	}
	return nil
}

// SyncView is one sync (a sync_full task) of a connector.
type SyncView struct {
	ID           string     `json:"id"`
	ConnectorID  string     `json:"connectorId"`
	State        string     `json:"state"`
	Reason       string     `json:"reason,omitempty"`
	Attempt      int        `json:"attempt"`
	RetryOf      string     `json:"retryOf,omitempty"`
	HostID       string     `json:"hostId,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	StartedAt    *time.Time `json:"startedAt,omitempty"`
	HeartbeatAt  *time.Time `json:"heartbeatAt,omitempty"`
	FinishedAt   *time.Time `json:"finishedAt,omitempty"`
	ErrorCode    int        `json:"errorCode,omitempty"`
	ErrorMessage string     `json:"errorMessage,omitempty"`
	Type         string     `json:"type"`
	ArtifactSize *int64     `json:"artifactSize,omitempty"`
	ArtifactHash string     `json:"artifactSha256,omitempty"`
}

// ListSyncsResponse is a page of syncs or tasks.
type ListSyncsResponse struct {
	List          []*SyncView `json:"list"`
	NextPageToken string      `json:"nextPageToken"`
}

// SyncResponse is one sync.
type SyncResponse struct {
	Sync *SyncView `json:"sync"`
}

// HostView is one host a connector runs on.
type HostView struct {
	HostID         string    `json:"hostId"`
	DisplayName    string    `json:"displayName,omitempty"`
	Package        string    `json:"package,omitempty"`
	PackageVersion string    `json:"packageVersion,omitempty"`
	LangVersion    string    `json:"langVersion,omitempty"`
	OS             any       `json:"osInfo"`
	FirstSeenAt    time.Time `json:"firstSeenAt"`
	LastSeenAt     time.Time `json:"lastSeenAt"`
}

// ListHostsResponse is a page of hosts.
type ListHostsResponse struct {
	List          []*HostView `json:"list"`
	NextPageToken string      `json:"nextPageToken"`
}

// DownloadURLResponse is the body of GET .../syncs/{sync_id}/download_url.
type DownloadURLResponse struct {
	DownloadURL string    `json:"downloadUrl"`
	ExpiresAt   time.Time `json:"expiresAt"`
}
