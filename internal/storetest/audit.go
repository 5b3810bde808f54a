package storetest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

var auditTests = []test{
	{"RoundTripAndFilters", testAuditRoundTrip},
	{"AppendOnly", testAuditAppendOnly},
}

func testAuditRoundTrip(t *testing.T, e *env) {
	a, b := e.company("a"), e.company("b")
	entries := []licensing.AuditEntry{
		{CompanyID: a.ID, At: at(1), Actor: "management_key:1", Action: "product.create", ObjectType: "product", ObjectID: 7, After: mustJSON(map[string]any{"id": 7, "name": unicodeName})},
		{CompanyID: a.ID, At: at(2), Actor: "client", Action: "device.activate", ObjectType: "device", ObjectID: 9, Before: json.RawMessage(`{"active":false}`), After: json.RawMessage(`{"active":true}`)},
		{CompanyID: b.ID, At: at(3), Actor: "cli", Action: "company.create", ObjectType: "company", ObjectID: b.ID},
		{CompanyID: a.ID, At: at(4), Actor: "client", Action: "device.deactivate", ObjectType: "device", ObjectID: 9, Before: json.RawMessage(`{"active":true}`), After: json.RawMessage(`{"active":false}`)},
	}
	for i := range entries {
		e.write(func(tx licensing.Tx) error { return tx.AppendAudit(e.ctx, &entries[i]) })
		if entries[i].ID == 0 {
			t.Fatalf("AppendAudit left ID 0")
		}
	}
	list := func(companyID int64, f licensing.AuditFilter) (out []licensing.AuditEntry, n int64) {
		if f.Limit == 0 {
			f.Limit = 10
		}
		e.read(func(tx licensing.Tx) (err error) {
			out, n, err = tx.ListAudit(e.ctx, companyID, f)
			return err
		})
		return out, n
	}
	cases := []struct {
		name    string
		company int64
		f       licensing.AuditFilter
		want    []int // indexes into entries, newest first
		total   int64
	}{
		{"all of a, newest first", a.ID, licensing.AuditFilter{}, []int{3, 1, 0}, 3},
		{"b sees only its own", b.ID, licensing.AuditFilter{}, []int{2}, 1},
		{"by object", a.ID, licensing.AuditFilter{ObjectType: "device", ObjectID: 9}, []int{3, 1}, 2},
		{"by action", a.ID, licensing.AuditFilter{Action: "device.activate"}, []int{1}, 1},
		{"b cannot filter into a", b.ID, licensing.AuditFilter{ObjectType: "device", ObjectID: 9}, nil, 0},
		{"paged", a.ID, licensing.AuditFilter{Page: licensing.Page{Limit: 1, Offset: 1}}, []int{1}, 3},
	}
	for _, tc := range cases {
		got, n := list(tc.company, tc.f)
		var want []licensing.AuditEntry
		for _, i := range tc.want {
			want = append(want, entries[i])
		}
		equal(t, tc.name, got, want)
		if n != tc.total {
			t.Errorf("%s: total %d, want %d", tc.name, n, tc.total)
		}
	}
}

// testAuditAppendOnly: the database itself refuses to change or remove an entry, so
// not even a future code path can rewrite history.
func testAuditAppendOnly(t *testing.T, e *env) {
	c := e.company("c")
	entry := licensing.AuditEntry{CompanyID: c.ID, At: at(1), Actor: "cli", Action: "company.create", ObjectType: "company", ObjectID: c.ID}
	e.write(func(tx licensing.Tx) error { return tx.AppendAudit(e.ctx, &entry) })
	db := e.db()
	for _, q := range []string{
		`UPDATE audit_log SET actor = 'someone else'`,
		`DELETE FROM audit_log`,
		// Each engine's replace-on-conflict form (the other's fails as a syntax error).
		`INSERT OR REPLACE INTO audit_log (id, company_id, created_at, actor, action, object_type, object_id) VALUES (1, 1, 0, 'x', 'tampered', 'x', 0)`,
		`INSERT INTO audit_log (id, company_id, created_at, actor, action, object_type, object_id) VALUES (1, 1, 0, 'x', 'tampered', 'x', 0) ON CONFLICT (id) DO UPDATE SET action = 'tampered'`,
	} {
		_, err := db.ExecContext(e.ctx, q)
		if err == nil || !(strings.Contains(err.Error(), "append-only") || strings.Contains(err.Error(), "syntax")) {
			t.Errorf("%s: %v, want the append-only refusal", q, err)
		}
	}
	var n int64
	var actor string
	if err := db.QueryRowContext(e.ctx, `SELECT count(*), max(actor) FROM audit_log`).Scan(&n, &actor); err != nil {
		t.Fatal(err)
	}
	var action string
	if err := db.QueryRowContext(e.ctx, `SELECT action FROM audit_log`).Scan(&action); err != nil || action != "company.create" {
		t.Errorf("entry action %q, %v", action, err)
	}
	if n != 1 || actor != "cli" {
		t.Errorf("after the refused statements: %d entries, actor %q", n, actor)
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
