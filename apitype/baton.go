package apitype

import (
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
	Schedule       *ScheduleCron       `json:"schedule,omitempty"`
	NextSyncAt     *time.Time          `json:"nextSyncAt,omitempty"`
	SyncID         string              `json:"syncId,omitempty"` // the sync force_sync started
}

// ScheduleCron is a cron spec and the IANA time zone it is read in, as the
// official API's ConnectorScheduleCron names them.
type ScheduleCron struct {
	CronSpec string `json:"cronSpec"`
	Timezone string `json:"timezone,omitempty"`
}

// SetScheduleRequest is the body of POST .../schedule, the official
// UpdateConnectorScheduleRequest: {"cron": {"cronSpec", "timezone"}} (a
// oneof with cron as its only member). A missing cron or an empty
// cronSpec removes the schedule.
type SetScheduleRequest struct {
	Cron *ScheduleCron `json:"cron,omitempty"`
}

// Spec returns the cron spec and time zone ("" when none).
func (r *SetScheduleRequest) Spec() (spec, tz string) {
	if r.Cron == nil {
		return "", ""
	}
	return r.Cron.CronSpec, r.Cron.Timezone
}

// Validate reports what is wrong with the request.
func (r *SetScheduleRequest) Validate() error {
	spec, tz := r.Spec()
	if len(spec) > 200 || !utf8.ValidString(spec) || len(tz) > 100 || !utf8.ValidString(tz) {
		return conncred.Errorf(conncred.EInvalid, "cron.cronSpec must be at most 200 and cron.timezone at most 100 characters")
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
