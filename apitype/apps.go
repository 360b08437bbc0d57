package apitype

import "github.com/conncred/conncred"

// CreateAppRequest is the body of POST /api/v1/apps.
type CreateAppRequest struct {
	DisplayName string `json:"displayName"`
	Description string `json:"description,omitempty"`
}

// Validate reports what is wrong with the request.
func (r *CreateAppRequest) Validate() error {
	if err := checkName("displayName", r.DisplayName, true); err != nil {
		return err
	}
	return checkText("description", r.Description, MaxDescriptionLen)
}

// AppResponse is the body of app create, get and update.
type AppResponse struct {
	App *App `json:"app"`
}

// ListAppsResponse is the body of GET /api/v1/apps.
type ListAppsResponse struct {
	List          []*App `json:"list"`
	NextPageToken string `json:"nextPageToken"`
}

// AppInput carries the fields an update may change.
type AppInput struct {
	DisplayName *string `json:"displayName,omitempty"`
	Description *string `json:"description,omitempty"`
}

// UpdateAppRequest is the body of POST /api/v1/apps/{id}.
type UpdateAppRequest struct {
	App        *AppInput `json:"app"`
	UpdateMask FieldMask `json:"updateMask"`
}

// Validate reports what is wrong with the request.
func (r *UpdateAppRequest) Validate() error {
	if r.App == nil {
		return conncred.Errorf(conncred.EInvalid, "app is required")
	}
	for _, p := range r.UpdateMask {
		switch p {
		case "displayName", "description":
		default:
			return conncred.Errorf(conncred.EInvalid, "updateMask: field %q cannot be updated (allowed: displayName, description)", truncate(p))
		}
	}
	if r.App.DisplayName != nil && r.UpdateMask.Has("displayName") {
		if err := checkName("app.displayName", *r.App.DisplayName, true); err != nil {
			return err
		}
	}
	if r.App.Description != nil {
		if err := checkText("app.description", *r.App.Description, MaxDescriptionLen); err != nil {
			return err
		}
	}
	return nil
}
