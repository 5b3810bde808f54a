package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

type auditEntry struct {
	ID         int64           `json:"id"`
	CreatedAt  string          `json:"created_at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   int64           `json:"object_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
}

type auditPage struct {
	Count   int64        `json:"count"`
	Next    *string      `json:"next"`
	Results []auditEntry `json:"results"`
}

func auditLog(m mgmt, query url.Values) auditPage {
	m.t.Helper()
	var p auditPage
	m.call("GET", "/api/v1/audit-log/?"+query.Encode(), nil, 200, &p)
	return p
}

// field reads one top-level field of a recorded value.
func field(t *testing.T, raw json.RawMessage, name string) any {
	t.Helper()
	if string(raw) == "null" || raw == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("recorded value %s: %v", raw, err)
	}
	return m[name]
}

// TestAuditLog: every management change and every activation, deactivation and
// blacklist event is recorded with time, actor, object and before/after values, pages
// newest first, is scoped to its company and cannot be changed through any API.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	f := newFixture(t, s, "license-key")
	l := f.keyLicense(2)
	id := f.keyID(l, "hw-audit")
	f.activate(id)
	dev := f.deviceByHW(l.ID, "hw-audit")
	f.m.call("PATCH", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), map[string]any{"max_activations": 5}, 200, nil)
	f.blacklist(dev.ID)
	f.m.call("POST", fmt.Sprintf("/api/v1/devices/%d/unblacklist/", dev.ID), nil, 200, nil)
	if err := f.c.DeactivateLicense(ctx(), deactReq(id)); err != nil {
		t.Fatal(err)
	}
	f.setEnabled(l.ID, false)
	f.m.call("POST", fmt.Sprintf("/api/v1/licenses/%d/reset/", l.ID), nil, 200, nil)
	var ak struct {
		ID        int64  `json:"id"`
		SharedKey string `json:"shared_key"`
	}
	f.m.call("POST", "/api/v1/api-keys/", map[string]any{}, 201, &ak)
	f.m.call("POST", fmt.Sprintf("/api/v1/api-keys/%d/revoke/", ak.ID), nil, 200, nil)

	all := auditLog(f.m, url.Values{"limit": {"100"}})
	// The shared server's log holds other tests' entries too; keep this test's objects.
	mine := map[string]bool{
		fmt.Sprintf("product:%d", f.product.ID): true, fmt.Sprintf("license:%d", l.ID): true,
		fmt.Sprintf("device:%d", dev.ID): true, fmt.Sprintf("api_key:%d", ak.ID): true, fmt.Sprintf("order:%d", l.Order): true,
	}
	var got []string
	for i := len(all.Results) - 1; i >= 0; i-- { // oldest first
		e := all.Results[i]
		if mine[fmt.Sprintf("%s:%d", e.ObjectType, e.ObjectID)] {
			got = append(got, e.Action)
		}
	}
	want := []string{"product.create", "order.create", "license.create", "device.activate", "license.update",
		"device.blacklist", "device.unblacklist", "device.deactivate", "license.update", "license.reset", "api_key.create", "api_key.revoke"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("actions:\n got %v\nwant %v", got, want)
	}
	for i := 1; i < len(all.Results); i++ {
		if all.Results[i].ID >= all.Results[i-1].ID {
			t.Fatalf("entries not newest first: %d after %d", all.Results[i].ID, all.Results[i-1].ID)
		}
	}

	// Filters, actors and before/after values.
	devLog := auditLog(f.m, url.Values{"object_type": {"device"}, "object_id": {fmt.Sprint(dev.ID)}})
	if devLog.Count != 4 {
		t.Fatalf("device entries: %d, want 4: %+v", devLog.Count, devLog.Results)
	}
	for _, e := range devLog.Results {
		wantActor := "client"
		if strings.Contains(e.Action, "blacklist") {
			wantActor = "management_key:"
		}
		if !strings.HasPrefix(e.Actor, wantActor) || e.CreatedAt == "" {
			t.Errorf("%s: actor %q, created_at %q", e.Action, e.Actor, e.CreatedAt)
		}
		switch e.Action {
		case "device.activate":
			if field(t, e.Before, "active") != nil || field(t, e.After, "active") != true || field(t, e.After, "hardware_id") != "hw-audit" {
				t.Errorf("activate before %s after %s", e.Before, e.After)
			}
		case "device.blacklist":
			if field(t, e.Before, "blacklisted") != false || field(t, e.After, "blacklisted") != true {
				t.Errorf("blacklist before %s after %s", e.Before, e.After)
			}
		case "device.deactivate":
			if field(t, e.Before, "active") != true || field(t, e.After, "active") != false {
				t.Errorf("deactivate before %s after %s", e.Before, e.After)
			}
		}
	}
	upd := auditLog(f.m, url.Values{"action": {"license.update"}, "object_id": {fmt.Sprint(l.ID)}})
	if upd.Count != 2 {
		t.Fatalf("license.update entries: %d", upd.Count)
	}
	disable, patch := upd.Results[0], upd.Results[1]
	if field(t, patch.Before, "max_activations") != 2.0 || field(t, patch.After, "max_activations") != 5.0 {
		t.Errorf("patch before %s after %s", patch.Before, patch.After)
	}
	if field(t, disable.Before, "enabled") != true || field(t, disable.After, "enabled") != false {
		t.Errorf("disable before %s after %s", disable.Before, disable.After)
	}
	// No secret is ever recorded.
	raw, _ := json.Marshal(all)
	for _, secret := range []string{ak.SharedKey, s.creds.SharedKey, s.creds.ManagementKey, "PRIVATE KEY", "password"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the audit log holds %q", secret)
		}
	}

	// Paging: limit 2 gives a next link and the same entries as the full list.
	p1 := auditLog(f.m, url.Values{"limit": {"2"}})
	if len(p1.Results) != 2 || p1.Next == nil || p1.Results[0].ID != all.Results[0].ID {
		t.Errorf("first page: %+v", p1)
	}

	// Append-only through every API: no method but GET.
	for _, method := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		f.m.wantErr(method, "/api/v1/audit-log/", map[string]any{}, 405, "method_not_allowed", "")
		st, _ := f.m.do(method, fmt.Sprintf("/api/v1/audit-log/%d/", all.Results[0].ID), map[string]any{})
		if st != 404 && st != 405 {
			t.Errorf("%s on an entry: %d", method, st)
		}
	}
	if again := auditLog(f.m, url.Values{"limit": {"100"}}); again.Results[len(again.Results)-1].ID != all.Results[len(all.Results)-1].ID {
		t.Error("the log changed")
	}

	// Bad filters are 400 naming the field.
	f.m.wantErr("GET", "/api/v1/audit-log/?object_id=x", nil, 400, "validation_error", "object_id")
	f.m.wantErr("GET", "/api/v1/audit-log/?limit=0", nil, 400, "validation_error", "limit")

	// Another company sees none of it.
	r, err := runCLI("company", "create", "--db", s.db, "--name", "other", "--json")
	if err != nil || r.exit != 0 {
		t.Fatalf("company create: %v %s", err, r.stderr)
	}
	other, err := parseCreds(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	om := mgmt{t, s.root, other.ManagementKey}
	ol := auditLog(om, url.Values{"limit": {"100"}})
	for _, e := range ol.Results {
		if e.ObjectType != "company" && e.ObjectType != "api_key" {
			t.Errorf("other company sees %s %d", e.ObjectType, e.ObjectID)
		}
	}
	if ol.Count != 2 || ol.Results[1].Action != "company.create" || ol.Results[1].Actor != "cli" {
		t.Errorf("other company's log: %+v", ol.Results)
	}
	if o := auditLog(om, url.Values{"object_type": {"device"}, "object_id": {fmt.Sprint(dev.ID)}}); o.Count != 0 {
		t.Errorf("other company reads device entries: %+v", o)
	}
}
