package licensing_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/sqlite"
)

// replayStore runs every write function twice, as a store does when the database
// aborts a transaction (licensing.Store's Write; PostgreSQL after a deadlock): first in
// a transaction that is rolled back, then for real.
type replayStore struct{ licensing.Store }

var errReplayed = errors.New("replayed: rolled back")

func (s replayStore) Write(ctx context.Context, fn func(licensing.Tx) error) error {
	_ = s.Store.Write(ctx, func(tx licensing.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errReplayed
	})
	return s.Store.Write(ctx, fn)
}

// TestWritesKeepOnlyTheirLastRun: every operation that writes answers and stores the
// same on a store that runs its write functions twice as on one that runs them once;
// nothing the rolled-back run built is kept.
func TestWritesKeepOnlyTheirLastRun(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnvOn(t, replayStore{st})
	key := e.product(licensing.AuthLicenseKey)
	user := e.product(licensing.AuthUser)

	o, err := e.svc.CreateOrder(e.ctx, e.cid, licensing.OrderInput{StoreID: "replayed", Items: []licensing.OrderItem{
		{ProductCode: key.ShortCode, Licenses: []licensing.LicenseInput{{Key: "R-1", MaxActivations: 2}, {Key: "R-2", MaxActivations: 1}}},
		{ProductCode: user.ShortCode, Licenses: []licensing.LicenseInput{{MaxActivations: 1, Users: []licensing.UserInput{{Email: "u@r.test", Password: "pw-123456"}}}}},
	}})
	if err != nil {
		t.Fatalf("create order: %v", err)
	}
	if len(o.Licenses) != 3 {
		t.Fatalf("order answered %d licenses, want 3: %+v", len(o.Licenses), o.Licenses)
	}
	for _, l := range o.Licenses {
		got, err := e.svc.License(e.ctx, e.cid, l.ID)
		if err != nil || got.LicenseKey != l.LicenseKey || len(got.Users) != len(l.Users) {
			t.Errorf("license %d %q answered, stored %+v (%v)", l.ID, l.LicenseKey, got, err)
		}
	}
	if _, n, err := e.svc.ListLicenses(e.ctx, e.cid, licensing.LicenseFilter{}); err != nil || n != 3 {
		t.Errorf("%d licenses stored (%v), want 3", n, err)
	}

	id := keyID(key.ShortCode, "R-1", "hw-r")
	if st := e.activate(id, licensing.VarInput{Name: "os", Value: "linux"}); st.License.TimesActivated != 1 || len(st.Variables) != 1 {
		t.Errorf("activation: times_activated %d, variables %+v", st.License.TimesActivated, st.Variables)
	}
	vars, err := e.svc.TrackVariables(e.ctx, e.cid, id, []licensing.VarInput{{Name: "os", Value: "mac"}, {Name: "v", Value: "2"}})
	if err != nil || len(vars) != 2 || vars[0].Value != "mac" {
		t.Errorf("track: %+v (%v)", vars, err)
	}
	if err := e.svc.Deactivate(e.ctx, e.cid, id, nil); err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	st2 := e.activate(id)
	if st2.License.TimesActivated != 1 {
		t.Errorf("re-activation: times_activated %d, want 1", st2.License.TimesActivated)
	}
	dev, err := e.svc.SetBlacklisted(e.ctx, e.cid, st2.Device.ID, true)
	if err != nil || !dev.Blacklisted {
		t.Errorf("blacklist: %+v (%v)", dev, err)
	}
	max := int64(5)
	if l, err := e.svc.UpdateLicense(e.ctx, e.cid, o.Licenses[0].ID, licensing.LicensePatch{MaxActivations: &max}); err != nil || l.MaxActivations != 5 {
		t.Errorf("update license: %+v (%v)", l.License, err)
	}
	k, err := e.svc.CreateAPIKey(e.ctx, e.cid, true)
	if err != nil {
		t.Fatalf("create api key: %v", err)
	}
	if _, err := e.svc.RevokeAPIKey(e.ctx, e.cid, k.ID); err != nil {
		t.Errorf("revoke api key: %v", err)
	}

	// Each change was recorded once: the rolled-back runs left no audit entries.
	entries, _, err := e.svc.AuditLog(e.ctx, e.cid, licensing.AuditFilter{Page: licensing.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, a := range entries {
		seen[a.Action]++
	}
	for action, want := range map[string]int{
		licensing.AuditOrderCreate: 1, licensing.AuditLicenseCreate: 3, licensing.AuditDeviceActivate: 2,
		licensing.AuditDeviceDeactivate: 1, licensing.AuditAPIKeyRevoke: 1, licensing.AuditDeviceBlacklist: 1,
		licensing.AuditLicenseUpdate: 1, licensing.AuditProductCreate: 2,
	} {
		if seen[action] != want {
			t.Errorf("%d %s audit entries, want %d (all: %v)", seen[action], action, want, seen)
		}
	}
}
