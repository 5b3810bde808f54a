package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/client"
)

// TestLogsHoldNoSecrets drives a full run — every License API endpoint, the management
// API, failed authentications with real and forged secrets, a raw malformed request and
// a restart — and then greps everything the server wrote for every secret it handled.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "licensor.db")
	r, err := runCLIEnv([]string{"LICENSOR_MASTER_KEY=" + masterKey}, "init", "--db", db, "--json")
	if err != nil || r.exit != 0 {
		t.Fatalf("init: %v %s", err, r.stderr)
	}
	c, err := parseCreds(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{dir: dir, db: db, creds: c, env: []string{"LICENSOR_MASTER_KEY=" + masterKey}}
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	defer func() {
		s.stop()
	}()

	secrets := []string{c.ManagementKey, c.SharedKey, masterKey, "PRIVATE KEY"}
	_, mkSecret, _ := strings.Cut(c.ManagementKey, ".")
	secrets = append(secrets, mkSecret)

	// Key-based and user-based licenses through every endpoint.
	f := newFixture(t, s, "license-key")
	l := f.keyLicense(2)
	id := f.keyID(l, "hw-log")
	f.activate(id)
	if _, err := f.c.CheckLicense(ctx(), checkReq(id)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.TrackDeviceVariables(ctx(), trackReq(id, "seats", 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.GetDeviceVariables(ctx(), id); err != nil {
		t.Fatal(err)
	}
	if err := f.c.DeactivateLicense(ctx(), deactReq(id)); err != nil {
		t.Fatal(err)
	}
	uf := newFixture(t, s, "user")
	password := "pw-" + uniq("secret-password-")
	email := uniq("user") + "@example.com"
	uf.userLicense(email, password, 1)
	if _, err := uf.c.ActivateLicense(ctx(), activateUser(uf, "hw-user", email, password)); err != nil {
		t.Fatal(err)
	}
	wrongPassword := "wrong-" + password
	if _, err = uf.c.ActivateLicense(ctx(), activateUser(uf, "hw-user-2", email, wrongPassword)); err == nil {
		t.Fatal("wrong password accepted")
	}
	secrets = append(secrets, password, wrongPassword)

	// Management API: a new key pair (its secret is shown once), then a revoke.
	var ak struct {
		ID        int64  `json:"id"`
		Key       string `json:"api_key"`
		SharedKey string `json:"shared_key"`
	}
	f.m.call("POST", "/api/v1/api-keys/", map[string]any{}, 201, &ak)
	secrets = append(secrets, ak.SharedKey)
	f.m.call("POST", fmt.Sprintf("/api/v1/api-keys/%d/revoke/", ak.ID), nil, 200, nil)
	_, err = s.clientWith(t, ak.Key, ak.SharedKey).CheckLicense(ctx(), checkReq(id))
	if err == nil {
		t.Fatal("revoked key accepted")
	}

	// Forged and malformed credentials: a wrong shared key, a wrong management secret.
	forgedShared := "forged-" + uniq("shared-key-")
	_, err = s.clientWith(t, c.APIKey, forgedShared).CheckLicense(ctx(), checkReq(id))
	if err == nil {
		t.Fatal("forged shared key accepted")
	}
	forgedMK := strings.SplitN(c.ManagementKey, ".", 2)[0] + ".forged" + uniq("secret")
	if st, _ := rawMgmt(t, s.root, "Api-Key "+forgedMK, "GET", "/api/v1/products/", nil); st != 401 {
		t.Fatalf("forged management key: %d", st)
	}
	secrets = append(secrets, forgedShared, forgedMK)

	// A raw request the HTTP server itself rejects, carrying a secret in a header.
	if conn, err := net.Dial("tcp", s.addr); err == nil {
		fmt.Fprintf(conn, "GET /api/v1/products/ HTTP/1.1\r\nHost: x\r\nAuthorization: Api-Key %s\r\nBad Header\r\n\r\n", c.ManagementKey)
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 512)
		conn.Read(buf)
		conn.Close()
	}

	// Restart (startup logs, the secrets check), then stop: every line of both runs.
	if exit, err := s.stop(); err != nil || exit != 0 {
		t.Fatalf("stop: %d %v", exit, err)
	}
	logs.WriteString(s.stderr.String())
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client(t).CheckLicense(ctx(), checkReq(client.Identity{Product: uf.product.ShortCode, HardwareID: "hw-user", Username: email})); err != nil {
		t.Fatal(err)
	}
	if exit, err := s.stop(); err != nil || exit != 0 {
		t.Fatalf("stop: %d %v", exit, err)
	}
	logs.WriteString(s.stderr.String())
	logs.WriteString(r.stderr) // init's own output (its stdout holds the credentials by design)

	out := logs.String()
	if !strings.Contains(out, "licensor listening") {
		t.Fatalf("no server log captured:\n%s", out)
	}
	for _, secret := range secrets {
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("the logs contain the secret %q", secret)
		}
	}
	t.Logf("grepped %d bytes of logs for %d secrets", len(out), len(secrets))
}
