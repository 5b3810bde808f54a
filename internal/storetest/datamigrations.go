package storetest

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/migrate"
)

// RunDataMigrations checks, on one engine, each migration that moves data: for each,
// fresh gives a new, empty database (as a *sql.DB, and an open that applies every
// migration to it, as the engine's Open does), which first gets the engine's
// migrations (fsys, under "migrations") older than the one checked; the check then
// writes rows, opens the store and reads them back.
func RunDataMigrations(t *testing.T, fsys fs.FS, fresh func(t *testing.T) (*sql.DB, func(context.Context) (licensing.Store, error))) {
	noLock := func(context.Context, *sql.Tx) error { return nil } // the test's database is its own
	for _, m := range dataMigrations {
		t.Run(m.name, func(t *testing.T) {
			db, open := fresh(t)
			if err := migrate.Apply(context.Background(), db, migrationsBefore(t, fsys, "migrations", m.version), "migrations", noLock); err != nil {
				t.Fatal(err)
			}
			m.run(t, db, open)
		})
	}
}

// migrationsBefore is the part of an engine's embedded migrations (files under dir)
// older than version.
func migrationsBefore(t *testing.T, fsys fs.FS, dir, version string) fs.FS {
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

// dataMigration checks one migration that moves data: db holds the schema before it;
// run writes rows there, has open apply the rest, and checks what the store then reads.
type dataMigration struct {
	name    string
	version string // the migration's file name prefix
	run     func(t *testing.T, db *sql.DB, open func(context.Context) (licensing.Store, error))
}

var dataMigrations = []dataMigration{
	{"SignatureMemoInDevices", "0005", signatureMemoMigration},
	{"DeviceChecks", "0006", deviceChecksMigration},
	{"PendingTransfer", "0007", pendingTransferMigration},
}

// oldFixture writes, with statements every schema version takes, a company, product,
// order and license (all id 1) and devices 1–3 of that license, and returns exec.
func oldFixture(t *testing.T, db *sql.DB) func(q string, args ...any) {
	t.Helper()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
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
	return exec
}

// signatureMemoMigration: the signatures remembered in device_signatures are, after
// migration 5, each in its device's row, every slot of every device, and the old table
// is gone.
func signatureMemoMigration(t *testing.T, db *sql.DB, open func(context.Context) (licensing.Store, error)) {
	ctx := context.Background()
	exec := oldFixture(t, db)
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

// deviceChecksMigration: after migration 6 each device's last check (or none) reads as
// it was in its row, a stamp moves it forward only, and the column is gone.
func deviceChecksMigration(t *testing.T, db *sql.DB, open func(context.Context) (licensing.Store, error)) {
	ctx := context.Background()
	exec := oldFixture(t, db)
	exec(`UPDATE devices SET last_check = $1 WHERE id = 1`, int64(1_700_000_000_123))
	exec(`UPDATE devices SET last_check = $1 WHERE id = 3`, int64(-5))

	st, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	read := func(id int64) *time.Time {
		t.Helper()
		var d licensing.Device
		if err := st.ReadSingle(ctx, func(tx licensing.Tx) (err error) { d, err = tx.Device(ctx, 1, id); return err }); err != nil {
			t.Fatal(err)
		}
		return d.LastCheck
	}
	for id, want := range map[int64]*time.Time{1: ptr(time.UnixMilli(1_700_000_000_123).UTC()), 2: nil, 3: ptr(time.UnixMilli(-5).UTC())} {
		if got := read(id); !reflect.DeepEqual(got, want) {
			t.Errorf("device %d after the migration: last check %v, want %v", id, got, want)
		}
	}
	if err := st.Write(ctx, func(tx licensing.Tx) error {
		for _, s := range []struct{ id, at int64 }{{1, 1_600_000_000_000}, {2, 7}, {3, 9}} {
			if err := tx.TouchDeviceCheck(ctx, s.id, time.UnixMilli(s.at)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]int64{1: 1_700_000_000_123, 2: 7, 3: 9} {
		if got := read(id); got == nil || got.UnixMilli() != want {
			t.Errorf("device %d after stamps: last check %v, want %d ms", id, got, want)
		}
	}
	if _, err := db.ExecContext(ctx, `SELECT last_check FROM devices`); err == nil {
		t.Error("devices.last_check is still there")
	}
}

// pendingTransferMigration: after migration 7 the devices written before it read as
// they were, none marked transfer pending, and a mark is written and read back.
func pendingTransferMigration(t *testing.T, db *sql.DB, open func(context.Context) (licensing.Store, error)) {
	ctx := context.Background()
	exec := oldFixture(t, db)
	exec(`UPDATE devices SET active = FALSE, time_deactivated = 5 WHERE id = 2`)

	st, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	read := func(id int64) licensing.Device {
		t.Helper()
		var d licensing.Device
		if err := st.ReadSingle(ctx, func(tx licensing.Tx) (err error) { d, err = tx.Device(ctx, 1, id); return err }); err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, id := range []int64{1, 2, 3} {
		d := read(id)
		if d.TransferPending || d.Active != (id != 2) || d.HardwareID != "hw-"+strings.Repeat("x", int(id)) {
			t.Fatalf("device %d after the migration: %+v, want it as written, not transfer pending", id, d)
		}
	}
	var pending licensing.Device
	if err := st.ReadSingle(ctx, func(tx licensing.Tx) (err error) { pending, err = tx.TransferPendingDevice(ctx, 1); return err }); !errors.Is(err, licensing.ErrNoRows) {
		t.Fatalf("TransferPendingDevice after the migration: %+v, %v; want ErrNoRows", pending, err)
	}
	d := read(2)
	d.TransferPending = true
	if err := st.Write(ctx, func(tx licensing.Tx) error { return tx.UpdateDevice(ctx, &d) }); err != nil {
		t.Fatal(err)
	}
	if got := read(2); !reflect.DeepEqual(got, d) {
		t.Errorf("device written after the migration reads %+v, want %+v", got, d)
	}
}
