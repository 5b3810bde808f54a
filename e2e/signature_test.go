package e2e

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licensor/licensor/client"
)

// TestResponseSignatures collects signed answers of every signed endpoint —
// including variables with <>&, U+2028/U+2029, emoji, control characters and
// integer-like names — verifies them in Go over the raw bytes, checks that the
// bytes are JavaScript-canonical, and has node verify them both ways
// (testdata/verify.js).
func TestResponseSignatures(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	l := f.order(lic{maxActivations: 2, validity: "2030-01-01 00:00:00"}).Licenses[0]
	id := f.keyID(l, "HW-Sig-\u00e9")
	fu := newFixture(t, shared, "user")
	email := uniq("sig") + "@example.com"
	fu.userLicense(email, "pw", 1)

	type sample struct {
		name string
		r    *client.Response
	}
	var samples []sample
	do := func(name string, c *client.Client, method, endpoint string, q map[string][]string, body any) *client.Response {
		t.Helper()
		r, err := c.Do(ctx(), method, endpoint, q, body)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 200 {
			t.Fatalf("%s: HTTP %d %s", name, r.Status, r.Body)
		}
		samples = append(samples, sample{name, r})
		return r
	}

	do("activate key", f.c, "POST", "activate_license", nil, activateReq(id))
	do("activate user", fu.c, "POST", "activate_license", nil, activateUser(fu, "hw-sig-u", email, "pw"))
	do("check key", f.c, "GET", "check_license", id.Query(), nil)
	do("check user", fu.c, "GET", "check_license", userID(fu, "hw-sig-u", email).Query(), nil)
	special := client.Vars{
		{Name: "b", Value: "<script>alert('x')</script> & more"},
		{Name: "10", Value: "ten"},
		{Name: "a", Value: "line\u2028sep\u2029para"},
		{Name: "2", Value: json.Number("2.50")},
		{Name: "<>&", Value: "emoji 😀 and 𝄞"},
		{Name: "emoji😀", Value: true},
		{Name: "ctl", Value: "tab\tnl\nbs\\ q\" soh\u0001 bell\u0007 del\u007f"},
		{Name: "slash/", Value: "http://example.com/a?b=c&d=e"},
		{Name: "\u2028", Value: "é ß 中文"},
	}
	tr := do("track special", f.c, "POST", "track_device_variables", nil, client.TrackRequest{Identity: id, Variables: special})
	gr := do("get special", f.c, "GET", "get_device_variables", id.Query(), nil)
	do("re-activate with variables stored", f.c, "POST", "activate_license", nil, activateReq(id))
	do("track empty", f.c, "POST", "track_device_variables", nil, client.TrackRequest{Identity: id, Variables: client.Vars{}})
	do("get user empty", fu.c, "GET", "get_device_variables", userID(fu, "hw-sig-u", email).Query(), nil)

	// The special values survive unchanged.
	var tv []client.TrackedVariable
	if err := json.Unmarshal(tr.Body, &tv); err != nil {
		t.Fatal(err)
	}
	sent := map[string]string{}
	for _, v := range special {
		switch x := v.Value.(type) {
		case string:
			sent[v.Name] = x
		case bool:
			sent[v.Name] = "true"
		case json.Number:
			sent[v.Name] = "2.5"
		}
	}
	gotT := map[string]string{}
	for _, v := range tv {
		gotT[v.Variable] = v.Value
	}
	var gv []client.DeviceVariable
	if err := json.Unmarshal(gr.Body, &gv); err != nil {
		t.Fatal(err)
	}
	gotG := map[string]string{}
	for _, v := range gv {
		gotG[v.Variable] = v.Value
	}
	for k, want := range sent {
		if gotT[k] != want || gotG[k] != want {
			t.Errorf("variable %q: track %q, get %q, want %q", k, gotT[k], gotG[k], want)
		}
	}

	for _, s := range samples {
		// Go: every 200 JSON answer is signed over its raw bytes.
		if err := f.c.VerifyResponse(s.r); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
		// JavaScript-canonical bytes (reference §6.4), checked without node too.
		b := s.r.Body
		for _, bad := range []string{`\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`, `\/`, "\n}", ": ", `\u00e9`} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s: body contains %q: %.300s", s.name, bad, b)
			}
		}
		if len(b) > 0 && b[len(b)-1] == '\n' {
			t.Errorf("%s: body ends with a newline", s.name)
		}
	}
	if !bytes.Contains(tr.Body, []byte("\u2028")) || !bytes.Contains(tr.Body, []byte("<script>")) || !bytes.Contains(tr.Body, []byte("😀")) {
		t.Errorf("track body does not carry U+2028, <, emoji raw: %s", tr.Body)
	}
	if !bytes.Contains(tr.Body, []byte(`\u0001`)) || !bytes.Contains(tr.Body, []byte(`\u0007`)) || !bytes.Contains(tr.Body, []byte(`\t`)) {
		t.Errorf("control characters not escaped JS-style: %s", tr.Body)
	}

	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH: skipping the node verification of signatures")
	}
	type item struct {
		PublicKey string `json:"publicKey"`
		Body      string `json:"body"`
		Signature string `json:"signature"`
	}
	var items []item
	for _, s := range samples {
		items = append(items, item{shared.creds.PublicKey, string(s.r.Body), s.r.Signature()})
	}
	// Negative control: node must reject a tampered body.
	tampered := item{shared.creds.PublicKey, strings.Replace(string(tr.Body), "ten", "TEN", 1), tr.Signature()}
	runVerify(t, node, []item{tampered}, false)
	out := runVerify(t, node, items, true)
	if t.Failed() {
		for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if i < len(samples) {
				t.Logf("%s: %s", samples[i].name, line)
			}
		}
	}
}

func runVerify(t *testing.T, node string, items any, wantOK bool) string {
	t.Helper()
	return runNode(t, node, "verify.js", items, wantOK)
}

// runNode runs testdata/script with node, items as JSON on its stdin, and reports an
// error where its exit status (0: every item verified) is not what wantOK says.
func runNode(t *testing.T, node, script string, items any, wantOK bool) string {
	t.Helper()
	in, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	path, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, path)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if wantOK && err != nil {
		t.Errorf("%s: %v\n%s%s", script, err, stdout.String(), stderr.String())
	}
	if !wantOK && err == nil {
		t.Errorf("%s accepted what it should refuse: %s", script, stdout.String())
	}
	return stdout.String()
}

// TestV1LicenseSignatureLowercasesAsClients activates and checks with a hardware id
// and a license key whose lowercase differs between Go's strings.ToLower and
// JavaScript's toLowerCase (İ, a word-final Σ), and verifies the v1
// license_signature over the message the clients make (reference §6.1): spelled out
// here, and, where node is on PATH, made by node itself as the Node SDK makes it.
func TestV1LicenseSignatureLowercasesAsClients(t *testing.T) {
	t.Parallel()
	f := newFixture(t, shared, "license-key")
	prefix := uniq("k")
	key := prefix + "-ΚΛΕΙΔΙ-ΟΔΟΣ"
	l := f.order(lic{key: key, maxActivations: 1, validity: "2030-01-01 00:00:00"}).Licenses[0]
	id := f.keyID(l, "HW-İSTANBUL-ΟΔΟΣ")
	act, err := f.c.Do(ctx(), "POST", "activate_license", nil, activateReq(id))
	if err != nil || act.Status != 200 {
		t.Fatalf("activate: %v %+v", err, act)
	}
	chk, err := f.c.Do(ctx(), "GET", "check_license", id.Query(), nil)
	if err != nil || chk.Status != 200 {
		t.Fatalf("check: %v %+v", err, chk)
	}
	want := "hw-i\u0307stanbul-οδος#" + strings.ToLower(prefix) + "-κλειδι-οδος#2030-01-01t00:00:00.000z"
	type v1 struct {
		PublicKey  string `json:"publicKey"`
		HardwareID string `json:"hardwareId"`
		ID         string `json:"id"`
		Validity   string `json:"validity"`
		Signature  string `json:"signature"`
	}
	var items []v1
	for name, r := range map[string]*client.Response{"activate": act, "check": chk} {
		var body struct {
			LicenseSignature string `json:"license_signature"`
			ValidityPeriod   string `json:"validity_period"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if err := client.VerifySignature(f.c.PublicKey(), []byte(want), body.LicenseSignature); err != nil {
			t.Errorf("%s: license_signature does not verify over %q: %v", name, want, err)
		}
		items = append(items, v1{shared.creds.PublicKey, id.HardwareID, key, body.ValidityPeriod, body.LicenseSignature})
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH: skipping the node verification of license_signature")
	}
	runNode(t, node, "verify-v1.js", items, true)
}
