package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const masterKey = "e2e-master-key-0123456789-abcdefghij"

// TestMasterKeySealsSecrets: with LICENSOR_MASTER_KEY set, shared keys and signing keys
// never reach the database in the clear, the server works as before, and it refuses to
// start without the key or with another one.
func TestMasterKeySealsSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "licensor.db")
	withKey := []string{"LICENSOR_MASTER_KEY=" + masterKey}
	r, err := runCLIEnv(withKey, "init", "--db", db, "--json")
	if err != nil || r.exit != 0 {
		t.Fatalf("init: exit %d, %v, %s", r.exit, err, r.stderr)
	}
	if strings.Contains(r.stderr, "no master key") {
		t.Errorf("init warned about a missing master key although one is set: %s", r.stderr)
	}
	c, err := parseCreds(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{dir: dir, db: db, creds: c, env: withKey}
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	if strings.Contains(s.stderr.String(), "no master key") {
		t.Errorf("serve warned about a missing master key although one is set")
	}
	// A full round trip: the client verifies the signatures with the public key.
	f := newFixture(t, s, "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-sealed")
	f.activate(id)
	if _, err := f.c.TrackDeviceVariables(ctx(), trackReq(id, "app_ver", "1.0")); err != nil {
		t.Fatal(err)
	}
	// Another key pair made through the management API is sealed too.
	var ak struct {
		Key       string `json:"api_key"`
		SharedKey string `json:"shared_key"`
	}
	f.m.call("POST", "/api/v1/api-keys/", map[string]any{}, 201, &ak)
	if _, err := s.clientWith(t, ak.Key, ak.SharedKey).CheckLicense(ctx(), checkReq(id)); err != nil {
		t.Fatalf("check with the new key pair: %v", err)
	}
	settle()
	snap := dbSnapshot(t, s)
	for _, secret := range []string{c.SharedKey, ak.SharedKey, "PRIVATE KEY", masterKey} {
		if strings.Contains(snap, secret) {
			t.Errorf("the database holds %q in the clear", secret)
		}
	}
	if !strings.Contains(snap, "sealed:v1:") {
		t.Error("no sealed value in the database")
	}
	if exit, err := s.stop(); err != nil || exit != 0 {
		t.Fatalf("stop: %d, %v", exit, err)
	}

	// Without the key, or with a wrong one, serve refuses to start and says why.
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"no key", nil, "LICENSOR_MASTER_KEY"},
		{"wrong key", []string{"LICENSOR_MASTER_KEY=" + strings.Repeat("w", 40)}, "wrong LICENSOR_MASTER_KEY"},
		{"short key", []string{"LICENSOR_MASTER_KEY=short"}, "at least 32"},
	} {
		bad := &server{dir: dir, db: db, creds: c, env: tc.env}
		err := bad.serve()
		bad.stop() // should it have started
		if err == nil {
			t.Errorf("%s: serve started", tc.name)
			continue
		}
		if !strings.Contains(bad.stderr.String(), tc.want) {
			t.Errorf("%s: serve output does not say %q:\n%s", tc.name, tc.want, bad.stderr.String())
		}
	}

	// A key file works as well as the variable.
	file := filepath.Join(dir, "master.key")
	if err := os.WriteFile(file, []byte(masterKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.env = []string{"LICENSOR_MASTER_KEY_FILE=" + file}
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.client(t).CheckLicense(ctx(), checkReq(id)); err != nil {
		t.Fatalf("check after restart with the key file: %v", err)
	}
}

// TestMasterKeySealsExistingDatabase: a database written without a master key gets a
// startup warning, a start with a key says how to seal it, `licensor seal-secrets`
// seals it, and a `company create` with another key is refused before it writes.
func TestMasterKeySealsExistingDatabase(t *testing.T) {
	t.Parallel()
	s := newServer(t) // initialised without a key
	if !strings.Contains(s.stderr.String(), "no master key is configured") {
		t.Errorf("serve without a master key did not warn:\n%s", s.stderr.String())
	}
	f := newFixture(t, s, "license-key")
	id := f.keyID(f.keyLicense(1), "hw-1")
	f.activate(id)
	if snap := dbSnapshot(t, s); !strings.Contains(snap, s.creds.SharedKey) {
		t.Fatal("expected the plaintext shared key before sealing")
	}
	if exit, err := s.stop(); err != nil || exit != 0 {
		t.Fatalf("stop: %d, %v", exit, err)
	}
	withKey := []string{"LICENSOR_MASTER_KEY=" + masterKey}
	s.env = withKey
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.stderr.String(), "licensor seal-secrets") {
		t.Errorf("a start with a key over plaintext secrets did not point to seal-secrets:\n%s", s.stderr.String())
	}
	if exit, err := s.stop(); err != nil || exit != 0 {
		t.Fatalf("stop: %d, %v", exit, err)
	}
	r, err := runCLIEnv(withKey, "seal-secrets", "--db", s.db)
	if err != nil || r.exit != 0 || !strings.Contains(r.stdout, "sealed 2 secrets") {
		t.Fatalf("seal-secrets: exit %d, %v, %q %q", r.exit, err, r.stdout, r.stderr)
	}
	if r, _ := runCLI("seal-secrets", "--db", s.db); r.exit == 0 {
		t.Error("seal-secrets without a key exited 0")
	}
	// Another key cannot add a company (its secrets would be sealed under that key).
	r, err = runCLIEnv([]string{"LICENSOR_MASTER_KEY=" + strings.Repeat("z", 40)}, "company", "create", "--db", s.db, "--name", "other", "--json")
	if err != nil || r.exit == 0 || !strings.Contains(r.stderr, "wrong LICENSOR_MASTER_KEY") {
		t.Errorf("company create with another key: exit %d, %v, %s", r.exit, err, r.stderr)
	}
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	snap := dbSnapshot(t, s)
	if strings.Contains(snap, s.creds.SharedKey) || strings.Contains(snap, "PRIVATE KEY") {
		t.Fatal("secrets still in the clear after seal-secrets")
	}
	if _, err := s.client(t).CheckLicense(ctx(), checkReq(id)); err != nil {
		t.Fatalf("check after sealing: %v", err)
	}
}
