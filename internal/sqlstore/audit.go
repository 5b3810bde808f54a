package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/licensor/licensor/internal/licensing"
)

func nullJSON(b json.RawMessage) any {
	if b == nil {
		return nil
	}
	return string(b)
}

func (t *Tx) AppendAudit(ctx context.Context, e *licensing.AuditEntry) (err error) {
	e.ID, err = t.insert(ctx, `INSERT INTO audit_log (company_id, created_at, actor, action, object_type, object_id, before_value, after_value)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.CompanyID, ms(e.At), e.Actor, e.Action, e.ObjectType, e.ObjectID, nullJSON(e.Before), nullJSON(e.After))
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
	where := []string{"company_id = $1"}
	args := []any{companyID}
	if f.ObjectType != "" {
		args = append(args, f.ObjectType)
		where = append(where, fmt.Sprintf("object_type = $%d", len(args)))
	}
	if f.ObjectID != 0 {
		args = append(args, f.ObjectID)
		where = append(where, fmt.Sprintf("object_id = $%d", len(args)))
	}
	if f.Action != "" {
		args = append(args, f.Action)
		where = append(where, fmt.Sprintf("action = $%d", len(args)))
	}
	cond := strings.Join(where, " AND ")
	var n int64
	if err := t.Q.QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE `+cond, args...).Scan(&n); err != nil {
		return nil, 0, err
	}
	lim, off := limitOffset(f.Page)
	args = append(args, lim, off)
	rows, err := t.Q.QueryContext(ctx, fmt.Sprintf(`SELECT `+auditCols+` FROM audit_log WHERE `+cond+` ORDER BY id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, err
	}
	es, err := collect(rows, scanAudit)
	return es, n, err
}
