package licensing_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/storetest"
)

// TestAPIKeyCacheRevocation: a key served from one Service's cache and revoked through
// another Service on the same store (a second instance) is refused inside the next
// operation's transaction, which changes nothing, and is then no longer cached.
func TestAPIKeyCacheRevocation(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	l := e.keyLicense(p.ShortCode, "K-1", 5)
	other := licensing.NewService(e.svc.Store())

	k, err := e.svc.CreateAPIKey(e.ctx, e.cid, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the second lookup is served from the cache
		got, err := e.svc.APIKeyByKey(e.ctx, k.Key)
		if err != nil || got.ID != k.ID || got.CompanyID != e.cid || got.SharedKey != k.SharedKey || got.Revoked {
			t.Fatalf("lookup %d: %+v, %v", i, got, err)
		}
	}
	known := keyID(p.ShortCode, "K-1", "hw-known") // a device, its product cached
	e.activate(known, licensing.VarInput{Name: "a", Value: "1"})
	if _, err := e.svc.Check(e.ctx, e.cid, known); err != nil {
		t.Fatal(err)
	}
	cached, _ := e.svc.APIKeyByKey(e.ctx, k.Key)
	if _, err := other.RevokeAPIKey(e.ctx, e.cid, k.ID); err != nil {
		t.Fatal(err)
	}

	ctx := licensing.WithAPIKey(e.ctx, cached)
	id := keyID(p.ShortCode, "K-1", "hw-1")
	_, err = e.svc.Activate(ctx, e.cid, licensing.ActivateRequest{Identity: id})
	wantCode(t, err, licensing.ERevokedAPIKey)
	if n := e.activeDevices(l.ID); n != 1 { // hw-known only
		t.Fatalf("activation with a revoked key left %d active devices", n-1)
	}
	_, err = e.svc.Check(ctx, e.cid, id)
	wantCode(t, err, licensing.ERevokedAPIKey)
	// The key's error comes first, as it did when keys were read at the request's start.
	_, err = e.svc.Check(ctx, e.cid, keyID("no-such-product", "K-1", "hw-1"))
	wantCode(t, err, licensing.ERevokedAPIKey)
	_, err = e.svc.GetVariables(ctx, e.cid, keyID(p.ShortCode, "K-1", "hw-none"))
	wantCode(t, err, licensing.ERevokedAPIKey)
	// Where the device exists: the one-statement reads of check, get-variables and an
	// unchanged track, and a changing track's write.
	for name, op := range map[string]func(ctx context.Context) error{
		"check":         func(ctx context.Context) error { _, err := e.svc.Check(ctx, e.cid, known); return err },
		"get variables": func(ctx context.Context) error { _, err := e.svc.GetVariables(ctx, e.cid, known); return err },
		"unchanged track": func(ctx context.Context) error {
			_, err := e.svc.Track(ctx, e.cid, known, []licensing.VarInput{{Name: "a", Value: "1"}})
			return err
		},
		"changing track": func(ctx context.Context) error {
			_, err := e.svc.Track(ctx, e.cid, known, []licensing.VarInput{{Name: "a", Value: "2"}})
			return err
		},
	} {
		if err := op(licensing.WithAPIKey(e.ctx, cached)); licensing.ErrorCode(err) != licensing.ERevokedAPIKey {
			t.Errorf("%s with a revoked key: %v", name, err)
		}
	}
	if vs, err := e.svc.GetVariables(e.ctx, e.cid, known); err != nil || len(vs) != 1 || vs[0].Value != "1" {
		t.Errorf("variables after tracks with a revoked key: %+v, %v", vs, err)
	}

	got, err := e.svc.APIKeyByKey(e.ctx, k.Key)
	if err != nil || !got.Revoked {
		t.Fatalf("lookup after the revoke: %+v, %v (want Revoked from the store)", got, err)
	}
}

// TestAPIKeyCacheRevokedHere: revoking through the same Service drops the key from
// its cache at once, so the very next lookup reports it revoked.
func TestAPIKeyCacheRevokedHere(t *testing.T) {
	e := newEnv(t)
	k, err := e.svc.CreateAPIKey(e.ctx, e.cid, true)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.svc.APIKeyByKey(e.ctx, k.Key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.RevokeAPIKey(e.ctx, e.cid, k.ID); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.APIKeyByKey(e.ctx, k.Key)
	if err != nil || !got.Revoked || !got.ReadOnly {
		t.Fatalf("lookup after the revoke: %+v, %v", got, err)
	}
	if _, err := e.svc.APIKeyByKey(e.ctx, "no-such-key"); err == nil {
		t.Fatal("unknown key accepted")
	} else {
		wantCode(t, err, licensing.EInvalidAPIKey)
	}
}

// TestRevokeAPIKey: a revocation answers the key (never its shared key) and records its
// values before and after; revoking a revoked key answers the same and records nothing;
// another company's key is not found.
func TestRevokeAPIKey(t *testing.T) {
	e := newEnv(t)
	other, err := e.svc.CreateCompany(e.ctx, "other", "rsa-2048")
	wantCode(t, err, "")
	otherKey, err := e.svc.CreateAPIKey(e.ctx, other.CompanyID, false)
	wantCode(t, err, "")
	revokes := func(companyID, id int64) []licensing.AuditEntry {
		t.Helper()
		es, _, err := e.svc.AuditLog(e.ctx, companyID, licensing.AuditFilter{Page: licensing.Page{Limit: 10},
			ObjectType: "api_key", ObjectID: id, Action: licensing.AuditAPIKeyRevoke})
		wantCode(t, err, "")
		return es
	}
	for _, tc := range []struct {
		name     string
		readOnly bool
		times    int // revocations in a row
	}{
		{"full key", false, 1},
		{"read-only key", true, 1},
		{"revoked twice", false, 2},
		{"revoked three times", true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := e.svc.CreateAPIKey(e.ctx, e.cid, tc.readOnly)
			wantCode(t, err, "")
			e.clock.Advance(time.Minute)
			want := k.Info()
			want.Revoked, want.RevokedAt = true, ptr(e.clock.Now())
			for i := range tc.times {
				got, err := e.svc.RevokeAPIKey(e.ctx, e.cid, k.ID)
				wantCode(t, err, "")
				if !reflect.DeepEqual(got, want) {
					t.Errorf("revocation %d answered %+v, want %+v", i+1, got, want)
				}
				e.clock.Advance(time.Minute) // a repeated revocation keeps the first time
			}
			es := revokes(e.cid, k.ID)
			if len(es) != 1 {
				t.Fatalf("%d api_key.revoke entries after %d revocations, want 1", len(es), tc.times)
			}
			wantView := func(revoked bool) string {
				return `{"id":` + strconv.FormatInt(k.ID, 10) + `,"api_key":"` + k.Key + `","read_only":` + strconv.FormatBool(tc.readOnly) +
					`,"revoked":` + strconv.FormatBool(revoked) + `}`
			}
			if string(es[0].Before) != wantView(false) || string(es[0].After) != wantView(true) {
				t.Errorf("recorded before %s after %s\nwant before %s after %s", es[0].Before, es[0].After, wantView(false), wantView(true))
			}
		})
	}
	t.Run("another company's key", func(t *testing.T) {
		_, err := e.svc.RevokeAPIKey(e.ctx, e.cid, otherKey.ID)
		wantCode(t, err, licensing.ENotFound)
		if k, err := e.svc.APIKeyByKey(e.ctx, otherKey.Key); err != nil || k.Revoked {
			t.Errorf("the other company's key: %+v, %v", k, err)
		}
		if es := revokes(other.CompanyID, otherKey.ID); len(es) != 0 {
			t.Errorf("recorded %+v", es)
		}
	})
	t.Run("missing key", func(t *testing.T) {
		_, err := e.svc.RevokeAPIKey(e.ctx, e.cid, 1<<40)
		wantCode(t, err, licensing.ENotFound)
	})
	// The list has the company's keys only: the first one, not revoked, and the four
	// revoked above, each with its time.
	ks, n, err := e.svc.ListAPIKeys(e.ctx, e.cid, licensing.Page{Limit: 100})
	wantCode(t, err, "")
	if n != 5 || len(ks) != 5 || ks[0].Key != e.creds.APIKey || ks[0].Revoked || ks[0].RevokedAt != nil {
		t.Fatalf("ListAPIKeys: %d keys %+v", n, ks)
	}
	for _, k := range ks[1:] {
		if k.CompanyID != e.cid || !k.Revoked || k.RevokedAt == nil || !k.RevokedAt.After(k.CreatedAt) {
			t.Errorf("listed %+v", k)
		}
	}
}

// TestRecheckAPIKey: a request refused before its operation reached the store reports a
// cached key's revocation instead; errors about the key or signature stay as they are.
func TestRecheckAPIKey(t *testing.T) {
	e := newEnv(t)
	other := licensing.NewService(e.svc.Store())
	k, err := e.svc.CreateAPIKey(e.ctx, e.cid, false)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := e.svc.APIKeyByKey(e.ctx, k.Key) // read from the store, then cached
	cached, _ := e.svc.APIKeyByKey(e.ctx, k.Key)
	missing := licensing.MissingParameters("hardware_id")
	if err := e.svc.RecheckAPIKey(e.ctx, cached, missing); licensing.ErrorCode(err) != licensing.EMissingParameters {
		t.Fatalf("recheck of a usable key: %v", err)
	}
	if _, err := other.RevokeAPIKey(e.ctx, e.cid, k.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  licensing.APIKey
		err  error
		want string
	}{
		{"nil error", cached, nil, ""},
		{"signature mismatch", cached, licensing.Errorf(licensing.ESignatureMismatch, "x"), licensing.ESignatureMismatch},
		{"rate limited (stays cheap)", cached, licensing.Errorf(licensing.ERateLimited, "x"), licensing.ERateLimited},
		{"key read from the store", fresh, missing, licensing.EMissingParameters},
		{"missing parameter", cached, missing, licensing.ERevokedAPIKey},
	} {
		got := e.svc.RecheckAPIKey(e.ctx, tc.key, tc.err)
		if (tc.want == "") != (got == nil) || (got != nil && licensing.ErrorCode(got) != tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, got, tc.want)
		}
	}
}

// TestAPIKeyRevokedInWriters: the writers that look their device up under the license
// lock (a changing track once track goes write-first, a deactivation) check a cached
// key in that lookup, not in a statement of their own: a key revoked through another
// instance is refused first, whether the one-statement lookup finds the device or the
// step-by-step one runs, and nothing is written.
func TestAPIKeyRevokedInWriters(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	l := e.keyLicense(p.ShortCode, "K-1", 5)
	known := keyID(p.ShortCode, "K-1", "hw-known")
	e.activate(known, licensing.VarInput{Name: "a", Value: "1"})
	e.activate(keyID(p.ShortCode, "K-1", "hw-w"))
	st := &storetest.Counting{Store: e.svc.Store()}
	warm := licensing.NewService(st, licensing.WithClock(e.clock.Now))
	for i := range licensing.SwitchWindow + 1 { // most tracks change: write-first
		if _, err := warm.Track(e.ctx, e.cid, keyID(p.ShortCode, "K-1", "hw-w"), []licensing.VarInput{{Name: "n", Value: strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	k, err := warm.CreateAPIKey(e.ctx, e.cid, false)
	if err != nil {
		t.Fatal(err)
	}
	warm.APIKeyByKey(e.ctx, k.Key)
	cached, err := warm.APIKeyByKey(e.ctx, k.Key) // from the cache
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RevokeAPIKey(e.ctx, e.cid, k.ID); err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func(ctx context.Context) error{
		"changing track": func(ctx context.Context) error {
			_, err := warm.Track(ctx, e.cid, known, []licensing.VarInput{{Name: "a", Value: "2"}})
			return err
		},
		"changing track, no such device": func(ctx context.Context) error {
			_, err := warm.Track(ctx, e.cid, keyID(p.ShortCode, "K-1", "hw-none"), []licensing.VarInput{{Name: "a", Value: "2"}})
			return err
		},
		"changing track, no such license": func(ctx context.Context) error {
			_, err := warm.Track(ctx, e.cid, keyID(p.ShortCode, "K-2", "hw-known"), []licensing.VarInput{{Name: "a", Value: "2"}})
			return err
		},
		"deactivate": func(ctx context.Context) error { return warm.Deactivate(ctx, e.cid, known, nil) },
		"deactivate, no such device": func(ctx context.Context) error {
			return warm.Deactivate(ctx, e.cid, keyID(p.ShortCode, "K-1", "hw-none"), nil)
		},
		"deactivate, with its variables": func(ctx context.Context) error {
			return warm.Deactivate(ctx, e.cid, known, []licensing.VarInput{{Name: "a", Value: "3"}})
		},
	} {
		reads, writes := st.AnyReads(), st.Writes.Load()
		err := op(licensing.WithAPIKey(e.ctx, cached))
		if licensing.ErrorCode(err) != licensing.ERevokedAPIKey {
			t.Errorf("%s with a revoked key: %v", name, err)
		}
		if st.AnyReads() != reads || st.Writes.Load() != writes+1 {
			t.Errorf("%s: %d reads and %d writes, want the one write transaction", name, st.AnyReads()-reads, st.Writes.Load()-writes)
		}
	}
	if n := e.activeDevices(l.ID); n != 2 {
		t.Errorf("%d active devices after deactivations with a revoked key, want 2", n)
	}
	if vs, err := e.svc.GetVariables(e.ctx, e.cid, known); err != nil || len(vs) != 1 || vs[0].Value != "1" {
		t.Errorf("variables after writes with a revoked key: %+v, %v", vs, err)
	}
}

// lagging is a Store whose single reads first see a moment in the past where no API
// key exists yet (as SQLite's kept snapshots may, behind another process's writes),
// and, as the SQLite store does, look again when fn reports a miss.
type lagging struct{ licensing.Store }

func (s lagging) ReadSingle(ctx context.Context, fn func(licensing.Tx) error) error {
	err := s.Store.ReadSingle(ctx, func(tx licensing.Tx) error { return fn(keylessTx{tx}) })
	if errors.Is(err, licensing.ErrNoRows) {
		err = s.Store.ReadSingle(ctx, fn)
	}
	return err
}

type keylessTx struct{ licensing.Tx }

func (keylessTx) APIKeyRevoked(context.Context, int64) (bool, error) {
	return false, licensing.ErrNoRows
}

func (t keylessTx) DeviceByLicenseKey(ctx context.Context, q licensing.LicenseDeviceQuery) (licensing.LicenseDevice, error) {
	ld, err := t.Tx.DeviceByLicenseKey(ctx, q)
	ld.APIKeyFound, ld.APIKeyRevoked = false, false
	return ld, err
}

// TestCachedKeyMissLooksAgain: a cached key that a single read does not find is
// reported to the store as a miss (ErrNoRows), so that a store whose single reads lag
// looks again, instead of refusing a key that exists.
func TestCachedKeyMissLooksAgain(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	e.keyLicense(p.ShortCode, "L-1", 5)
	id := keyID(p.ShortCode, "L-1", "hw-1")
	e.activate(id)
	k, err := e.svc.CreateAPIKey(e.ctx, e.cid, false)
	if err != nil {
		t.Fatal(err)
	}
	svc := licensing.NewService(lagging{e.svc.Store()}, licensing.WithClock(e.clock.Now))
	if _, err := svc.Check(e.ctx, e.cid, id); err != nil { // warms the product and order caches
		t.Fatal(err)
	}
	if _, err := svc.APIKeyByKey(e.ctx, k.Key); err != nil {
		t.Fatal(err)
	}
	cached, err := svc.APIKeyByKey(e.ctx, k.Key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Check(licensing.WithAPIKey(e.ctx, cached), e.cid, id); err != nil {
		t.Fatalf("check with the cached key: %v", err)
	}
	missing := licensing.MissingParameters("hardware_id")
	if err := svc.RecheckAPIKey(e.ctx, cached, missing); licensing.ErrorCode(err) != licensing.EMissingParameters {
		t.Fatalf("recheck of the cached key: %v", err)
	}
}
