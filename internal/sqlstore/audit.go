package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/licensor/licensor/internal/licensing"
)

func nullJSON(b json.RawMessage) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// insertAudit, with auditInsertCols values per row from appendAudit, is the INSERT of
// AppendAudit and AppendAudits.
const (
	insertAudit     = `INSERT INTO audit_log (company_id, created_at, actor, action, object_type, object_id, before_value, after_value)`
	auditInsertCols = 8
)

var insertOneAudit = insertAudit + " VALUES " + placeholders(1, auditInsertCols, false)

func appendAudit(args []any, e *licensing.AuditEntry) []any {
	return append(args, e.CompanyID, ms(e.At), e.Actor, e.Action, e.ObjectType, e.ObjectID, nullJSON(e.Before), nullJSON(e.After))
}

func (t *Tx) AppendAudit(ctx context.Context, e *licensing.AuditEntry) (err error) {
	e.ID, err = t.insert(ctx, insertOneAudit, appendAudit(make([]any, 0, auditInsertCols), e)...)
	return err
}

const auditCols = `id, company_id, created_at, actor, action, object_type, object_id, before_value, after_value`

func scanAudit(r interface{ Scan(...any) error }) (licensing.AuditEntry, error) {
	var e licensing.AuditEntry
	var at int64
	var before, after sql.NullString
	err := r.Scan(&e.ID, &e.CompanyID, &at, &e.Actor, &e.Action, &e.ObjectType, &e.ObjectID, &before, &after)
	e.At = fromMS(at)
	if before.Valid {
		e.Before = json.RawMessage(before.String)
	}
	if after.Valid {
		e.After = json.RawMessage(after.String)
	}
	return e, err
}

func (t *Tx) ListAudit(ctx context.Context, companyID int64, f licensing.AuditFilter) ([]licensing.AuditEntry, int64, error) {
	w := scopedTo("company_id", companyID)
	if f.ObjectType != "" {
		w.add("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != 0 {
		w.add("object_id = ?", f.ObjectID)
	}
	if f.Action != "" {
		w.add("action = ?", f.Action)
	}
	return listPage(ctx, t, auditCols, "audit_log", w, "id DESC", f.Page, scanAudit)
}
