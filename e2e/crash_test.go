package e2e

// Crash safety: 16 workers activate, deactivate, re-activate and track variables on many
// licenses; the server is killed with SIGKILL while requests are in flight, restarted on
// the same database, and every write it had answered with 200 must be there, with the
// store's invariants intact. Several kill/restart cycles run in one test; each checks
// everything written since the start. SQLite always (synchronous=normal and =full),
// PostgreSQL when LICENSOR_TEST_POSTGRES is set.
//
// Exactness: each worker owns the devices it created and drives them one request at a
// time, and every write carries a variable whose name no other request uses. So an
// acknowledged write is present iff its variable is, with the value sent; a device's
// state after its last acknowledged request is known exactly; the only unknown is the
// one request per worker in flight at the kill, which may or may not have committed
// (both are fine, and the checks accept either outcome for that request only).

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/licensor/licensor/client"
	"github.com/licensor/licensor/internal/pgtest"
)

const (
	crashWorkers   = 16
	crashRoomy     = 18   // licenses with room to spare
	crashTight     = 6    // licenses whose seats run out: activations race for them
	crashTightMax  = 6    // max_activations of a tight license
	crashRoomyMax  = 1000 // max_activations of a roomy license
	crashLoadMin   = 700 * time.Millisecond
	crashLoadRange = 800 * time.Millisecond // kill after crashLoadMin + [0, crashLoadRange)
)

func TestCrashSQLite(t *testing.T) {
	for _, mode := range []string{"normal", "full"} {
		t.Run("synchronous="+mode, func(t *testing.T) {
			db, c, err := initDB(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if mode != "normal" {
				db += "?synchronous=" + mode
			}
			cycles := 3
			if mode != "normal" {
				cycles = 2
			}
			crashRun(t, &server{db: db, creds: c}, cycles)
		})
	}
}

func TestCrashPostgres(t *testing.T) {
	db := pgtest.URL(t) // skips without LICENSOR_TEST_POSTGRES; its cleanup runs after the server stopped
	r, err := runCLI("init", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	if r.exit != 0 {
		t.Fatalf("init --db postgres: exit %d: %s", r.exit, r.stderr)
	}
	c, err := parseCreds(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	crashRun(t, &server{dir: t.TempDir(), db: db, creds: c}, 3)
}

// crashDevice is one device a worker tried to create, as far as acknowledged answers tell.
type crashDevice struct {
	lic     int    // index into the test's licenses
	hw      string // unique in the test
	id      int64  // device id from the acknowledged activation
	acked   bool   // the creating activation was answered with 200
	active  bool   // state after the last acknowledged request
	unsure  bool   // the last request on it was not answered: active may be either
	retired bool   // the worker no longer uses it (its last request was not answered)
	ctrAck  string // last acknowledged value of its "ctr" variable ("": none)
	ctrPend string // a "ctr" value sent after ctrAck and not answered ("": none)
}

// crashVar is a variable with a name used by one request only.
type crashVar struct {
	hw, name, value string
	acked           bool
	cycle           int
}

type crashWorker struct {
	id   int
	n    int // request counter, continued across cycles
	rng  *rand.Rand
	devs []*crashDevice
	vars []*crashVar
	errs []string // unexpected answers

	// per cycle
	acked, refused, pending int
	inFlight                bool // the request that failed was sent to a live server (not refused)
}

type crashLicense struct {
	id  int64
	key string
	max int64
}

type crashEnv struct {
	product  string
	licenses []*crashLicense
	workers  []*crashWorker
	killed   atomic.Bool
}

// crashRun drives cycles of load, SIGKILL, restart and verification on s (not started).
func crashRun(t *testing.T, s *server, cycles int) {
	began := time.Now()
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if exit, err := s.stop(); err != nil || exit != 0 {
			t.Errorf("server exit %d on SIGTERM (%v); output:\n%s", exit, err, s.stderr.String())
		}
	})
	f := newFixture(t, s, "license-key")
	var ls []lic
	for i := range crashRoomy + crashTight {
		m := crashRoomyMax
		if i%4 == 3 {
			m = crashTightMax
		}
		ls = append(ls, lic{maxActivations: m})
	}
	env := &crashEnv{product: f.product.ShortCode}
	for _, l := range f.order(ls...).Licenses {
		env.licenses = append(env.licenses, &crashLicense{id: l.ID, key: *l.LicenseKey, max: l.MaxActivations})
	}
	for w := range crashWorkers {
		env.workers = append(env.workers, &crashWorker{id: w, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))})
	}

	for cycle := 1; cycle <= cycles; cycle++ {
		env.load(t, s, cycle)
		for _, w := range env.workers {
			for _, e := range w.errs {
				t.Errorf("cycle %d worker %d: %s", cycle, w.id, e)
			}
			w.errs = nil
		}
		if t.Failed() {
			t.FailNow()
		}
		killedOut := s.stderr.String()
		restarted := time.Now()
		s.exit = 0 // serveOnce does not reset it: the next clean exit would still read 137
		if err := s.serve(); err != nil {
			t.Fatalf("cycle %d: restart after SIGKILL: %v", cycle, err)
		}
		restart := time.Since(restarted)
		ackedW, foundW, unackedW, committedW := env.verify(t, s, cycle)
		var acked, refused, pending, inFlight int
		for _, w := range env.workers {
			acked += w.acked
			refused += w.refused
			pending += w.pending
			if w.inFlight {
				inFlight++
			}
		}
		t.Logf("%s cycle %d: %d writes answered 200 (+%d refused with 400), %d in flight or refused at SIGKILL (%d had reached the server); restart %v; "+
			"all cycles: %d acknowledged writes, %d found after SIGKILL; %d unacknowledged, %d of them committed",
			crashDBKind(s), cycle, acked, refused, pending, inFlight, restart.Round(time.Millisecond), ackedW, foundW, unackedW, committedW)
		if t.Failed() {
			t.Logf("output of the killed server:\n%s\noutput of the restarted server:\n%s", killedOut, s.stderr.String())
			t.FailNow()
		}
	}
	t.Logf("%s: %d kill/restart cycles in %v", crashDBKind(s), cycles, time.Since(began).Round(time.Millisecond))
}

func crashDBKind(s *server) string {
	if strings.HasPrefix(s.db, "sqlite:") {
		if _, q, ok := strings.Cut(s.db, "?"); ok {
			return "SQLite " + q
		}
		return "SQLite synchronous=normal"
	}
	return "PostgreSQL"
}

// load runs the workers against s and kills s with SIGKILL while they are busy; it
// returns when every worker has stopped at its first unanswered request.
func (env *crashEnv) load(t *testing.T, s *server, cycle int) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * crashWorkers
	defer tr.CloseIdleConnections()
	c := s.client(t, client.WithHTTPClient(&http.Client{Transport: tr, Timeout: 20 * time.Second}))
	env.killed.Store(false)
	var wg sync.WaitGroup
	var ops atomic.Int64
	for _, w := range env.workers {
		w.acked, w.refused, w.pending, w.inFlight = 0, 0, 0, false
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(env, c, cycle, &ops)
		}()
	}
	// Kill once the load is under way, at a moment that varies from run to run (later
	// on a machine so busy that few requests were answered yet).
	time.Sleep(crashLoadMin + rand.N(crashLoadRange))
	for deadline := time.Now().Add(10 * time.Second); ops.Load() < 2*crashWorkers && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := ops.Load(); n < 2*crashWorkers {
		t.Errorf("cycle %d: only %d requests answered before SIGKILL", cycle, n)
	}
	env.killed.Store(true)
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10s of SIGKILL")
	}
	if s.exit != 128+int(syscall.SIGKILL) {
		t.Errorf("cycle %d: exit %d after SIGKILL, want %d", cycle, s.exit, 128+int(syscall.SIGKILL))
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("workers still running 30s after SIGKILL")
	}
}

// run sends requests until one is not answered (the server is gone).
func (w *crashWorker) run(env *crashEnv, c *client.Client, cycle int, ops *atomic.Int64) {
	for {
		w.n++
		n := w.n
		var ok bool
		switch r := w.rng.IntN(100); {
		case r < 30:
			ok = w.activateNew(env, c, cycle, n)
		case r < 75:
			ok = w.track(env, c, cycle, n)
		case r < 88:
			ok = w.deactivate(env, c, cycle, n)
		default:
			ok = w.reactivate(env, c, cycle, n)
		}
		if !ok {
			return
		}
		ops.Add(1)
	}
}

// pick returns a random usable device of the worker's with the given state, or nil.
func (w *crashWorker) pick(active bool) *crashDevice {
	if len(w.devs) == 0 {
		return nil
	}
	start := w.rng.IntN(len(w.devs))
	for i := range w.devs {
		d := w.devs[(start+i)%len(w.devs)]
		if d.acked && !d.retired && !d.unsure && d.active == active {
			return d
		}
	}
	return nil
}

func (env *crashEnv) identity(d *crashDevice) client.Identity {
	return client.Identity{Product: env.product, HardwareID: d.hw, LicenseKey: env.licenses[d.lic].key}
}

// outcome classifies the error of a request: nil (answered 200), an API error (answered
// with an error, nothing written), or unanswered (the server died). Anything else is
// recorded as unexpected; ok is false when the worker must stop.
func (w *crashWorker) outcome(env *crashEnv, what string, err error, allowed string) (answered, ok bool) {
	if err == nil {
		w.acked++
		return true, true
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		if ae.Status == 400 && ae.Code == allowed {
			w.refused++
			return false, true
		}
		w.errs = append(w.errs, fmt.Sprintf("%s: unexpected answer %d %s (%s)", what, ae.Status, ae.Code, ae.Message))
		return false, false
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF) || strings.HasPrefix(err.Error(), "client: read ") {
		if !env.killed.Load() {
			w.errs = append(w.errs, fmt.Sprintf("%s: failed before SIGKILL: %v", what, err))
		}
		w.pending++
		w.inFlight = !strings.Contains(err.Error(), "connection refused")
		return false, false
	}
	w.errs = append(w.errs, fmt.Sprintf("%s: %v", what, err))
	return false, false
}

func (w *crashWorker) activateNew(env *crashEnv, c *client.Client, cycle, n int) bool {
	d := &crashDevice{lic: w.rng.IntN(len(env.licenses)), hw: fmt.Sprintf("hw-w%d-n%d", w.id, n)}
	v := &crashVar{hw: d.hw, name: fmt.Sprintf("a_w%d_n%d", w.id, n), value: fmt.Sprintf("act %d/%d", w.id, n), cycle: cycle}
	l := env.licenses[d.lic]
	got, err := c.ActivateLicense(ctx(), client.ActivateRequest{Identity: env.identity(d), Variables: client.Vars{{Name: v.name, Value: v.value}}})
	answered, ok := w.outcome(env, "activate "+d.hw, err, "license_activated_max_times")
	switch {
	case answered:
		d.acked, d.active, d.id, v.acked = true, true, got.DeviceID, true
		if got.HardwareID != d.hw || got.DeviceID == 0 || got.ID != l.id || !crashHasVar(got.Variables, v) {
			w.errs = append(w.errs, fmt.Sprintf("activate %s: answer %.300s", d.hw, got.Raw))
		}
		if got.TimesActivated > l.max {
			w.errs = append(w.errs, fmt.Sprintf("activate %s: times_activated %d > max_activations %d", d.hw, got.TimesActivated, l.max))
		}
	case ok: // refused: nothing was written, so neither device nor variable may exist
		return true
	default: // unanswered: device and variable may or may not exist
		d.unsure, d.retired = true, true
	}
	w.devs = append(w.devs, d)
	w.vars = append(w.vars, v)
	return ok
}

func (w *crashWorker) track(env *crashEnv, c *client.Client, cycle, n int) bool {
	d := w.pick(true)
	if d == nil {
		return w.activateNew(env, c, cycle, n)
	}
	v := &crashVar{hw: d.hw, name: fmt.Sprintf("t_w%d_n%d", w.id, n), value: fmt.Sprintf("track %d/%d", w.id, n), cycle: cycle}
	ctr := fmt.Sprint(n)
	got, err := c.TrackDeviceVariables(ctx(), client.TrackRequest{Identity: env.identity(d), Variables: client.Vars{{Name: v.name, Value: v.value}, {Name: "ctr", Value: ctr}}})
	answered, ok := w.outcome(env, "track "+d.hw, err, "")
	w.vars = append(w.vars, v)
	if answered {
		v.acked, d.ctrAck = true, ctr
		if len(got) != 2 || got[0].Variable != v.name || got[0].Value != v.value || got[1].Variable != "ctr" || got[1].Value != ctr || got[0].DeviceID != d.id {
			w.errs = append(w.errs, fmt.Sprintf("track %s: answer %+v", d.hw, got))
		}
	} else {
		d.ctrPend, d.retired = ctr, true
	}
	return ok
}

func (w *crashWorker) deactivate(env *crashEnv, c *client.Client, cycle, n int) bool {
	d := w.pick(true)
	if d == nil {
		return w.activateNew(env, c, cycle, n)
	}
	v := &crashVar{hw: d.hw, name: fmt.Sprintf("d_w%d_n%d", w.id, n), value: fmt.Sprintf("deact %d/%d", w.id, n), cycle: cycle}
	err := c.DeactivateLicense(ctx(), client.DeactivateRequest{Identity: env.identity(d), Variables: client.Vars{{Name: v.name, Value: v.value}}})
	answered, ok := w.outcome(env, "deactivate "+d.hw, err, "")
	w.vars = append(w.vars, v)
	if answered {
		v.acked, d.active = true, false
	} else {
		d.unsure, d.retired = true, true
	}
	return ok
}

func (w *crashWorker) reactivate(env *crashEnv, c *client.Client, cycle, n int) bool {
	d := w.pick(false)
	if d == nil {
		return w.activateNew(env, c, cycle, n)
	}
	v := &crashVar{hw: d.hw, name: fmt.Sprintf("r_w%d_n%d", w.id, n), value: fmt.Sprintf("react %d/%d", w.id, n), cycle: cycle}
	got, err := c.ActivateLicense(ctx(), client.ActivateRequest{Identity: env.identity(d), Variables: client.Vars{{Name: v.name, Value: v.value}}})
	answered, ok := w.outcome(env, "re-activate "+d.hw, err, "license_activated_max_times")
	switch {
	case answered:
		v.acked, d.active = true, true
		if got.DeviceID != d.id || !crashHasVar(got.Variables, v) {
			w.errs = append(w.errs, fmt.Sprintf("re-activate %s: answer %.300s", d.hw, got.Raw))
		}
		w.vars = append(w.vars, v)
	case ok: // refused: the variable must not exist
	default:
		d.unsure, d.retired = true, true
		w.vars = append(w.vars, v)
	}
	return ok
}

func crashHasVar(vs []client.TrackedVariable, v *crashVar) bool {
	for _, x := range vs {
		if x.Variable == v.name {
			return x.Value == v.value
		}
	}
	return false
}

// crashOpenDB opens the server's database for reading (beside the running server).
func crashOpenDB(t *testing.T, s *server) *sql.DB {
	t.Helper()
	if path, ok := strings.CutPrefix(s.db, "sqlite:"); ok {
		path, _, _ = strings.Cut(path, "?")
		db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db, err := sql.Open("pgx", s.db)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// crashRows runs q, scans each row into dest and then calls each.
func crashRows(t *testing.T, db *sql.DB, q string, dest []any, each func()) {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		each()
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func crashCount(t *testing.T, db *sql.DB, q string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// verify checks the restarted server's database against every answer the workers got
// and returns the acknowledged writes, how many of them were found, the unacknowledged
// writes and how many of those committed anyway.
func (env *crashEnv) verify(t *testing.T, s *server, cycle int) (acked, found, unacked, committed int) {
	const maxReported = 30
	failures := 0
	bad := func(format string, args ...any) {
		t.Helper()
		if failures++; failures <= maxReported {
			t.Errorf("cycle %d: "+format, append([]any{cycle}, args...)...)
		}
	}
	defer func() {
		if failures > maxReported {
			t.Errorf("cycle %d: %d more failures not shown", cycle, failures-maxReported)
		}
	}()
	db := crashOpenDB(t, s)
	defer db.Close()

	// Invariants over the whole database.
	for _, q := range []struct{ what, q string }{
		{"duplicate (license, hardware_id) devices", `SELECT COUNT(*) FROM (SELECT license_id, hardware_id FROM devices GROUP BY license_id, hardware_id HAVING COUNT(*) > 1) x`},
		{"duplicate (device, name) variables", `SELECT COUNT(*) FROM (SELECT device_id, name FROM device_variables GROUP BY device_id, name HAVING COUNT(*) > 1) x`},
		{"variables without a device", `SELECT COUNT(*) FROM device_variables v LEFT JOIN devices d ON d.id = v.device_id WHERE d.id IS NULL`},
		{"devices without a license", `SELECT COUNT(*) FROM devices d LEFT JOIN licenses l ON l.id = d.license_id WHERE l.id IS NULL`},
		{"devices of another company than their license", `SELECT COUNT(*) FROM devices d JOIN licenses l ON l.id = d.license_id WHERE l.company_id <> d.company_id`},
		{"licenses without a product or order", `SELECT COUNT(*) FROM licenses l LEFT JOIN products p ON p.id = l.product_id LEFT JOIN orders o ON o.id = l.order_id WHERE p.id IS NULL OR o.id IS NULL`},
		{"licenses whose times_activated is not their number of active devices", `SELECT COUNT(*) FROM licenses l WHERE l.times_activated <> (SELECT COUNT(*) FROM devices d WHERE d.license_id = l.id AND d.active)`},
		{"licenses over max_activations", `SELECT COUNT(*) FROM licenses l WHERE NOT l.allow_unlimited_activations AND l.times_activated > l.max_activations`},
	} {
		if n := crashCount(t, db, q.q); n != 0 {
			bad("%d %s", n, q.what)
		}
	}
	if strings.HasPrefix(s.db, "sqlite:") {
		var ic string
		if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ic); err != nil || ic != "ok" {
			bad("PRAGMA integrity_check: %q %v", ic, err)
		}
		var fk []string
		var table string
		var rowid, parent, fkid any
		crashRows(t, db, `PRAGMA foreign_key_check`, []any{&table, &rowid, &parent, &fkid}, func() {
			fk = append(fk, fmt.Sprintf("%s row %v → %v", table, rowid, parent))
		})
		if len(fk) != 0 {
			bad("PRAGMA foreign_key_check: violations in %v", fk)
		}
	}

	// The test's rows.
	var ids []string
	for _, l := range env.licenses {
		ids = append(ids, fmt.Sprint(l.id))
	}
	in := "(" + strings.Join(ids, ",") + ")"
	type devRow struct {
		id, license int64
		active      int64
	}
	devRows := map[string]devRow{}
	var hw, name, value string
	var dr devRow
	crashRows(t, db, `SELECT id, license_id, hardware_id, CASE WHEN active THEN 1 ELSE 0 END FROM devices WHERE license_id IN `+in,
		[]any{&dr.id, &dr.license, &hw, &dr.active}, func() { devRows[hw] = dr })
	varRows := map[[2]string]string{} // (hardware_id, name) → value
	crashRows(t, db, `SELECT d.hardware_id, v.name, v.value FROM device_variables v JOIN devices d ON d.id = v.device_id WHERE d.license_id IN `+in,
		[]any{&hw, &name, &value}, func() { varRows[[2]string{hw, name}] = value })
	type licRow struct{ times, max, active int64 }
	licRows := map[int64]licRow{}
	var lid int64
	var lr licRow
	crashRows(t, db, `SELECT l.id, l.times_activated, l.max_activations, (SELECT COUNT(*) FROM devices d WHERE d.license_id = l.id AND d.active) FROM licenses l WHERE l.id IN `+in,
		[]any{&lid, &lr.times, &lr.max, &lr.active}, func() { licRows[lid] = lr })
	if len(licRows) != len(env.licenses) {
		t.Fatalf("cycle %d: %d of %d licenses found", cycle, len(licRows), len(env.licenses))
	}

	known := map[string]bool{}
	sent := map[[2]string]bool{}
	var sample []*crashDevice
	for _, w := range env.workers {
		for _, d := range w.devs {
			known[d.hw] = true
			r, exists := devRows[d.hw]
			want := env.licenses[d.lic].id
			switch {
			case d.acked && !exists:
				bad("acknowledged activation of %s on license %d (device %d) lost", d.hw, want, d.id)
				continue
			case !exists:
				continue
			}
			if r.license != want || (d.acked && r.id != d.id) {
				bad("device %s: row id %d license %d, want id %d license %d", d.hw, r.id, r.license, d.id, want)
			}
			if !d.unsure && (r.active == 1) != d.active {
				bad("device %s: active=%d, acknowledged state active=%v", d.hw, r.active, d.active)
			}
			if !d.acked && r.active != 1 { // nothing was sent on it after its activation
				bad("device %s from an unanswered activation exists inactive", d.hw)
			}
			ctr, has := varRows[[2]string{d.hw, "ctr"}]
			switch {
			case has && ctr == d.ctrAck, has && d.ctrPend != "" && ctr == d.ctrPend:
			case !has && d.ctrAck == "":
			default:
				bad("device %s: ctr stored %q (present %v), acknowledged %q, unanswered %q", d.hw, ctr, has, d.ctrAck, d.ctrPend)
			}
			if d.ctrAck != "" || d.ctrPend != "" {
				sent[[2]string{d.hw, "ctr"}] = true
			}
			if d.acked && !d.unsure && d.active && len(sample) < 40 {
				sample = append(sample, d)
			}
		}
		for _, v := range w.vars {
			k := [2]string{v.hw, v.name}
			sent[k] = true
			got, has := varRows[k]
			if v.acked {
				acked++
				if has && got == v.value {
					found++
				} else {
					bad("acknowledged variable %s=%q of device %s (cycle %d): stored %q (present %v)", v.name, v.value, v.hw, v.cycle, got, has)
				}
				continue
			}
			unacked++
			if has {
				committed++
				if got != v.value {
					bad("unanswered variable %s of device %s: stored %q, sent %q", v.name, v.hw, got, v.value)
				}
			}
		}
	}
	for hw := range devRows {
		if !known[hw] {
			bad("device %s exists but its activation was refused or never sent", hw)
		}
	}
	var phantom []string
	for k := range varRows {
		if !sent[k] {
			phantom = append(phantom, k[0]+"/"+k[1])
		}
	}
	if len(phantom) > 0 {
		sort.Strings(phantom)
		bad("%d variables exist that were refused or never sent: %.20v", len(phantom), phantom)
	}
	for i, l := range env.licenses {
		r := licRows[l.id]
		if r.times != r.active || r.times > l.max || r.max != l.max {
			bad("license %d (#%d): times_activated %d, %d active devices, max_activations %d (want %d)", l.id, i, r.times, r.active, r.max, l.max)
		}
	}

	// Through the APIs of the restarted server: the management API agrees with the
	// database, and a sample of active devices checks and shows its variables.
	m := s.mgmt(t)
	for _, l := range env.licenses {
		var ml mlicense
		m.call("GET", fmt.Sprintf("/api/v1/licenses/%d/", l.id), nil, 200, &ml)
		if ml.TimesActivated != licRows[l.id].times {
			bad("license %d: management API times_activated %d, database %d", l.id, ml.TimesActivated, licRows[l.id].times)
		}
	}
	c := s.client(t)
	for _, d := range sample {
		if _, err := c.CheckLicense(ctx(), checkReq(env.identity(d))); err != nil {
			bad("check_license of active device %s after restart: %v", d.hw, err)
			continue
		}
		vs, err := c.GetDeviceVariables(ctx(), env.identity(d))
		if err != nil {
			bad("get_device_variables of %s after restart: %v", d.hw, err)
			continue
		}
		stored := map[string]string{}
		for _, v := range vs {
			stored[v.Variable] = v.Value
		}
		for _, w := range env.workers {
			for _, v := range w.vars {
				if v.hw == d.hw && v.acked && stored[v.name] != v.value {
					bad("get_device_variables of %s: %s=%q, acknowledged %q", d.hw, v.name, stored[v.name], v.value)
				}
			}
		}
	}
	return acked, found, unacked, committed
}
