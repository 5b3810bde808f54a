// Package copydb moves a whole licensor installation from one database to another
// (typically the embedded SQLite file into PostgreSQL) in one consistent pass: a single
// read transaction on the source, a single write transaction on the target, ids kept.
package copydb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// table lists a table's columns in insert order; bools are 0/1 in SQLite and BOOLEAN in
// PostgreSQL, so they are converted on the way.
type table struct {
	name  string
	cols  []string
	bools map[string]bool
	// key orders the copy; "" means the identity column id (whose PostgreSQL sequence
	// is moved past the copied ids).
	key string
}

// Name is the table's name.
func (t table) Name() string { return t.name }

// OrderBy is the columns that order the table's rows.
func (t table) OrderBy() string {
	if t.key == "" {
		return "id"
	}
	return t.key
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Tables in foreign-key order. Adding a column to a migration means adding it here; the
// copy test compares every column of every row, so a missing one fails it.
var Tables = []table{
	{"companies", []string{"id", "name", "signing_key_pem", "public_key_pem", "created_at"}, nil, ""},
	{"api_keys", []string{"id", "company_id", "api_key", "shared_key", "read_only", "revoked", "created_at"}, set("read_only", "revoked"), ""},
	{"management_keys", []string{"id", "company_id", "prefix", "secret_hash", "revoked", "created_at"}, set("revoked"), ""},
	{"products", []string{"id", "company_id", "name", "short_code", "authorization_method", "created_at", "updated_at"}, nil, ""},
	{"orders", []string{"id", "company_id", "store_id", "customer_email", "created_at"}, nil, ""},
	{"licenses", []string{"id", "company_id", "product_id", "order_id", "license_key", "license_type", "enabled", "active", "is_trial",
		"max_activations", "allow_unlimited_activations", "times_activated", "transfer_count", "validity_period", "created_at", "updated_at"},
		set("enabled", "active", "is_trial", "allow_unlimited_activations"), ""},
	{"license_users", []string{"id", "company_id", "license_id", "email", "password_hash", "created_at"}, nil, ""},
	{"devices", []string{"id", "company_id", "license_id", "license_user_id", "hardware_id", "active", "blacklisted", "os_ver", "hostname",
		"ip", "external_ip", "mac_address", "app_ver", "sdk_ver", "is_vm", "vm_info", "time_activated", "time_deactivated",
		"created_at", "updated_at", "memo_license_digest", "memo_license_sig", "memo_check_digest", "memo_check_sig", "memo_track_digest",
		"memo_track_sig", "memo_variables_digest", "memo_variables_sig", "transfer_pending"},
		set("active", "blacklisted", "is_vm", "transfer_pending"), ""},
	{"device_checks", []string{"device_id", "last_check"}, nil, "device_id"},
	{"device_variables", []string{"id", "device_id", "name", "value", "created_at"}, nil, ""},
	{"audit_log", []string{"id", "company_id", "created_at", "actor", "action", "object_type", "object_id", "before_value", "after_value"}, nil, ""},
}

// Target says how to finish a copy on the target engine.
type Target struct {
	DB *sql.DB
	// ResetSequences runs after the rows are in (PostgreSQL: move identity sequences past
	// the copied ids).
	Postgres bool
}

// Copy copies every row of every table from src into the empty target and returns the
// number of rows per table. A non-empty target is refused and nothing is written.
func Copy(ctx context.Context, src *sql.DB, dst Target) (map[string]int64, error) {
	rtx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	defer rtx.Rollback()
	wtx, err := dst.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	defer wtx.Rollback()
	for _, t := range Tables {
		var n int64
		if err := wtx.QueryRowContext(ctx, "SELECT count(*) FROM "+t.name).Scan(&n); err != nil {
			return nil, fmt.Errorf("target: %s: %w", t.name, err)
		}
		if n > 0 {
			return nil, fmt.Errorf("target is not empty (%s has %d rows): copy only into a new database", t.name, n)
		}
	}
	counts := map[string]int64{}
	for _, t := range Tables {
		n, err := copyTable(ctx, rtx, wtx, t)
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", t.name, err)
		}
		counts[t.name] = n
		if dst.Postgres && t.key == "" {
			q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE((SELECT MAX(id) FROM %s), 0) + 1, false)", t.name, t.name)
			if _, err := wtx.ExecContext(ctx, q); err != nil {
				return nil, fmt.Errorf("reset %s sequence: %w", t.name, err)
			}
		}
	}
	if err := wtx.Commit(); err != nil {
		return nil, fmt.Errorf("target commit: %w", err)
	}
	return counts, nil
}

func copyTable(ctx context.Context, rtx, wtx *sql.Tx, t table) (int64, error) {
	cols := strings.Join(t.cols, ", ")
	rows, err := rtx.QueryContext(ctx, "SELECT "+cols+" FROM "+t.name+" ORDER BY "+t.OrderBy())
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	ph := make([]string, len(t.cols))
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	ins, err := wtx.PrepareContext(ctx, "INSERT INTO "+t.name+" ("+cols+") VALUES ("+strings.Join(ph, ", ")+")")
	if err != nil {
		return 0, err
	}
	defer ins.Close()
	vals := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, c := range t.cols {
			if t.bools[c] {
				vals[i] = asBool(vals[i])
			}
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func asBool(v any) any {
	switch v := v.(type) {
	case int64:
		return v != 0
	case bool:
		return v
	}
	return v
}
