package e2e

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCLIInit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "licensor.db")
	r, err := runCLI("init", "--db", db, "--json")
	if err != nil || r.exit != 0 {
		t.Fatalf("init: exit %d err %v stderr %s", r.exit, err, r.stderr)
	}
	c, err := parseCreds(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(c.PublicKey))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("public_key is not an SPKI PEM: %q", c.PublicKey)
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		t.Fatalf("public_key: %v", err)
	}
	if c.APIKey == c.SharedKey || c.ManagementKey == c.APIKey {
		t.Errorf("keys are not distinct: %+v", c)
	}

	// A second init on the same database fails and changes nothing.
	r2, err := runCLI("init", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	if r2.exit == 0 {
		t.Errorf("second init exited 0; stdout %q", r2.stdout)
	}
	pk, err := runCLI("public-key", "--db", db)
	if err != nil || pk.exit != 0 {
		t.Fatalf("public-key: exit %d err %v %s", pk.exit, err, pk.stderr)
	}
	if strings.TrimSpace(pk.stdout) != strings.TrimSpace(c.PublicKey) {
		t.Errorf("public-key after second init:\n%s\nwant\n%s", pk.stdout, c.PublicKey)
	}
	pk2, _ := runCLI("public-key", "--db", db, "--company", fmt.Sprint(c.CompanyID))
	if pk2.exit != 0 || strings.TrimSpace(pk2.stdout) != strings.TrimSpace(c.PublicKey) {
		t.Errorf("public-key --company %d: exit %d %q", c.CompanyID, pk2.exit, pk2.stdout)
	}

	// The first credentials still work and there is still one company's data.
	s := &server{dir: dir, db: db, creds: c}
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if exit, err := s.stop(); exit != 0 || err != nil {
			t.Errorf("SIGTERM: exit %d %v", exit, err)
		}
	}()
	f := newFixture(t, s, "license-key")
	l := f.keyLicense(1)
	f.activate(f.keyID(l, "hw-init"))
}

func TestCLICompanyCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, a, err := initDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runCLI("company", "create", "--name", "Second Co", "--db", db, "--json")
	if err != nil || r.exit != 0 {
		t.Fatalf("company create: exit %d err %v stderr %s", r.exit, err, r.stderr)
	}
	b, err := parseCreds(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	if b.CompanyID == a.CompanyID || b.APIKey == a.APIKey || b.ManagementKey == a.ManagementKey || b.SharedKey == a.SharedKey {
		t.Fatalf("second company shares credentials with the first: %+v %+v", a, b)
	}
	pk, _ := runCLI("public-key", "--db", db, "--company", fmt.Sprint(b.CompanyID))
	if pk.exit != 0 || strings.TrimSpace(pk.stdout) != strings.TrimSpace(b.PublicKey) {
		t.Errorf("public-key --company %d: exit %d %q\nwant %q", b.CompanyID, pk.exit, pk.stdout, b.PublicKey)
	}

	sa := &server{dir: dir, db: db, creds: a}
	if err := sa.serve(); err != nil {
		t.Fatal(err)
	}
	defer sa.stop()
	sb := &server{db: db, creds: b, root: sa.root} // same process, other tenant's credentials

	fa := newFixture(t, sa, "license-key")
	la := fa.keyLicense(2)
	act := fa.activate(fa.keyID(la, "hw-tenant-a"))
	if act.Company.ID != a.CompanyID {
		t.Errorf("company.id %d, want %d", act.Company.ID, a.CompanyID)
	}
	da := fa.deviceByHW(la.ID, "hw-tenant-a")

	// Tenant B sees none of A's rows.
	mb := sb.mgmt(t)
	for _, p := range []string{
		fmt.Sprintf("/api/v1/products/%d/", fa.product.ID),
		fmt.Sprintf("/api/v1/licenses/%d/", la.ID),
		fmt.Sprintf("/api/v1/devices/%d/", da.ID),
	} {
		mb.wantErr("GET", p, nil, 404, "", "")
	}
	mb.wantErr("PATCH", fmt.Sprintf("/api/v1/licenses/%d/", la.ID), map[string]any{"max_activations": 9}, 404, "", "")
	mb.wantErr("POST", fmt.Sprintf("/api/v1/licenses/%d/disable/", la.ID), nil, 404, "", "")
	mb.wantErr("POST", fmt.Sprintf("/api/v1/licenses/%d/reset/", la.ID), nil, 404, "", "")
	mb.wantErr("POST", fmt.Sprintf("/api/v1/devices/%d/blacklist/", da.ID), nil, 404, "", "")
	var lp page[mlicense]
	mb.call("GET", "/api/v1/licenses/?license_key="+*la.LicenseKey, nil, 200, &lp)
	if lp.Count != 0 || len(lp.Results) != 0 {
		t.Errorf("tenant B lists tenant A's license: %+v", lp)
	}
	var pp page[product]
	mb.call("GET", "/api/v1/products/", nil, 200, &pp)
	if pp.Count != 0 {
		t.Errorf("tenant B lists %d products", pp.Count)
	}
	if fa.getLicense(la.ID).Enabled != true {
		t.Error("tenant B changed tenant A's license")
	}

	// Tenant B's License API key does not reach A's product; B's own product works
	// and is signed with B's key.
	cb := sb.client(t)
	_, err = cb.CheckLicense(ctx(), checkReq(fa.keyID(la, "hw-tenant-a")))
	wantAPIErr(t, "tenant B check of A's product", err, 400, "unknown_product")
	fb := newFixture(t, sb, "license-key")
	lb := fb.keyLicense(1)
	actB := fb.activate(fb.keyID(lb, "hw-tenant-b"))
	if actB.Company.ID != b.CompanyID {
		t.Errorf("company.id %d, want %d", actB.Company.ID, b.CompanyID)
	}
	// A's public key must not verify B's answers (distinct signing keys).
	ca := sa.client(t)
	ra, err := ca.Do(ctx(), "GET", "check_license", fb.keyID(lb, "hw-tenant-b").Query(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Status == 200 { // A's key cannot reach B's product
		t.Errorf("tenant A's api key checked tenant B's license: %s", ra.Body)
	}
	rb, err := cb.Do(ctx(), "GET", "check_license", fb.keyID(lb, "hw-tenant-b").Query(), nil)
	if err != nil || rb.Status != 200 {
		t.Fatalf("check B: %v %+v", err, rb)
	}
	if err := ca.VerifyResponse(rb); err == nil && a.PublicKey != b.PublicKey {
		t.Errorf("tenant A's public key verifies tenant B's response")
	}
}

func TestServeSIGTERM(t *testing.T) {
	t.Parallel()
	s, err := startServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, s, "license-key")
	f.activate(f.keyID(f.keyLicense(1), "hw-sigterm"))
	exit, err := s.stop()
	if err != nil || exit != 0 {
		t.Fatalf("SIGTERM: exit %d, %v; output:\n%s", exit, err, s.stderr.String())
	}
	// The data survives a restart.
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	var pp page[product]
	s.mgmt(t).call("GET", "/api/v1/products/", nil, 200, &pp)
	if pp.Count != 1 {
		t.Errorf("after restart: %d products, want 1", pp.Count)
	}
}

// TestServeSIGTERMDrains: requests in flight when SIGTERM arrives (headers and part of
// the body sent) are still answered with 200 before the process exits 0, and what they
// wrote is in the database when the server starts again.
func TestServeSIGTERMDrains(t *testing.T) {
	t.Parallel()
	s, err := startServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	f := newFixture(t, s, "license-key")
	l := f.keyLicense(2)
	id := f.keyID(l, "hw-drain")
	f.activate(id)
	id2 := f.keyID(l, "hw-drain-2")

	type result struct {
		status int
		body   []byte
		err    error
	}
	// start sends the headers and the first 10 bytes of a request's body; the returned
	// function sends the rest.
	start := func(endpoint string, v any) (<-chan result, func()) {
		body, _ := json.Marshal(v)
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("POST", s.root+"/api/v4/"+endpoint, pr)
		date, auth := f.c.AuthHeaders(time.Now())
		req.Header.Set("Date", date)
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = int64(len(body))
		done := make(chan result, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- result{err: err}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			done <- result{status: resp.StatusCode, body: b}
		}()
		pw.Write(body[:10])
		return done, func() { pw.Write(body[10:]); pw.Close() }
	}
	trackDone, trackRest := start("track_device_variables", trackReq(id, "during", "shutdown"))
	actDone, actRest := start("activate_license", activateReq(id2))
	time.Sleep(150 * time.Millisecond) // headers and part of the bodies are in
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	select {
	case <-s.done:
		t.Fatalf("exit %d with two requests in flight; output:\n%s", s.exit, s.stderr.String())
	default:
	}
	trackRest()
	actRest()
	for what, done := range map[string]<-chan result{"track_device_variables": trackDone, "activate_license": actDone} {
		select {
		case r := <-done:
			if r.err != nil || r.status != 200 {
				t.Errorf("in-flight %s: %v HTTP %d %s", what, r.err, r.status, r.body)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("in-flight %s not answered", what)
		}
	}
	select {
	case <-s.done:
		if s.exit != 0 {
			t.Errorf("exit %d after SIGTERM; output:\n%s", s.exit, s.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}

	// What the drained requests wrote survives the restart.
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	c := s.client(t)
	vs, err := c.GetDeviceVariables(ctx(), id)
	if err != nil {
		t.Fatalf("get_device_variables after restart: %v", err)
	}
	if len(vs) != 1 || vs[0].Variable != "during" || vs[0].Value != "shutdown" {
		t.Errorf("variables after restart %+v, want during=shutdown", vs)
	}
	if _, err := c.CheckLicense(ctx(), checkReq(id2)); err != nil {
		t.Errorf("check of the device activated during shutdown, after restart: %v", err)
	}
	f.m = s.mgmt(t)
	if got := f.getLicense(l.ID).TimesActivated; got != 2 {
		t.Errorf("times_activated after restart %d, want 2", got)
	}
}
