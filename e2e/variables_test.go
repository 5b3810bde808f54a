package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/client"
)

func TestTrackDeviceVariables(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-track")
	a := f.activate(id)

	before := time.Now().Add(-2 * time.Second).UnixMilli()
	r, err := f.c.Do(ctx(), "POST", "track_device_variables", nil, trackReq(id, "zeta", "z", "alpha", json.Number("1"), "mid", true))
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(2 * time.Second).UnixMilli()
	if r.Status != 200 {
		t.Fatalf("track: HTTP %d %s", r.Status, r.Body)
	}
	if err := f.c.VerifyResponse(r); err != nil {
		t.Fatal(err)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(r.Body, &elems); err != nil {
		t.Fatalf("track answer is not an array: %s", r.Body)
	}
	for i, e := range elems {
		wantKeys(t, fmt.Sprintf("track element %d", i), e, []string{"variable", "value", "device_id", "created_at"})
	}
	var vs []client.TrackedVariable
	if err := json.Unmarshal(r.Body, &vs); err != nil {
		t.Fatalf("track answer (created_at must be an integer epoch ms): %v: %s", err, r.Body)
	}
	want := []struct{ name, value string }{{"zeta", "z"}, {"alpha", "1"}, {"mid", "true"}}
	if len(vs) != len(want) {
		t.Fatalf("track answer %s", r.Body)
	}
	first := map[string]int64{}
	for i, w := range want {
		v := vs[i]
		if v.Variable != w.name || v.Value != w.value || v.DeviceID != a.DeviceID {
			t.Errorf("element %d = %+v, want %s=%s device %d", i, v, w.name, w.value, a.DeviceID)
		}
		if v.CreatedAt < before || v.CreatedAt > after {
			t.Errorf("element %d created_at %d not within [%d, %d]", i, v.CreatedAt, before, after)
		}
		first[v.Variable] = v.CreatedAt
	}

	// get_device_variables: ordered by id, ISO created_at equal to the epoch ms.
	got, err := f.c.GetDeviceVariables(ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	checkGet(t, got, a.DeviceID, map[string]string{"zeta": "z", "alpha": "1", "mid": "true"}, first)
	raw, _ := f.c.Do(ctx(), "GET", "get_device_variables", id.Query(), nil)
	var gelems []json.RawMessage
	json.Unmarshal(raw.Body, &gelems)
	for i, e := range gelems {
		wantKeys(t, fmt.Sprintf("get element %d", i), e, []string{"id", "created_at", "variable", "value", "device_id"})
	}

	// Unchanged values keep created_at, changed values get a new one, others stay.
	time.Sleep(25 * time.Millisecond)
	vs2, err := f.c.TrackDeviceVariables(ctx(), trackReq(id, "alpha", "1", "mid", false))
	if err != nil {
		t.Fatal(err)
	}
	if len(vs2) != 2 || vs2[0].Variable != "alpha" || vs2[0].CreatedAt != first["alpha"] || vs2[1].Variable != "mid" || vs2[1].Value != "false" || vs2[1].CreatedAt <= first["mid"] {
		t.Errorf("re-track: %+v (first created_at %v)", vs2, first)
	}
	got2, err := f.c.GetDeviceVariables(ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	first["mid"] = vs2[1].CreatedAt
	checkGet(t, got2, a.DeviceID, map[string]string{"zeta": "z", "alpha": "1", "mid": "false"}, first)
	for i := range got {
		if got[i].ID != got2[i].ID {
			t.Errorf("variable ids changed on update: %+v -> %+v", got, got2)
			break
		}
	}
	// Sending "1" as a number and as a string is the same value.
	vs3, err := f.c.TrackDeviceVariables(ctx(), trackReq(id, "alpha", json.Number("1")))
	if err != nil || len(vs3) != 1 || vs3[0].CreatedAt != first["alpha"] {
		t.Errorf("number 1 after string \"1\": %+v %v", vs3, err)
	}
	// An empty variables object is fine and returns [].
	r, err = f.c.Do(ctx(), "POST", "track_device_variables", nil, []byte(`{"product":"`+f.product.ShortCode+`","hardware_id":"hw-track","license_key":"`+*l.LicenseKey+`","variables":{}}`))
	if err != nil || r.Status != 200 || string(r.Body) != "[]" {
		t.Errorf("empty variables: %v %d %s", err, r.Status, r.Body)
	}
}

func checkGet(t *testing.T, got []client.DeviceVariable, deviceID int64, want map[string]string, createdAt map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("get_device_variables %+v, want %v", got, want)
	}
	for i, v := range got {
		if i > 0 && v.ID <= got[i-1].ID {
			t.Errorf("not ordered by id: %+v", got)
		}
		if v.DeviceID != deviceID || want[v.Variable] != v.Value {
			t.Errorf("variable %+v, want value %q device %d", v, want[v.Variable], deviceID)
		}
		if !isoMsZRe.MatchString(v.CreatedAt) {
			t.Errorf("created_at %q is not ISO with milliseconds and Z", v.CreatedAt)
		} else if ms, ok := createdAt[v.Variable]; ok && epochMs(t, v.CreatedAt) != ms {
			t.Errorf("%s created_at %s != track created_at %d", v.Variable, v.CreatedAt, ms)
		}
	}
}

// TestTrackValueStringification: values are stored as JavaScript String(v).
// Expected values were produced with node: String(JSON.parse(literal)).
func TestTrackValueStringification(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-str")
	f.activate(id)
	cases := []struct{ literal, want string }{
		{`true`, "true"},
		{`false`, "false"},
		{`1.50`, "1.5"},
		{`1e21`, "1e+21"},
		{`1E21`, "1e+21"},
		{`0`, "0"},
		{`-0`, "0"},
		{`100`, "100"},
		{`1.0`, "1"},
		{`1e-7`, "1e-7"},
		{`-1e-7`, "-1e-7"},
		{`1e-6`, "0.000001"},
		{`123e-20`, "1.23e-18"},
		{`2.5E+3`, "2500"},
		{`0.1`, "0.1"},
		{`-1.5`, "-1.5"},
		{`5e-324`, "5e-324"},
		{`1e300`, "1e+300"},
		{`123456789012345678`, "123456789012345680"},
		{`12345678901234567890`, "12345678901234567000"},
		{`1.7976931348623157e308`, "1.7976931348623157e+308"},
		{`"1.50"`, "1.50"},
		{`"text"`, "text"},
		{`""`, ""},
		{`"\u00e9\ud83d\ude00"`, "é😀"},
		{`"line\nbreak"`, "line\nbreak"},
	}
	var b strings.Builder
	b.WriteString(`{"product":"` + f.product.ShortCode + `","hardware_id":"hw-str","license_key":"` + *l.LicenseKey + `","variables":{`)
	for i, c := range cases {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"v%02d":%s`, i, c.literal)
	}
	b.WriteString(`}}`)
	r, err := f.c.Do(ctx(), "POST", "track_device_variables", nil, []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 {
		t.Fatalf("track: HTTP %d %s", r.Status, r.Body)
	}
	if err := f.c.VerifyResponse(r); err != nil {
		t.Fatal(err)
	}
	var vs []client.TrackedVariable
	if err := json.Unmarshal(r.Body, &vs); err != nil || len(vs) != len(cases) {
		t.Fatalf("track answer %v: %s", err, r.Body)
	}
	stored, err := f.c.GetDeviceVariables(ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, v := range stored {
		byName[v.Variable] = v.Value
	}
	for i, c := range cases {
		name := fmt.Sprintf("v%02d", i)
		if vs[i].Variable != name || vs[i].Value != c.want {
			t.Errorf("%s: track answer %+v, want value %q", c.literal, vs[i], c.want)
		}
		if byName[name] != c.want {
			t.Errorf("%s: stored %q, want %q", c.literal, byName[name], c.want)
		}
	}
}

// TestTrackValidation is the table of request validation failures of
// track_device_variables; none of them stores anything.
func TestTrackValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-val")
	f.activate(id)
	fu := newFixture(t, shared, "user")
	p, key := f.product.ShortCode, *l.LicenseKey
	body := func(vars string) []byte {
		return []byte(`{"product":"` + p + `","hardware_id":"hw-val","license_key":"` + key + `","variables":` + vars + `}`)
	}
	manyVars := func(n int, prefix string) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%s%d":%d`, prefix, i, i)
		}
		b.WriteByte('}')
		return b.String()
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }

	for _, tc := range []struct {
		name string
		body []byte
		code string
	}{
		{"value object", body(`{"bad":{"a":1}}`), "validation_error"},
		{"value empty object", body(`{"bad":{}}`), "validation_error"},
		{"value array", body(`{"bad":[1,2]}`), "validation_error"},
		{"value null", body(`{"bad":null}`), "validation_error"},
		{"good and bad together", body(`{"good":"1","bad":[]}`), "validation_error"},
		{"empty name", body(`{"":"x"}`), "validation_error"},
		{"name 256 chars", body(`{` + q(strings.Repeat("n", 256)) + `:"x"}`), "validation_error"},
		{"value 4097 chars", body(`{"long":` + q(strings.Repeat("v", 4097)) + `}`), "validation_error"},
		{"value 4097 two-byte chars", body(`{"long":` + q(strings.Repeat("é", 4097)) + `}`), "validation_error"},
		{"101 variables", body(manyVars(101, "m")), "validation_error"},
		{"variables array", body(`["a"]`), "validation_error"},
		{"variables string", body(`"a=1"`), "validation_error"},
		{"hardware_id number", []byte(`{"product":"` + p + `","hardware_id":7,"license_key":"` + key + `","variables":{}}`), "validation_error"},
		{"license_key number", []byte(`{"product":"` + p + `","hardware_id":"hw-val","license_key":7,"variables":{}}`), "validation_error"},
		{"invalid value beats unknown product", []byte(`{"product":"no-such","hardware_id":"hw-val","license_key":"` + key + `","variables":{"bad":null}}`), "validation_error"},
		{"no variables", []byte(`{"product":"` + p + `","hardware_id":"hw-val","license_key":"` + key + `"}`), "missing_parameters"},
		{"no hardware_id", []byte(`{"product":"` + p + `","license_key":"` + key + `","variables":{}}`), "missing_parameters"},
		{"no product", []byte(`{"hardware_id":"hw-val","license_key":"` + key + `","variables":{}}`), "missing_parameters"},
		{"missing params beat unknown product", []byte(`{"product":"no-such","license_key":"` + key + `","variables":{}}`), "missing_parameters"},
		{"invalid json", []byte(`{"product":"` + p + `",`), "invalid_json"},
		{"invalid json trailing garbage", []byte(`{"product":"` + p + `"} x`), "invalid_json"},
		{"empty body", []byte(``), ""},
		{"no license_key on key product", []byte(`{"product":"` + p + `","hardware_id":"hw-val","variables":{}}`), "license_key_required"},
		{"no username on user product", []byte(`{"product":"` + fu.product.ShortCode + `","hardware_id":"hw-val","variables":{}}`), "missing_parameters"},
		{"unknown product", []byte(`{"product":"no-such","hardware_id":"hw-val","license_key":"` + key + `","variables":{}}`), "unknown_product"},
	} {
		r, err := f.c.Do(ctx(), "POST", "track_device_variables", nil, tc.body)
		if err != nil {
			t.Fatal(err)
		}
		wantRespErr(t, tc.name, r, 400, tc.code)
	}
	stored, err := f.c.GetDeviceVariables(ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 0 {
		t.Errorf("rejected requests stored %+v", stored)
	}

	// The limits themselves are allowed.
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"name 255 chars", body(`{` + q(strings.Repeat("n", 255)) + `:"x"}`)},
		{"name 255 two-byte chars", body(`{` + q(strings.Repeat("ñ", 255)) + `:"x"}`)},
		{"value 4096 chars", body(`{"long":` + q(strings.Repeat("v", 4096)) + `}`)},
		{"value 4096 two-byte chars", body(`{"long2":` + q(strings.Repeat("é", 4096)) + `}`)},
		{"100 variables", body(manyVars(100, "h"))},
	} {
		r, err := f.c.Do(ctx(), "POST", "track_device_variables", nil, tc.body)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 200 {
			t.Errorf("%s: HTTP %d %s", tc.name, r.Status, r.Body)
		}
	}
}

// TestTrackDeviceLimit: a device holds at most 1000 variables.
func TestTrackDeviceLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-limit")
	f.activate(id)
	for chunk := 0; chunk < 10; chunk++ {
		var vs client.Vars
		for i := 0; i < 100; i++ {
			vs = append(vs, client.Var{Name: fmt.Sprintf("v%04d", chunk*100+i), Value: "x"})
		}
		if _, err := f.c.TrackDeviceVariables(ctx(), client.TrackRequest{Identity: id, Variables: vs}); err != nil {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
	}
	_, err := f.c.TrackDeviceVariables(ctx(), trackReq(id, "one-too-many", "x"))
	wantAPIErr(t, "variable 1001", err, 400, "validation_error")
	_, err = f.c.TrackDeviceVariables(ctx(), trackReq(id, "v0000", "changed", "one-too-many", "x"))
	wantAPIErr(t, "update plus variable 1001", err, 400, "validation_error")
	// Updating existing names at the limit is fine.
	vs, err := f.c.TrackDeviceVariables(ctx(), trackReq(id, "v0000", "changed", "v0999", "y"))
	if err != nil || len(vs) != 2 {
		t.Fatalf("update at limit: %v %+v", err, vs)
	}
	all, err := f.c.GetDeviceVariables(ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1000 || all[0].Variable != "v0000" || all[0].Value != "changed" {
		t.Errorf("%d variables, first %+v", len(all), all[0])
	}
	// The limit is per device: the same hardware_id on another license is another device.
	l2 := f.keyLicense(1)
	id2 := f.keyID(l2, "hw-limit")
	f.activate(id2)
	if _, err := f.c.TrackDeviceVariables(ctx(), trackReq(id2, "fresh", "1")); err != nil {
		t.Errorf("other device: %v", err)
	}
}

// TestDeviceVariablesCheckOrder runs the license/device checks of
// track_device_variables and get_device_variables.
func TestDeviceVariablesCheckOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	fresh := f.keyLicense(1)
	freshDisabled := f.keyLicense(1)
	f.setEnabled(freshDisabled.ID, false)
	act := f.keyLicense(3)
	f.activate(f.keyID(act, "hw-a"))
	bl := f.activate(f.keyID(act, "hw-black"))
	f.blacklist(bl.DeviceID)
	f.activate(f.keyID(act, "hw-gone"))
	if err := f.c.DeactivateLicense(ctx(), deactReq(f.keyID(act, "hw-gone"))); err != nil {
		t.Fatal(err)
	}
	dis := f.keyLicense(2)
	db := f.activate(f.keyID(dis, "hw-black"))
	f.blacklist(db.DeviceID)
	f.activate(f.keyID(dis, "hw-a"))
	f.setEnabled(dis.ID, false)

	fu := newFixture(t, shared, "user")
	email := uniq("vu") + "@example.com"
	fu.userLicense(email, "pw", 1)
	if _, err := fu.c.ActivateLicense(ctx(), activateUser(fu, "hw-u", email, "pw")); err != nil {
		t.Fatal(err)
	}

	ident := func(l mlicense, hw string) client.Identity { return f.keyID(l, hw) }
	for _, tc := range []struct {
		name string
		id   client.Identity
		code string // "" = success
	}{
		{"ok", ident(act, "hw-a"), ""},
		{"user ok", userID(fu, "hw-u", email), ""},
		{"user unknown", userID(fu, "hw-u", "x"+email), "license_not_found"},
		{"user other device", userID(fu, "hw-v", email), "device_not_found"},
		{"unknown product", client.Identity{Product: "no-such", HardwareID: "hw-a", LicenseKey: *act.LicenseKey}, "unknown_product"},
		{"unknown key", client.Identity{Product: f.product.ShortCode, HardwareID: "hw-a", LicenseKey: "NOPE-NOPE-NOPE-NOPE"}, "license_not_found"},
		{"user product with license_key", client.Identity{Product: fu.product.ShortCode, HardwareID: "hw-u", LicenseKey: *act.LicenseKey}, "missing_parameters"},
		{"never activated", ident(fresh, "hw-a"), "license_not_active"},
		{"never activated and disabled", ident(freshDisabled, "hw-a"), "license_not_active"},
		{"disabled", ident(dis, "hw-a"), "license_not_enabled"},
		{"disabled beats blacklisted", ident(dis, "hw-black"), "license_not_enabled"},
		{"blacklisted", ident(act, "hw-black"), "blacklisted"},
		{"unknown device", ident(act, "hw-none"), "device_not_found"},
		{"deactivated device", ident(act, "hw-gone"), "device_not_found"},
	} {
		_, err := f.c.TrackDeviceVariables(ctx(), trackReq(tc.id, "k", "v"))
		_, gerr := f.c.GetDeviceVariables(ctx(), tc.id)
		if tc.code == "" {
			if err != nil || gerr != nil {
				t.Errorf("%s: track %v, get %v", tc.name, err, gerr)
			}
			continue
		}
		wantAPIErr(t, tc.name+" (track)", err, 400, tc.code)
		wantAPIErr(t, tc.name+" (get)", gerr, 400, tc.code)
	}
	// get_device_variables parameter errors.
	for _, tc := range []struct {
		name string
		q    map[string][]string
		code string
	}{
		{"no params", nil, "missing_parameters"},
		{"no hardware_id", map[string][]string{"product": {f.product.ShortCode}, "license_key": {*act.LicenseKey}}, "missing_parameters"},
		{"no license_key", map[string][]string{"product": {f.product.ShortCode}, "hardware_id": {"hw-a"}}, "license_key_required"},
		{"no username", map[string][]string{"product": {fu.product.ShortCode}, "hardware_id": {"hw-u"}}, "missing_parameters"},
	} {
		r, err := f.c.Do(ctx(), "GET", "get_device_variables", tc.q, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantRespErr(t, "get_device_variables "+tc.name, r, 400, tc.code)
	}
}
