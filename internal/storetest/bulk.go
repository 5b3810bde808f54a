package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

// bulkRows is more rows of each kind than one bulk statement binds (the stores split
// them at 32,766 parameters: 2,184 licenses, 1,724 devices, 4,095 audit entries, 8,191
// variables), so every bulk insert below takes at least two statements.
const bulkRows = 2500

// testBulkInserts: CreateLicenses, CreateDevices, AppendAudits and InsertVariables store
// what their single forms would, set the IDs they promise to, across statements; a
// duplicate in a later statement fails the call and the transaction leaves nothing.
func testBulkInserts(t *testing.T, e *env) {
	c := e.company("c")
	p := e.product(c.ID, "app", licensing.AuthLicenseKey)
	o := e.order(c.ID, "o")
	ls := make([]licensing.License, bulkRows)
	for i := range ls {
		ls[i] = licensing.License{CompanyID: c.ID, ProductID: p.ID, OrderID: o.ID, LicenseKey: fmt.Sprintf("BULK-%05d", i),
			LicenseType: licensing.TypePerpetual, Enabled: true, Active: i%2 == 0, IsTrial: i%3 == 0, MaxActivations: int64(i % 7),
			TimesActivated: int64(i % 5), CreatedAt: at(i), UpdatedAt: at(i + 1)}
		if i%4 == 0 {
			ls[i].ValidityPeriod = ptr(at(10 * i))
		}
	}
	ls[1].LicenseKey = unicodeKey
	ds := make([]licensing.Device, 4*bulkRows/5) // 2,000, with 3 audit entries and 5 variables each
	cases := deviceCases(0)
	for i := range ds {
		ds[i] = licensing.Device{HardwareID: fmt.Sprintf("hw-%d", i), Active: true, TimeActivated: ptr(at(i)), CreatedAt: at(i), UpdatedAt: at(i)}
		if i < len(cases) {
			ds[i] = cases[i]
		}
		ds[i].CompanyID = c.ID
	}
	ds[5].HardwareID, ds[6].HardwareID = "hw-shared", "hw-shared" // on two licenses: allowed, told apart by license
	var es []licensing.AuditEntry
	var vs []licensing.Variable
	e.write(func(tx licensing.Tx) error {
		if err := tx.CreateLicenses(e.ctx, ls); err != nil {
			return err
		}
		for i := range ds {
			ds[i].LicenseID = ls[i].ID
		}
		if err := tx.CreateDevices(e.ctx, ds); err != nil {
			return err
		}
		for i, d := range ds {
			es = append(es, licensing.AuditEntry{CompanyID: c.ID, At: at(i), Actor: "cli", Action: licensing.AuditLicenseCreate,
				ObjectType: "license", ObjectID: d.LicenseID, After: []byte(`{"i":` + fmt.Sprint(i) + `}`)},
				licensing.AuditEntry{CompanyID: c.ID, At: at(i), Actor: "cli", Action: licensing.AuditDeviceActivate,
					ObjectType: "device", ObjectID: d.ID, Before: []byte(`{"b":"ü"}`)},
				licensing.AuditEntry{CompanyID: c.ID, At: at(-i), Actor: "management_key:7", Action: licensing.AuditDeviceBlacklist,
					ObjectType: "device", ObjectID: d.ID})
			for j := range 5 {
				vs = append(vs, licensing.Variable{DeviceID: d.ID, Name: fmt.Sprintf("var%d", j), Value: fmt.Sprintf("%d-%d", i, j), CreatedAt: at(j)})
			}
		}
		if err := tx.AppendAudits(e.ctx, es); err != nil {
			return err
		}
		return tx.InsertVariables(e.ctx, vs)
	})

	ids := map[int64]bool{}
	for i, l := range ls {
		if l.ID == 0 || ids[l.ID] {
			t.Fatalf("license %d: ID %d (zero or given twice)", i, l.ID)
		}
		ids[l.ID] = true
	}
	for i, d := range ds {
		if d.ID == 0 || ids[-d.ID] {
			t.Fatalf("device %d: ID %d (zero or given twice)", i, d.ID)
		}
		ids[-d.ID] = true
	}
	for i := 0; i < bulkRows; i += 97 {
		equal(t, fmt.Sprintf("license %d", i), e.getLicense(c.ID, ls[i].ID), ls[i])
	}
	equal(t, "last license", e.getLicense(c.ID, ls[bulkRows-1].ID), ls[bulkRows-1])
	for _, i := range []int{0, 1, 2, 3, 4, 5, 6, 1000, len(ds) - 1} {
		equal(t, fmt.Sprintf("device %d", i), e.getDevice(c.ID, ds[i].ID), ds[i])
		var got []licensing.Variable
		e.read(func(tx licensing.Tx) (err error) { got, err = tx.Variables(e.ctx, ds[i].ID); return err })
		for k := range got {
			got[k].ID = 0
		}
		equal(t, fmt.Sprintf("variables of device %d", i), got, vs[5*i:5*i+5])
	}
	var listed []licensing.AuditEntry
	var total int64
	e.read(func(tx licensing.Tx) (err error) {
		listed, total, err = tx.ListAudit(e.ctx, c.ID, licensing.AuditFilter{Page: licensing.Page{Limit: 2}})
		return err
	})
	if total != int64(len(es)) || len(listed) != 2 {
		t.Fatalf("audit: %d entries (%d listed), want %d", total, len(listed), len(es))
	}
	for k := range listed {
		listed[k].ID = 0
	}
	equal(t, "newest audit entries", listed, []licensing.AuditEntry{es[len(es)-1], es[len(es)-2]})

	// A key that exists, in the second statement of the call: ErrDuplicate, and the
	// licenses of the first statement are gone with the transaction.
	again := make([]licensing.License, bulkRows)
	for i := range again {
		again[i] = ls[0]
		again[i].LicenseKey = fmt.Sprintf("AGAIN-%05d", i)
	}
	again[bulkRows-1].LicenseKey = ls[5].LicenseKey
	err := e.st.Write(e.ctx, func(tx licensing.Tx) error { return tx.CreateLicenses(e.ctx, again) })
	isErr(t, "CreateLicenses with a key that exists", err, licensing.ErrDuplicate)
	e.read(func(tx licensing.Tx) error {
		_, n, err := tx.ListLicenses(e.ctx, c.ID, licensing.LicenseFilter{Page: licensing.Page{Limit: 1}})
		if err == nil && n != bulkRows {
			t.Errorf("%d licenses after a rejected bulk insert, want %d", n, bulkRows)
		}
		return err
	})
	if err := e.st.Write(e.ctx, func(tx licensing.Tx) error {
		return tx.CreateLicenses(e.ctx, []licensing.License{{CompanyID: c.ID, ProductID: p.ID, OrderID: o.ID}})
	}); err == nil || errors.Is(err, licensing.ErrDuplicate) {
		t.Errorf("CreateLicenses of a license without a key: %v, want an error of its own", err)
	}
}
