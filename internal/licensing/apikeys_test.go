package licensing_test

import (
	"testing"

	"github.com/licensor/licensor/internal/licensing"
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
	cached, _ := e.svc.APIKeyByKey(e.ctx, k.Key)
	if _, err := other.RevokeAPIKey(e.ctx, e.cid, k.ID); err != nil {
		t.Fatal(err)
	}

	ctx := licensing.WithAPIKey(e.ctx, cached)
	id := keyID(p.ShortCode, "K-1", "hw-1")
	_, err = e.svc.Activate(ctx, e.cid, licensing.ActivateRequest{Identity: id})
	wantCode(t, err, licensing.ERevokedAPIKey)
	if n := e.activeDevices(l.ID); n != 0 {
		t.Fatalf("activation with a revoked key left %d active devices", n)
	}
	_, err = e.svc.Check(ctx, e.cid, id)
	wantCode(t, err, licensing.ERevokedAPIKey)

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
