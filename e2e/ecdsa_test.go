package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// A company with an ECDSA P-256 signing key: Node's crypto.createVerify('RSA-SHA256')
// (the call LicenseSpring's Node SDK makes) accepts EC keys, so JavaScript clients
// verify its responses unchanged; Python's RSA-only verifier does not (README).
func TestECDSASigningKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "ec.db")
	r, err := runCLI("init", "--db", db, "--json", "--signing-key", "ecdsa-p256")
	if err != nil || r.exit != 0 {
		t.Fatalf("init: exit %d err %v stderr %s", r.exit, err, r.stderr)
	}
	c, err := parseCreds(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{dir: dir, db: db, creds: c}
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop() })
	f := newFixture(t, s, "license-key")
	id := f.keyID(f.keyLicense(1), "hw-ec")
	f.activate(id) // the Go client verifies header and v1 signatures with the EC key

	resp, err := f.c.Do(ctx(), "GET", "check_license", id.Query(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 {
		t.Fatalf("check: %d %s", resp.Status, resp.Body)
	}
	if err := f.c.VerifyResponse(resp); err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: skipping the Node check of ECDSA signatures")
	}
	type item struct {
		PublicKey string `json:"publicKey"`
		Body      string `json:"body"`
		Signature string `json:"signature"`
	}
	runVerify(t, node, []item{{c.PublicKey, string(resp.Body), resp.Header.Get("LicenseSignature")}}, true)
}
