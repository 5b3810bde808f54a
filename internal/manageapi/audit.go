package manageapi

import (
	"encoding/json"
	"net/http"

	"github.com/licensor/licensor/internal/licensing"
)

// auditBody is one audit-log entry; before and after are the object's recorded values
// (before is null for a creation, and in api_key.revoke entries written by versions that
// did not record the key's prior state).
type auditBody struct {
	ID         int64           `json:"id"`
	CreatedAt  string          `json:"created_at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   int64           `json:"object_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
}

// listAudit pages through the company's audit log, newest first, optionally filtered
// by object_type, object_id and action. The log has no endpoint that changes it.
func (h *Handler) listAudit(r *http.Request, companyID int64) (int, any, error) {
	pg, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	f := licensing.AuditFilter{Page: pg}
	if f.ObjectType, err = queryText(r, "object_type"); err != nil {
		return 0, nil, err
	}
	if f.Action, err = queryText(r, "action"); err != nil {
		return 0, nil, err
	}
	if f.ObjectID, err = queryID(r, "object_id"); err != nil {
		return 0, nil, err
	}
	es, n, err := h.svc.AuditLog(r.Context(), companyID, f)
	if err != nil {
		return 0, nil, err
	}
	out := make([]auditBody, len(es))
	for i, e := range es {
		out[i] = auditBody{e.ID, drfTime(e.At), e.Actor, e.Action, e.ObjectType, e.ObjectID, nullRaw(e.Before), nullRaw(e.After)}
	}
	return http.StatusOK, paged(r, pg, n, out), nil
}

func nullRaw(b json.RawMessage) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return b
}
