package licensing_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/secrets"
	"github.com/licensor/licensor/internal/sqlite"
)

func mustBox(t *testing.T, master string) *secrets.Box {
	t.Helper()
	b, err := secrets.New(master)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// storedSecrets returns the secrets as the database holds them.
func storedSecrets(t *testing.T, st licensing.Store) []licensing.StoredSecret {
	t.Helper()
	var out []licensing.StoredSecret
	err := st.Read(context.Background(), func(tx licensing.Tx) (err error) {
		out, err = tx.Secrets(context.Background())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSecretsSealedAtRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := strings.Repeat("k", 40)
	svc := licensing.NewService(st, licensing.WithSecrets(mustBox(t, key)))
	cr, err := svc.Init(ctx, "c", "ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	extra, err := svc.CreateAPIKey(ctx, cr.CompanyID, false)
	if err != nil {
		t.Fatal(err)
	}
	all := storedSecrets(t, st)
	if len(all) != 3 { // one signing key, two shared keys
		t.Fatalf("stored secrets: %d, want 3", len(all))
	}
	for _, s := range all {
		if !secrets.IsSealed(s.Value) || strings.Contains(s.Value, "PRIVATE KEY") || strings.Contains(s.Value, cr.SharedKey) || strings.Contains(s.Value, extra.SharedKey) {
			t.Fatalf("%s %d stored in the clear: %q", s.Kind, s.ID, s.Value)
		}
	}
	// The service opens what it sealed.
	for _, k := range []struct{ key, shared string }{{cr.APIKey, cr.SharedKey}, {extra.Key, extra.SharedKey}} {
		got, err := svc.APIKeyByKey(ctx, k.key)
		if err != nil || got.SharedKey != k.shared {
			t.Fatalf("APIKeyByKey(%s) = %q, %v; want %q", k.key, got.SharedKey, err, k.shared)
		}
	}
	co, err := svc.Company(ctx, cr.CompanyID)
	if err != nil || !strings.Contains(co.SigningKeyPEM, "PRIVATE KEY") {
		t.Fatalf("Company: %v, signing key %q", err, co.SigningKeyPEM)
	}
	if rep, err := svc.SealSecrets(ctx); err != nil || rep != (licensing.SecretsReport{Sealed: 3}) {
		t.Fatalf("SealSecrets on a sealed database = %+v, %v", rep, err)
	}

	// Without the key, or with another one, sealed secrets do not open; the public
	// key needs no secret.
	tests := []struct {
		name string
		box  *secrets.Box
		want error
	}{
		{"no master key", nil, secrets.ErrNoMasterKey},
		{"wrong master key", mustBox(t, strings.Repeat("x", 40)), secrets.ErrWrongMasterKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := licensing.NewService(st, licensing.WithSecrets(tt.box))
			if _, err := other.CheckSecrets(ctx); !errors.Is(err, tt.want) {
				t.Errorf("CheckSecrets: %v, want %v", err, tt.want)
			}
			if _, err := other.SealSecrets(ctx); !errors.Is(err, tt.want) {
				t.Errorf("SealSecrets: %v, want %v", err, tt.want)
			}
			if _, err := other.APIKeyByKey(ctx, cr.APIKey); !errors.Is(err, tt.want) {
				t.Errorf("APIKeyByKey: %v, want %v", err, tt.want)
			}
			if _, err := other.Company(ctx, cr.CompanyID); !errors.Is(err, tt.want) {
				t.Errorf("Company: %v, want %v", err, tt.want)
			}
			if pem, err := other.PublicKey(ctx, cr.CompanyID); err != nil || pem != cr.PublicKey {
				t.Errorf("PublicKey: %v", err)
			}
		})
	}
}

func TestSealSecretsSealsAPlaintextDatabase(t *testing.T) {
	e := newEnv(t) // no master key: plaintext
	st := e.svc.Store()
	if rep, err := e.svc.CheckSecrets(e.ctx); err != nil || rep != (licensing.SecretsReport{Plaintext: 2}) {
		t.Fatalf("CheckSecrets without a key = %+v, %v", rep, err)
	}
	// Without a key it refuses, and does not claim the database holds sealed secrets.
	if _, err := e.svc.SealSecrets(e.ctx); !errors.Is(err, secrets.ErrMasterKeyRequired) {
		t.Fatalf("SealSecrets without a key: %v, want %v", err, secrets.ErrMasterKeyRequired)
	}
	sealed := licensing.NewService(st, licensing.WithSecrets(mustBox(t, strings.Repeat("m", 32))))
	if rep, err := sealed.SealSecrets(e.ctx); err != nil || rep != (licensing.SecretsReport{NewSealed: 2}) {
		t.Fatalf("SealSecrets with a key = %+v, %v", rep, err)
	}
	for _, s := range storedSecrets(t, st) {
		if !secrets.IsSealed(s.Value) {
			t.Fatalf("%s %d left in the clear", s.Kind, s.ID)
		}
	}
	if got, err := sealed.APIKeyByKey(e.ctx, e.creds.APIKey); err != nil || got.SharedKey != e.creds.SharedKey {
		t.Fatalf("after sealing: %q, %v", got.SharedKey, err)
	}
	// A sealed value moved to another row does not open there.
	all := storedSecrets(t, st)
	var signing, shared licensing.StoredSecret
	for _, s := range all {
		if s.Kind == licensing.SecretSigningKey {
			signing = s
		} else {
			shared = s
		}
	}
	shared.Value = signing.Value
	if err := st.Write(e.ctx, func(tx licensing.Tx) error { return tx.SetSecret(e.ctx, shared) }); err != nil {
		t.Fatal(err)
	}
	// (A fresh Service: sealed has the key cached, opened before the swap.)
	fresh := licensing.NewService(st, licensing.WithSecrets(mustBox(t, strings.Repeat("m", 32))))
	if _, err := fresh.APIKeyByKey(e.ctx, e.creds.APIKey); !errors.Is(err, secrets.ErrWrongMasterKey) {
		t.Fatalf("a swapped sealed value opened: %v", err)
	}
}
