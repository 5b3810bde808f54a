package licensing_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/internal/postgres"
	"github.com/licensor/licensor/internal/storetest"
)

// TestTrackWriteFirstMatchesReadFirst: once most tracks change a value, track goes
// straight to its write transaction. It must answer as the read-first path does: the
// same variables, the same errors in the same order, nothing written for an unchanged
// or refused track; and it must turn itself off once tracks stop changing.
func TestTrackWriteFirstMatchesReadFirst(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	l := e.keyLicense(p.ShortCode, "T-1", 10)
	id := func(hw string) licensing.Identity { return keyID(p.ShortCode, "T-1", hw) }
	for _, hw := range []string{"hw-w", "hw-ok", "hw-off"} {
		e.activate(id(hw))
	}
	e.deactivate(id("hw-off"))
	e.blacklist(e.activate(id("hw-bl")).Device.ID)
	limits := licensing.Limits{MaxVariablesPerDevice: 3}
	st := &storetest.Counting{Store: e.svc.Store()}
	warm := licensing.NewService(st, licensing.WithClock(e.clock.Now), licensing.WithLimits(limits))
	vars := func(kv ...string) []licensing.VarInput {
		var vs []licensing.VarInput
		for i := 0; i < len(kv); i += 2 {
			vs = append(vs, licensing.VarInput{Name: kv[i], Value: kv[i+1]})
		}
		return vs
	}
	for i := range licensing.SwitchWindow + 1 {
		if _, err := warm.Track(e.ctx, e.cid, id("hw-w"), vars("n", strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}

	// Write-first: one write transaction, no read; what it answers is what is stored.
	reads, writes := st.AnyReads(), st.Writes.Load()
	got, err := warm.Track(e.ctx, e.cid, id("hw-ok"), vars("a", "1", "b", "x"))
	if err != nil || !got.Changed || st.AnyReads() != reads || st.Writes.Load() != writes+1 {
		t.Fatalf("write-first track: %+v %v; %d reads, %d writes", got, err, st.AnyReads()-reads, st.Writes.Load()-writes)
	}
	cold := func() *licensing.Service {
		return licensing.NewService(e.svc.Store(), licensing.WithClock(e.clock.Now), licensing.WithLimits(limits))
	}
	again, err := cold().Track(e.ctx, e.cid, id("hw-ok"), vars("a", "1", "b", "x"))
	if err != nil || again.Changed || !reflect.DeepEqual(again.Variables, got.Variables) {
		t.Fatalf("read-first after write-first: %+v %v, want unchanged %+v", again, err, got.Variables)
	}

	e.clock.Advance(time.Second)
	cases := []struct {
		name string
		id   licensing.Identity
		vars []licensing.VarInput
	}{
		{"unchanged", id("hw-ok"), vars("b", "x", "a", "1")},
		{"too many variables", id("hw-ok"), vars("c", "1", "d", "2")},
		{"deactivated device", id("hw-off"), vars("a", "1")},
		{"blacklisted device", id("hw-bl"), vars("a", "1")},
		{"unknown device", id("hw-none"), vars("a", "1")},
		{"unknown key", keyID(p.ShortCode, "T-2", "hw-ok"), vars("a", "1")},
		{"no key", keyID(p.ShortCode, "", "hw-ok"), vars("a", "1")},
		{"unknown product", keyID("nope", "T-1", "hw-ok"), vars("a", "1")},
	}
	compare := func(t *testing.T, prefix string) {
		for _, tc := range cases {
			want, wantErr := cold().Track(e.ctx, e.cid, tc.id, tc.vars)
			got, gotErr := warm.Track(e.ctx, e.cid, tc.id, tc.vars) // warm: write-first, cold: read-first
			same(t, prefix+tc.name, got, want, gotErr, wantErr)
			if got.Changed {
				t.Errorf("%s%s: changed", prefix, tc.name)
			}
		}
	}
	compare(t, "")
	e.disable(l.ID)
	compare(t, "disabled license: ")

	// A window of tracks that change nothing (here: refused) turns it off: the next
	// track is read first.
	for range licensing.SwitchWindow {
		warm.Track(e.ctx, e.cid, id("hw-w"), vars("n", "steady"))
	}
	reads, writes = st.AnyReads(), st.Writes.Load()
	if _, err := warm.Track(e.ctx, e.cid, id("hw-ok"), vars("a", "1")); licensing.ErrorCode(err) != licensing.ELicenseNotEnabled ||
		st.AnyReads() != reads+1 || st.Writes.Load() != writes {
		t.Fatalf("after unchanged tracks: %v; %d reads, %d writes", err, st.AnyReads()-reads, st.Writes.Load()-writes)
	}
}

// TestTrackWriteFirstTwoInstances: two instances on one database, both tracking
// write-first, race to add variables to one device. The per-device limit holds, every
// variable a track answered is stored with its value, and nothing fails but the limit.
// On SQLite (one store, one writer) and on PostgreSQL (two stores: row locks).
func TestTrackWriteFirstTwoInstances(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		e := newEnv(t)
		testTrackWriteFirstRace(t, e, e.svc.Store(), e.svc.Store())
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t)
		open := func() licensing.Store {
			st, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
		a := open()
		testTrackWriteFirstRace(t, newEnvOn(t, a), a, open())
	})
}

func testTrackWriteFirstRace(t *testing.T, e *env, a, b licensing.Store) {
	const limit = 30
	p := e.product(licensing.AuthLicenseKey)
	e.keyLicense(p.ShortCode, "R-1", 10)
	warmID, id := keyID(p.ShortCode, "R-1", "hw-warm"), keyID(p.ShortCode, "R-1", "hw-race")
	e.activate(warmID)
	e.activate(id)
	var svcs []*licensing.Service
	for _, st := range []licensing.Store{a, b} {
		ts := &storetest.Counting{Store: st}
		svc := licensing.NewService(ts, licensing.WithClock(e.clock.Now), licensing.WithLimits(licensing.Limits{MaxVariablesPerDevice: limit}))
		for i := range licensing.SwitchWindow + 1 {
			if _, err := svc.Track(e.ctx, e.cid, warmID, []licensing.VarInput{{Name: "n", Value: strconv.Itoa(i)}}); err != nil {
				t.Fatal(err)
			}
		}
		reads := ts.AnyReads()
		if _, err := svc.Track(e.ctx, e.cid, warmID, []licensing.VarInput{{Name: "n", Value: "last"}}); err != nil || ts.AnyReads() != reads {
			t.Fatalf("not write-first after a window of changes: %v, %d reads", err, ts.AnyReads()-reads)
		}
		svcs = append(svcs, svc)
	}

	var mu sync.Mutex
	answered := map[string]string{}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := svcs[g%2]
			for k := range 4 {
				vars := []licensing.VarInput{{Name: fmt.Sprintf("v-%d-%d", g, k), Value: strconv.Itoa(g)}, {Name: "shared", Value: strconv.Itoa(g*10 + k)}}
				r, err := svc.Track(e.ctx, e.cid, id, vars)
				if code := licensing.ErrorCode(err); err != nil && code != licensing.EValidation {
					t.Errorf("track %d/%d: %v", g, k, err)
					return
				} else if err != nil {
					continue // over the limit
				}
				mu.Lock()
				for _, v := range r.Variables {
					if v.Name != "shared" {
						answered[v.Name] = v.Value
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	stored, err := e.svc.GetVariables(e.ctx, e.cid, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != limit { // each track adds one name (the first also "shared"); 64 tries
		t.Errorf("%d variables stored, want the limit (%d)", len(stored), limit)
	}
	byName := map[string]string{}
	for _, v := range stored {
		byName[v.Name] = v.Value
	}
	for name, value := range answered {
		if byName[name] != value {
			t.Errorf("%s answered %q, stored %q", name, value, byName[name])
		}
	}
	if len(answered) != len(stored)-1 { // all but "shared"
		t.Errorf("%d variables answered, %d stored besides shared", len(answered), len(stored)-1)
	}
}
