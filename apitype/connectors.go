package apitype

import "github.com/conncred/conncred"

// CreateConnectorRequest is the body of POST /api/v1/apps/{app_id}/connectors
// (CreateDelegated) and of .../connectors/create.
type CreateConnectorRequest struct {
	CatalogID   string   `json:"catalogId,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Description string   `json:"description,omitempty"`
	UserIDs     []string `json:"userIds,omitempty"`
}

// Validate reports what is wrong with the request.
func (r *CreateConnectorRequest) Validate() error {
	if err := checkName("displayName", r.DisplayName, false); err != nil {
		return err
	}
	if err := checkText("description", r.Description, MaxDescriptionLen); err != nil {
		return err
	}
	if err := checkText("catalogId", r.CatalogID, MaxIDLen); err != nil {
		return err
	}
	return checkUserIDs(r.UserIDs)
}

// ConnectorResponse is the body of connector create, get and update.
type ConnectorResponse struct {
	ConnectorView *ConnectorView `json:"connectorView"`
	Expanded      []any          `json:"expanded"`
}

// ListConnectorsResponse is the body of GET /api/v1/apps/{app_id}/connectors.
type ListConnectorsResponse struct {
	List          []*ConnectorView `json:"list"`
	NextPageToken string           `json:"nextPageToken"`
	Expanded      []any            `json:"expanded"`
}

// ConnectorInput carries the fields an update may change.
type ConnectorInput struct {
	DisplayName *string  `json:"displayName,omitempty"`
	Description *string  `json:"description,omitempty"`
	UserIDs     []string `json:"userIds,omitempty"`
}

// UpdateConnectorRequest is the body of POST /api/v1/apps/{app_id}/connectors/{id}.
type UpdateConnectorRequest struct {
	Connector  *ConnectorInput `json:"connector"`
	UpdateMask FieldMask       `json:"updateMask"`
}

// Validate reports what is wrong with the request.
func (r *UpdateConnectorRequest) Validate() error {
	if r.Connector == nil {
		return conncred.Errorf(conncred.EInvalid, "connector is required")
	}
	for _, p := range r.UpdateMask {
		switch p {
		case "displayName", "description", "userIds":
		default:
			return conncred.Errorf(conncred.EInvalid, "updateMask: field %q cannot be updated (allowed: displayName, description, userIds)", truncate(p))
		}
	}
	if r.Connector.DisplayName != nil {
		if err := checkName("connector.displayName", *r.Connector.DisplayName, false); err != nil {
			return err
		}
	}
	if r.Connector.Description != nil {
		if err := checkText("connector.description", *r.Connector.Description, MaxDescriptionLen); err != nil {
			return err
		}
	}
	return checkUserIDs(r.Connector.UserIDs)
}
