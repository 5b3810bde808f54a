package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeedThenBenchFleet: `licensor seed` fills a fresh database, `serve` serves it,
// and `licensor bench --fleet` drives the seeded devices with track-steady without a
// single error, a failed signature or a write to the database.
func TestSeedThenBenchFleet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, c, err := initDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	seed := func(args ...string) cliResult {
		t.Helper()
		r, err := runCLI(append([]string{"seed", "--db", db}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := seed("--product", "fleet", "--devices", "300", "--variables", "6", "--batch", "128")
	if r.exit != 0 || !strings.Contains(r.stdout, "seeded product fleet: 300 devices with 6 variables each (300 created in 3 transactions, 0 already there)") {
		t.Fatalf("seed: exit %d\nstdout %s\nstderr %s", r.exit, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stderr, "seed: devices "); n != 3 {
		t.Errorf("%d progress lines, want one per batch:\n%s", n, r.stderr)
	}
	// Run again: resumes, writes nothing new.
	if r := seed("--product", "fleet", "--devices", "300", "--variables", "6"); r.exit != 0 || !strings.Contains(r.stdout, "(0 created in 0 transactions, 300 already there)") {
		t.Fatalf("seed again: exit %d\nstdout %s\nstderr %s", r.exit, r.stdout, r.stderr)
	}
	for _, bad := range [][]string{{"--product", "fleet"}, {"--devices", "3"}, {"--product", "x", "--devices", "3", "--company", "9"}} {
		if r := seed(bad...); r.exit == 0 {
			t.Errorf("seed %v: exit 0", bad)
		}
	}

	s := &server{dir: dir, db: db, creds: c}
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop() })
	pub := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pub, []byte(c.PublicKey), 0o600); err != nil {
		t.Fatal(err)
	}
	bench := func(args ...string) cliResult {
		t.Helper()
		r, err := runCLI(append([]string{"bench", "--target", s.root, "--fleet", "fleet", "--api-key", c.APIKey,
			"--shared-key", c.SharedKey, "--public-key", pub, "--devices", "300", "--concurrency", "8"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// Steady tracking writes nothing but the remembered signatures of its answers.
	memo := []string{"devices.memo_license_digest", "devices.memo_license_sig", "devices.memo_check_digest", "devices.memo_check_sig",
		"devices.memo_track_digest", "devices.memo_track_sig", "devices.memo_variables_digest", "devices.memo_variables_sig"}
	before := dbSnapshot(t, s, memo...)
	prof := filepath.Join(dir, "bench.prof")
	r = bench("--workload", "track-steady", "--variables", "5", "--duration", "2s", "--fail-on-error", "--json", "--cpuprofile", prof)
	if r.exit != 0 {
		t.Fatalf("bench --fleet: exit %d\nstdout %s\nstderr %s", r.exit, r.stdout, r.stderr)
	}
	if b, err := os.ReadFile(prof); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b { // a gzipped pprof profile
		t.Errorf("bench --cpuprofile: %d bytes, %v", len(b), err)
	}
	var rep struct {
		Workload   string `json:"workload"`
		Devices    int    `json:"devices"`
		Product    string `json:"product"`
		Preseeded  bool   `json:"preseeded"`
		Requests   int64  `json:"requests"`
		ErrorCount int64  `json:"error_count"`
		Signatures struct {
			Sampled, Verified int64
		} `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("bench report: %v\n%s", err, r.stdout)
	}
	if rep.Workload != "track-steady" || rep.Devices != 300 || rep.Product != "fleet" || !rep.Preseeded || rep.Requests < 100 ||
		rep.ErrorCount != 0 || rep.Signatures.Sampled == 0 || rep.Signatures.Verified != rep.Signatures.Sampled {
		t.Fatalf("bench report %+v\n%s", rep, r.stdout)
	}
	if after := dbSnapshot(t, s, memo...); after != before {
		t.Errorf("track-steady on the seeded fleet changed the database")
	}

	// A workload that churns its own devices is refused on a fleet; so is a fleet
	// larger than what was seeded.
	if r := bench("--workload", "activate-churn", "--duration", "1s"); r.exit == 0 || !strings.Contains(r.stderr, "without --fleet") {
		t.Errorf("activate-churn --fleet: exit %d, stderr %s", r.exit, r.stderr)
	}
	if r := bench("--workload", "check", "--devices", "301", "--duration", "1s"); r.exit == 0 || !strings.Contains(r.stderr, "license_not_found") {
		t.Errorf("--devices 301 on a 300-device fleet: exit %d, stderr %s", r.exit, r.stderr)
	}
}
