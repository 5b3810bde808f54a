package e2e

// Several `licensor serve` processes on one PostgreSQL schema, the deployment the
// PostgreSQL Store exists for. Requests are spread round-robin over the instances;
// every rule that holds for one instance must hold for the cluster, and no instance
// may answer from state another instance already changed. Skipped without
// LICENSOR_TEST_POSTGRES (see internal/pgtest).

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/client"
	"github.com/licensor/licensor/internal/pgtest"
)

const instances = 3

// apiCode returns the wire code of a License API error ("" for nil; "!" plus the error
// text for an error that is not an API answer).
func apiCode(err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.Status, ae.Code
	}
	return 0, "!" + err.Error()
}

// TestMultiInstanceActivationSeats: 60 devices racing for 7 seats of one license over
// three instances get exactly 7; every instance then reports the same, consistent count.
func TestMultiInstanceActivationSeats(t *testing.T) {
	cl := newPGCluster(t, instances)
	f := newFixture(t, cl.servers[0], "license-key")
	const seats, racers = 7, 60
	l := f.keyLicense(seats)
	cs := cl.clients(t)

	type result struct {
		lic *client.License
		err error
	}
	res := make([]result, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a, err := cs[i%instances].ActivateLicense(ctx(), activateReq(f.keyID(l, fmt.Sprintf("hw-seat-%d", i))))
			res[i] = result{a, err}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d activations over %d instances in %v", racers, instances, time.Since(began))

	var won []string
	var counts []int64
	for i, r := range res {
		hw := fmt.Sprintf("hw-seat-%d", i)
		if r.err != nil {
			wantAPIErr(t, fmt.Sprintf("racer %d (instance %d)", i, i%instances), r.err, 400, "license_activated_max_times")
			continue
		}
		won = append(won, hw)
		counts = append(counts, r.lic.TimesActivated)
		if r.lic.HardwareID != hw || r.lic.DeviceID == 0 {
			t.Errorf("racer %d: activation answer hardware_id %q device_id %d", i, r.lic.HardwareID, r.lic.DeviceID)
		}
	}
	if len(won) != seats {
		t.Fatalf("%d activations succeeded, want exactly %d (max_activations): %v", len(won), seats, won)
	}
	// Activations are serialised on the license: the winners saw 1, 2, …, seats.
	slices.Sort(counts)
	for i, c := range counts {
		if c != int64(i+1) {
			t.Errorf("times_activated in the winners' answers %v, want 1..%d each once", counts, seats)
			break
		}
	}
	sort.Strings(won)

	for i, s := range cl.servers {
		m := s.mgmt(t)
		var ml mlicense
		m.call("GET", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), nil, 200, &ml)
		devs := allDevices(t, m, l.ID)
		var active []string
		for _, d := range devs {
			if d.DeviceActive {
				active = append(active, d.HardwareID)
			}
		}
		sort.Strings(active)
		if ml.TimesActivated != int64(len(active)) || ml.TimesActivated != seats {
			t.Errorf("instance %d: times_activated %d, %d active devices, want both %d", i, ml.TimesActivated, len(active), seats)
		}
		if len(devs) != seats {
			t.Errorf("instance %d: %d device rows, want %d (refused activations create none)", i, len(devs), seats)
		}
		if !slices.Equal(active, won) {
			t.Errorf("instance %d: active devices %v, want the winners %v", i, active, won)
		}
	}
	// Every instance accepts a winner's check and refuses one more seat.
	for i, c := range cs {
		if _, err := c.CheckLicense(ctx(), checkReq(f.keyID(l, won[i%len(won)]))); err != nil {
			t.Errorf("instance %d: check of active device %s: %v", i, won[i%len(won)], err)
		}
		_, err := c.ActivateLicense(ctx(), activateReq(f.keyID(l, fmt.Sprintf("hw-late-%d", i))))
		wantAPIErr(t, fmt.Sprintf("instance %d: activation past the limit", i), err, 400, "license_activated_max_times")
	}
}

// TestMultiInstanceTrackVariables: 30 writers track variables on one device through
// three instances, each with 10 names of its own and 5 names every writer overwrites.
func TestMultiInstanceTrackVariables(t *testing.T) {
	cl := newPGCluster(t, instances)
	f := newFixture(t, cl.servers[0], "license-key")
	l := f.keyLicense(1)
	id := f.keyID(l, "hw-vars")
	dev := f.activate(id)
	cs := cl.clients(t)

	const writers, rounds, own, common = 30, 3, 10, 5
	value := func(w, r int) string { return fmt.Sprintf("w%d-r%d", w, r) }
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for r := range rounds {
				var vs client.Vars
				for k := range common {
					vs = append(vs, client.Var{Name: fmt.Sprintf("common-%d", k), Value: value(w, r)})
				}
				for k := range own {
					vs = append(vs, client.Var{Name: fmt.Sprintf("own-%d-%d", w, k), Value: value(w, r)})
				}
				inst := (w + r) % instances // one writer's rounds hop between instances
				got, err := cs[inst].TrackDeviceVariables(ctx(), client.TrackRequest{Identity: id, Variables: vs})
				if err != nil {
					errs[w] = fmt.Errorf("round %d on instance %d: %w", r, inst, err)
					return
				}
				if len(got) != len(vs) {
					errs[w] = fmt.Errorf("round %d on instance %d: %d variables answered, %d sent", r, inst, len(got), len(vs))
					return
				}
				for i, g := range got {
					if g.Variable != vs[i].Name || g.Value != value(w, r) || g.DeviceID != dev.DeviceID {
						errs[w] = fmt.Errorf("round %d on instance %d: answer %d is %+v, sent %s=%s on device %d", r, inst, i, g, vs[i].Name, value(w, r), dev.DeviceID)
						return
					}
				}
			}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d track requests over %d instances in %v", writers*rounds, instances, time.Since(began))
	for w, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", w, err)
		}
	}

	const total = writers*own + common
	valueRE := regexp.MustCompile(`^w(\d+)-r(\d+)$`)
	for i, c := range cs {
		vs, err := c.GetDeviceVariables(ctx(), id)
		if err != nil {
			t.Fatalf("instance %d: get_device_variables: %v", i, err)
		}
		byName := map[string]string{}
		for _, v := range vs {
			if _, dup := byName[v.Variable]; dup {
				t.Errorf("instance %d: variable %q listed twice", i, v.Variable)
			}
			byName[v.Variable] = v.Value
			if v.DeviceID != dev.DeviceID {
				t.Errorf("instance %d: variable %q has device_id %d, want %d", i, v.Variable, v.DeviceID, dev.DeviceID)
			}
		}
		if len(vs) != total || len(byName) != total {
			t.Errorf("instance %d: %d variables (%d names), want %d", i, len(vs), len(byName), total)
		}
		// A writer's rounds are sequential, so its own names hold its last round.
		for w := range writers {
			for k := range own {
				name := fmt.Sprintf("own-%d-%d", w, k)
				if got, ok := byName[name]; !ok {
					t.Errorf("instance %d: variable %s missing", i, name)
				} else if got != value(w, rounds-1) {
					t.Errorf("instance %d: %s = %q, want the writer's last value %q", i, name, got, value(w, rounds-1))
				}
			}
		}
		// The common names hold a value some writer sent; one request is applied as a
		// whole, so all of them hold the same request's value.
		var first string
		for k := range common {
			name := fmt.Sprintf("common-%d", k)
			got, ok := byName[name]
			if !ok {
				t.Errorf("instance %d: variable %s missing", i, name)
				continue
			}
			var w, r int
			if m := valueRE.FindStringSubmatch(got); m == nil {
				t.Errorf("instance %d: %s = %q, never written", i, name, got)
				continue
			} else if fmt.Sscan(m[1], &w); w >= writers || fmt.Sprint(w) != m[1] {
				t.Errorf("instance %d: %s = %q, never written", i, name, got)
			} else if fmt.Sscan(m[2], &r); r >= rounds || fmt.Sprint(r) != m[2] {
				t.Errorf("instance %d: %s = %q, never written", i, name, got)
			}
			if k == 0 {
				first = got
			} else if got != first {
				t.Errorf("instance %d: common-0 = %q but %s = %q: track requests interleaved", i, first, name, got)
			}
		}
	}
	// The management API sees the same rows.
	for i, s := range cl.servers {
		var p page[struct {
			Variable string `json:"variable"`
		}]
		s.mgmt(t).call("GET", fmt.Sprintf("/api/v1/device-variables/?device=%d&limit=1", dev.DeviceID), nil, 200, &p)
		if p.Count != total {
			t.Errorf("instance %d: management API counts %d variables, want %d", i, p.Count, total)
		}
	}
}

// TestMultiInstanceActivateDeactivateRace: activations and deactivations of a few
// hardware ids (mostly one) race over three instances; afterwards the counter equals
// the active rows and each (license, hardware_id) has one row.
func TestMultiInstanceActivateDeactivateRace(t *testing.T) {
	cl := newPGCluster(t, instances)
	f := newFixture(t, cl.servers[0], "license-key")
	const seats = 2
	l := f.keyLicense(seats)
	cs := cl.clients(t)
	hws := []string{"hw-hot", "hw-b", "hw-c", "hw-d"}

	const racers, ops = 45, 6
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	type outcome struct {
		op, hw, code string
		inst         int
		lic          *client.License
	}
	outs := make([][]outcome, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			<-start
			for j := range ops {
				hw := hws[0] // half the operations hit one device
				if rng.IntN(2) == 0 {
					hw = hws[1+rng.IntN(len(hws)-1)]
				}
				inst := (g + j) % instances
				o := outcome{hw: hw, inst: inst}
				var err error
				if rng.IntN(2) == 0 {
					o.op = "activate"
					o.lic, err = cs[inst].ActivateLicense(ctx(), activateReq(f.keyID(l, hw)))
				} else {
					o.op = "deactivate"
					err = cs[inst].DeactivateLicense(ctx(), deactReq(f.keyID(l, hw)))
				}
				_, o.code = apiCode(err)
				outs[g] = append(outs[g], o)
			}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d activations/deactivations over %d instances in %v", racers*ops, instances, time.Since(began))

	tally := map[string]int{}
	everActive := map[string]bool{}
	for g, gos := range outs {
		for j, o := range gos {
			tally[o.op+" "+o.code]++
			what := fmt.Sprintf("racer %d op %d: %s %s on instance %d", g, j, o.op, o.hw, o.inst)
			switch {
			case o.op == "activate" && o.code == "":
				everActive[o.hw] = true
				if o.lic.TimesActivated < 1 || o.lic.TimesActivated > seats {
					t.Errorf("%s: answer times_activated %d, want 1..%d", what, o.lic.TimesActivated, seats)
				}
			case o.op == "activate" && o.code == "license_activated_max_times":
			case o.op == "deactivate" && (o.code == "" || o.code == "device_not_found" || o.code == "license_not_active"):
			default:
				t.Errorf("%s: got %q, want success or a documented refusal", what, o.code)
			}
		}
	}
	t.Logf("outcomes: %v", tally)

	var active map[string]bool
	for i, s := range cl.servers {
		m := s.mgmt(t)
		var ml mlicense
		m.call("GET", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), nil, 200, &ml)
		rows := map[string]int{}
		act := map[string]bool{}
		for _, d := range allDevices(t, m, l.ID) {
			rows[d.HardwareID]++
			if d.DeviceActive {
				act[d.HardwareID] = true
			}
		}
		if ml.TimesActivated != int64(len(act)) || len(act) > seats {
			t.Errorf("instance %d: times_activated %d, active devices %v (max_activations %d)", i, ml.TimesActivated, act, seats)
		}
		for _, hw := range hws {
			want := 0
			if everActive[hw] {
				want = 1
			}
			if rows[hw] != want {
				t.Errorf("instance %d: %d device rows for %s, want %d", i, rows[hw], hw, want)
			}
		}
		if i == 0 {
			active = act
		} else if fmt.Sprint(act) != fmt.Sprint(active) {
			t.Errorf("instance %d: active devices %v, instance 0 %v", i, act, active)
		}
	}
	// The License API agrees with the rows on every instance.
	for i, c := range cs {
		for _, hw := range hws {
			_, err := c.CheckLicense(ctx(), checkReq(f.keyID(l, hw)))
			_, code := apiCode(err)
			switch {
			case active[hw] && code != "":
				t.Errorf("instance %d: check %s (active): %v", i, hw, err)
			case !active[hw] && code != "device_not_found" && code != "license_not_active":
				t.Errorf("instance %d: check %s (inactive): got %q, want device_not_found", i, hw, code)
			}
		}
	}
	// The counter did not drift: free every seat, then exactly `seats` new devices fit.
	for hw := range active {
		if err := cs[0].DeactivateLicense(ctx(), deactReq(f.keyID(l, hw))); err != nil {
			t.Fatalf("deactivate %s: %v", hw, err)
		}
	}
	for k := range seats + 1 {
		_, err := cs[k%instances].ActivateLicense(ctx(), activateReq(f.keyID(l, fmt.Sprintf("hw-after-%d", k))))
		if k < seats && err != nil {
			t.Errorf("activation %d after freeing every seat: %v", k, err)
		} else if k == seats {
			wantAPIErr(t, "activation past the limit after freeing every seat", err, 400, "license_activated_max_times")
		}
	}
	if ml := f.getLicense(l.ID); ml.TimesActivated != seats {
		t.Errorf("times_activated %d after refilling, want %d", ml.TimesActivated, seats)
	}
}

// TestMultiInstanceStartupOnEmptySchema: instances started at the same moment on an
// empty schema migrate it once, create one company between them, print its credentials
// once, and serve it alike.
func TestMultiInstanceStartupOnEmptySchema(t *testing.T) {
	if os.Getenv(pgtest.EnvVar) == "" {
		pgtest.URL(t) // skips the whole test, not each round, with the reason
	}
	// ECDSA keys are generated in microseconds instead of RSA's tenths of a second, which
	// narrows the gap between the two instances' initialisations.
	for round, alg := range []string{"rsa-2048", "ecdsa-p256", "ecdsa-p256", "ecdsa-p256"} {
		t.Run(fmt.Sprintf("round%d-%s", round, alg), func(t *testing.T) {
			db := pgtest.URL(t)
			servers := startPGServers(t, db, creds{}, 2, "--signing-key", alg)
			var printed []int
			var c creds
			for i, s := range servers {
				out := s.stderr.String()
				if strings.Contains(out, "management_key") {
					printed = append(printed, i)
					var ok bool
					if c, ok = parseTextCreds(out); !ok {
						t.Fatalf("instance %d printed incomplete credentials:\n%s", i, out)
					}
				}
				if strings.Contains(strings.ToLower(out), "level=error") {
					t.Errorf("instance %d logged an error at startup:\n%s", i, out)
				}
			}
			if len(printed) != 1 {
				for i, s := range servers {
					t.Logf("instance %d output:\n%s", i, s.stderr.String())
				}
				t.Fatalf("instances %v printed credentials, want exactly one", printed)
			}
			for i, s := range servers {
				resp, err := http.Get(s.root + "/healthz")
				if err != nil {
					t.Fatalf("instance %d: /healthz: %v", i, err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("instance %d: /healthz %d", i, resp.StatusCode)
				}
				s.creds = c
			}

			conn := pgConn(t, db)
			checkMigrationsOnce(t, conn)
			if n := pgCount(t, conn, `SELECT count(*) FROM companies`); n != 1 {
				t.Errorf("%d companies, want 1", n)
			}
			if n := pgCount(t, conn, `SELECT count(*) FROM companies WHERE id = $1`, c.CompanyID); n != 1 {
				t.Errorf("printed company_id %d is not the company", c.CompanyID)
			}

			// The printed keys work on both instances: a product made on one is
			// activated and checked on the other, signed with the one company key.
			other := 1 - printed[0]
			f := newFixture(t, servers[printed[0]], "license-key")
			l := f.keyLicense(1)
			id := f.keyID(l, "hw-start")
			if _, err := servers[other].client(t).ActivateLicense(ctx(), activateReq(id)); err != nil {
				t.Fatalf("activate on the instance that did not print the keys: %v", err)
			}
			if _, err := servers[printed[0]].client(t).CheckLicense(ctx(), checkReq(id)); err != nil {
				t.Errorf("check on the instance that printed the keys: %v", err)
			}
		})
	}
}

// TestMultiInstanceConcurrentMigrateAndInit: `licensor migrate` run by several processes
// at once on an empty schema applies each migration once; of two concurrent `init`s
// exactly one creates the company.
func TestMultiInstanceConcurrentMigrateAndInit(t *testing.T) {
	db := pgtest.URL(t)
	const n = 4
	run := func(args ...string) []cliResult {
		res := make([]cliResult, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res[i], errs[i] = runCLI(args...)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("process %d: %v", i, err)
			}
		}
		return res
	}

	for i, r := range run("migrate", "--db", db) {
		if r.exit != 0 || !strings.Contains(r.stdout, "up to date") {
			t.Errorf("migrate %d: exit %d, stdout %q, stderr %q", i, r.exit, r.stdout, r.stderr)
		}
	}
	conn := pgConn(t, db)
	checkMigrationsOnce(t, conn)
	if c := pgCount(t, conn, `SELECT count(*) FROM companies`); c != 0 {
		t.Errorf("migrate created %d companies, want 0", c)
	}

	var ok []cliResult
	// ECDSA: key generation takes microseconds, so the inits reach the database together.
	for i, r := range run("init", "--db", db, "--json", "--signing-key", "ecdsa-p256") {
		switch {
		case r.exit == 0:
			if _, err := parseCreds(r.stdout); err != nil {
				t.Errorf("init %d: %v", i, err)
			}
			ok = append(ok, r)
		case !strings.Contains(r.stderr, "already initialised"):
			t.Errorf("init %d: exit %d, stderr %q; want success or \"already initialised\"", i, r.exit, r.stderr)
		case r.stdout != "":
			t.Errorf("refused init %d printed %q", i, r.stdout)
		}
	}
	if len(ok) != 1 {
		t.Errorf("%d concurrent inits succeeded, want exactly 1", len(ok))
	}
	if c := pgCount(t, conn, `SELECT count(*) FROM companies`); c != 1 {
		t.Errorf("%d companies after concurrent inits, want 1", c)
	}

	// Migrating an up-to-date schema again changes nothing.
	for i, r := range run("migrate", "--db", db) {
		if r.exit != 0 {
			t.Errorf("second migrate %d: exit %d, stderr %q", i, r.exit, r.stderr)
		}
	}
	checkMigrationsOnce(t, conn)
}

// TestMultiInstanceNoStaleState: a change made through one instance holds on the very
// next request to another (no per-process cache may answer from the old state).
func TestMultiInstanceNoStaleState(t *testing.T) {
	cl := newPGCluster(t, instances)
	a, b, c := cl.servers[0], cl.servers[1], cl.servers[2]
	ma, mb, mc := a.mgmt(t), b.mgmt(t), c.mgmt(t)
	cs := cl.clients(t)
	ca, cb, cc := cs[0], cs[1], cs[2]
	f := newFixture(t, a, "license-key")

	t.Run("license disabled via A is refused by B", func(t *testing.T) {
		l := f.keyLicense(2)
		id := f.keyID(l, "hw-disable")
		if _, err := cc.ActivateLicense(ctx(), activateReq(id)); err != nil {
			t.Fatal(err)
		}
		for round := range 2 { // twice: the second round follows a re-enable
			for i, lc := range cs { // every instance has read the enabled license
				if _, err := lc.CheckLicense(ctx(), checkReq(id)); err != nil {
					t.Fatalf("round %d: check on instance %d before disabling: %v", round, i, err)
				}
			}
			ma.call("POST", fmt.Sprintf("/api/v1/licenses/%d/disable/", l.ID), nil, 200, nil)
			_, err := cb.CheckLicense(ctx(), checkReq(id))
			wantAPIErr(t, fmt.Sprintf("round %d: check on B right after disabling via A", round), err, 400, "license_not_enabled")
			_, err = cc.ActivateLicense(ctx(), activateReq(f.keyID(l, "hw-disable-2")))
			wantAPIErr(t, fmt.Sprintf("round %d: activation on C right after disabling via A", round), err, 400, "license_not_enabled")
			var ml mlicense
			mb.call("GET", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), nil, 200, &ml)
			if ml.Enabled {
				t.Errorf("round %d: management API on B still reports the license enabled", round)
			}
			mc.call("POST", fmt.Sprintf("/api/v1/licenses/%d/enable/", l.ID), nil, 200, nil)
			if _, err := ca.CheckLicense(ctx(), checkReq(id)); err != nil {
				t.Errorf("round %d: check on A right after enabling via C: %v", round, err)
			}
		}
	})

	t.Run("API key revoked via A is refused by B", func(t *testing.T) {
		l := f.keyLicense(3)
		id := f.keyID(l, "hw-revoke")
		if _, err := ca.ActivateLicense(ctx(), activateReq(id)); err != nil {
			t.Fatal(err)
		}
		var k struct {
			ID        int64  `json:"id"`
			APIKey    string `json:"api_key"`
			SharedKey string `json:"shared_key"`
		}
		ma.call("POST", "/api/v1/api-keys/", nil, 201, &k)
		ks := cl.clientsWith(t, k.APIKey, k.SharedKey)
		for i, kc := range ks { // the key was created on A and works everywhere at once
			if _, err := kc.CheckLicense(ctx(), checkReq(id)); err != nil {
				t.Fatalf("check with the new key on instance %d: %v", i, err)
			}
		}
		ma.call("POST", fmt.Sprintf("/api/v1/api-keys/%d/revoke/", k.ID), nil, 200, nil)
		// B has the key cached; a request B refuses before any transaction still learns
		// of the revocation.
		noHW := id
		noHW.HardwareID = ""
		_, err := ks[1].CheckLicense(ctx(), checkReq(noHW))
		wantAPIErr(t, "check without hardware_id on B with the key revoked via A", err, 400, "revoked_api_key")
		_, err = ks[1].CheckLicense(ctx(), checkReq(id))
		wantAPIErr(t, "check on B with the key revoked via A", err, 400, "revoked_api_key")
		_, err = ks[2].ActivateLicense(ctx(), activateReq(f.keyID(l, "hw-revoke-2")))
		wantAPIErr(t, "activation on C with the key revoked via A", err, 400, "revoked_api_key")
		_, err = ks[0].CheckLicense(ctx(), checkReq(id))
		wantAPIErr(t, "check on A with the key revoked via A", err, 400, "revoked_api_key")
		if _, err := cb.CheckLicense(ctx(), checkReq(id)); err != nil {
			t.Errorf("the first key on B after revoking another: %v", err)
		}
	})

	t.Run("device blacklisted via B is refused by C", func(t *testing.T) {
		l := f.keyLicense(2)
		id := f.keyID(l, "hw-black")
		dev, err := ca.ActivateLicense(ctx(), activateReq(id))
		if err != nil {
			t.Fatal(err)
		}
		for i, lc := range cs {
			if _, err := lc.CheckLicense(ctx(), checkReq(id)); err != nil {
				t.Fatalf("check on instance %d before blacklisting: %v", i, err)
			}
		}
		mb.call("POST", fmt.Sprintf("/api/v1/devices/%d/blacklist/", dev.DeviceID), nil, 200, nil)
		_, err = cc.CheckLicense(ctx(), checkReq(id))
		wantAPIErr(t, "check on C right after blacklisting via B", err, 400, "blacklisted")
		_, err = cc.ActivateLicense(ctx(), activateReq(id))
		wantAPIErr(t, "activation on C right after blacklisting via B", err, 400, "blacklisted")
		_, err = ca.TrackDeviceVariables(ctx(), trackReq(id, "k", "v"))
		wantAPIErr(t, "track on A right after blacklisting via B", err, 400, "blacklisted")
		// Another device of the license is unaffected.
		if _, err := cc.ActivateLicense(ctx(), activateReq(f.keyID(l, "hw-white"))); err != nil {
			t.Errorf("activating another device on C: %v", err)
		}
	})

	t.Run("max_activations raised via C holds on A", func(t *testing.T) {
		l := f.keyLicense(1)
		if _, err := ca.ActivateLicense(ctx(), activateReq(f.keyID(l, "hw-m1"))); err != nil {
			t.Fatal(err)
		}
		_, err := cb.ActivateLicense(ctx(), activateReq(f.keyID(l, "hw-m2")))
		wantAPIErr(t, "second seat on B before raising the limit", err, 400, "license_activated_max_times")
		mc.call("PATCH", fmt.Sprintf("/api/v1/licenses/%d/", l.ID), map[string]any{"max_activations": 2}, 200, nil)
		if _, err := cb.ActivateLicense(ctx(), activateReq(f.keyID(l, "hw-m2"))); err != nil {
			t.Errorf("second seat on B right after raising the limit via C: %v", err)
		}
		_, err = ca.ActivateLicense(ctx(), activateReq(f.keyID(l, "hw-m3")))
		wantAPIErr(t, "third seat on A", err, 400, "license_activated_max_times")
	})
}
