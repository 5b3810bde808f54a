package storetest

import (
	"context"
	"database/sql"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/licensor/licensor/internal/licensing"
)

// MigrationsBefore is the part of an engine's embedded migrations (files under dir)
// older than version, for a test that starts from an older schema.
func MigrationsBefore(t *testing.T, fsys fs.FS, dir, version string) fs.FS {
	t.Helper()
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	old := fstest.MapFS{}
	for _, e := range entries {
		if e.Name() < version {
			b, err := fs.ReadFile(fsys, dir+"/"+e.Name())
			if err != nil {
				t.Fatal(err)
			}
			old[dir+"/"+e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	return old
}

// SignatureMemoMigration checks migration 5 on an engine: db holds the schema before
// it (migrations 1–4, see MigrationsBefore); the signatures remembered in
// device_signatures are written there, then open applies the rest, after which each is
// in its device's row, every slot of every device, and the old table is gone.
func SignatureMemoMigration(t *testing.T, db *sql.DB, open func(context.Context) (licensing.Store, error)) {
	t.Helper()
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO companies (id, name, signing_key_pem, public_key_pem, created_at) VALUES (1, 'c', 's', 'p', 0)`)
	exec(`INSERT INTO products (id, company_id, name, short_code, authorization_method, created_at, updated_at) VALUES (1, 1, 'p', 'p', 'license-key', 0, 0)`)
	exec(`INSERT INTO orders (id, company_id, store_id, created_at) VALUES (1, 1, 'o', 0)`)
	exec(`INSERT INTO licenses (id, company_id, product_id, order_id, license_key, license_type, enabled, active, is_trial, max_activations,
		allow_unlimited_activations, times_activated, transfer_count, created_at, updated_at)
		VALUES (1, 1, 1, 1, 'K', 'perpetual', TRUE, TRUE, FALSE, 5, FALSE, 0, 0, 0, 0)`)
	for _, id := range []int64{1, 2, 3} {
		exec(`INSERT INTO devices (id, company_id, license_id, hardware_id, active, blacklisted, created_at, updated_at)
			VALUES ($1, 1, 1, $2, TRUE, FALSE, 0, 0)`, id, "hw-"+strings.Repeat("x", int(id)))
	}
	want := map[int64][]licensing.DeviceSignature{}
	for _, s := range []licensing.DeviceSignature{
		{DeviceID: 1, Slot: licensing.SlotLicenseSignature, Digest: []byte{1, 0, 255}, Signature: "d1-license"},
		{DeviceID: 1, Slot: licensing.SlotCheck, Digest: []byte{1, 2}, Signature: "d1-check"},
		{DeviceID: 1, Slot: licensing.SlotTrack, Digest: []byte{1, 3}, Signature: "d1-track"},
		{DeviceID: 1, Slot: licensing.SlotVariables, Digest: []byte{1, 4}, Signature: "d1-vars"},
		{DeviceID: 3, Slot: licensing.SlotTrack, Digest: []byte{3, 3}, Signature: "d3-track"},
	} {
		exec(`INSERT INTO device_signatures (device_id, slot, digest, signature) VALUES ($1, $2, $3, $4)`, s.DeviceID, s.Slot, s.Digest, s.Signature)
		want[s.DeviceID] = append(want[s.DeviceID], s)
	}

	st, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range []int64{1, 2, 3} {
		var got []licensing.DeviceSignature
		if err := st.ReadSingle(ctx, func(tx licensing.Tx) (err error) { got, err = tx.DeviceSignatures(ctx, id); return err }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want[id]) {
			t.Errorf("device %d after the migration: %+v, want %+v", id, got, want[id])
		}
	}
	if _, err := db.ExecContext(ctx, `SELECT 1 FROM device_signatures`); err == nil {
		t.Error("device_signatures is still there")
	}
}
