package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/licensor/licensor/client"
)

// acceptedHostile runs the hostile-looking inputs that are legitimately data: they must
// be accepted and read back verbatim. It runs after the no-change comparison.
func (m *badMatrix) acceptedHostile(t *testing.T) {
	c := m.s.client(t)
	mg := m.s.mgmt(t)
	id := client.Identity{Product: m.pk, HardwareID: m.hw, LicenseKey: m.key}

	hostile := []client.Var{
		{Name: "sql", Value: `'); DROP TABLE device_variables; --`},
		{Name: "Robert'); DROP TABLE students;--", Value: "bobby"},
		{Name: "shell", Value: "$(touch /tmp/pwned); `id` | cat /etc/passwd && rm -rf / #"},
		{Name: "$(id)", Value: "name is shell"},
		{Name: "%", Value: "%"},
		{Name: "_", Value: "_"},
		{Name: "like", Value: "%_*?[a-z]"},
		{Name: "html", Value: `<script>alert("x")</script>&amp;`},
		{Name: "json", Value: `{"$ne":null}`},
		{Name: "controls", Value: "tab\tnewline\nreturn\r\u0001\u001f"},
		{Name: "unicode", Value: "ü€😀\u2028\u2029\ufeff"},
		{Name: "backslashes", Value: `C:\Windows\System32\..\..\`},
		{Name: "quote\"name", Value: `"'`},
	}
	t.Run("accepted/track hostile variables", func(t *testing.T) {
		out, err := c.TrackDeviceVariables(ctx(), client.TrackRequest{Identity: id, Variables: hostile})
		if err != nil {
			t.Fatalf("track: %v", err)
		}
		if len(out) != len(hostile) {
			t.Fatalf("track answered %d variables, want %d", len(out), len(hostile))
		}
		got, err := c.GetDeviceVariables(ctx(), id)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		byName := map[string]string{}
		for _, v := range got {
			byName[v.Variable] = v.Value
		}
		var p page[struct {
			Variable string `json:"variable"`
			Value    string `json:"value"`
		}]
		mg.call("GET", fmt.Sprintf("/api/v1/device-variables/?device=%d&limit=100", m.devID), nil, 200, &p)
		mgmtByName := map[string]string{}
		for _, v := range p.Results {
			mgmtByName[v.Variable] = v.Value
		}
		for _, v := range hostile {
			if byName[v.Name] != v.Value.(string) {
				t.Errorf("get_device_variables %q = %q, want %q", v.Name, byName[v.Name], v.Value)
			}
			if mgmtByName[v.Name] != v.Value.(string) {
				t.Errorf("management device-variables %q = %q, want %q", v.Name, mgmtByName[v.Name], v.Value)
			}
		}
	})

	t.Run("accepted/hostile product name and short code", func(t *testing.T) {
		name, code := `'); DROP TABLE products; -- <b>`, "$(id)|;&%_"+uniq("")
		var p product
		mg.call("POST", "/api/v1/products/", map[string]any{"product_name": name, "short_code": code, "authorization_method": "license-key"}, 201, &p)
		var g product
		mg.call("GET", fmt.Sprintf("/api/v1/products/%d/", p.ID), nil, 200, &g)
		if g.ProductName != name || g.ShortCode != code {
			t.Errorf("product read back as %q/%q, want %q/%q", g.ProductName, g.ShortCode, name, code)
		}
		// The License API finds it by that short code, and nothing else by a pattern.
		_, err := c.CheckLicense(ctx(), checkReq(client.Identity{Product: code, HardwareID: "hw", LicenseKey: "NO-SUCH-KEY"}))
		wantAPIErr(t, "check on hostile short code", err, 400, "license_not_found")
	})

	t.Run("accepted/hostile device fields", func(t *testing.T) {
		req := client.ActivateRequest{Identity: client.Identity{Product: m.pk, HardwareID: `'; DELETE FROM devices; --`, LicenseKey: m.key},
			OSVer: "' OR 1=1 --", Hostname: "; rm -rf / #", AppVer: "<script>", VMInfo: "$(id)", MACAddress: "%_", IsVM: ptr(false)}
		if _, err := c.ActivateLicense(ctx(), req); err != nil {
			t.Fatalf("activate: %v", err)
		}
		var p page[device]
		mg.call("GET", fmt.Sprintf("/api/v1/devices/?license=%d&limit=100", m.lkID), nil, 200, &p)
		var d *device
		for i := range p.Results {
			if p.Results[i].HardwareID == req.HardwareID {
				d = &p.Results[i]
			}
		}
		if d == nil {
			t.Fatalf("device %q not listed: %+v", req.HardwareID, p.Results)
		}
		if d.OS != req.OSVer || d.Hostname != req.Hostname || d.AppVer != req.AppVer || d.VMInfo != req.VMInfo || d.MACAddress != req.MACAddress {
			t.Errorf("device read back as %+v", *d)
		}
	})

	t.Run("accepted/duplicate JSON key keeps the last value", func(t *testing.T) {
		body := jobj{{"product", js(m.pk)}, {"hardware_id", js(m.hw)}, {"license_key", js(m.key)},
			{"variables", `{"dup":"first"}`}, {"variables", `{"dup":"last"}`}}.json()
		r, err := c.Do(ctx(), "POST", "track_device_variables", nil, body)
		if err != nil || r.Status != 200 {
			t.Fatalf("track with duplicate key: %v %+v", err, r)
		}
		var out []struct {
			Variable, Value string
		}
		if err := json.Unmarshal(r.Body, &out); err != nil || len(out) != 1 || out[0].Value != "last" {
			t.Errorf("answer %s, want dup=last", r.Body)
		}
	})

	t.Run("accepted/integral float license_id", func(t *testing.T) {
		body := jobj{{"product", js(m.pk)}, {"hardware_id", js(m.hw)}, {"license_key", js(m.key)},
			{"license_id", fmt.Sprintf("%d.0", m.lkID)}, {"variables", `{"float_id":"1"}`}}.json()
		r, err := c.Do(ctx(), "POST", "track_device_variables", nil, body)
		if err != nil || r.Status != 200 {
			t.Fatalf("track with license_id %d.0: %v %+v", m.lkID, err, r)
		}
	})
}
