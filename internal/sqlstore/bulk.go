package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/licensor/licensor/internal/licensing"
)

// Bulk inserts of rows that are all new (licensing.Tx's CreateLicenses, CreateDevices,
// AppendAudits and InsertVariables, behind `licensor seed`): as many rows per INSERT as
// the parameter limit allows, so a million seeded devices cost a few thousand
// statements instead of five million, each of which is a round trip on PostgreSQL.

// maxParams is the most parameters one bulk statement binds: SQLite's default limit
// (PostgreSQL's is 65,535).
const maxParams = 32766

// placeholders returns n rows of k numbered placeholders: "($1, $2), ($3, $4)" for 2, 2,
// or with plain set "(?, ?), (?, ?)".
func placeholders(n, k int, plain bool) string {
	var b strings.Builder
	b.Grow(n * k * 6)
	p := 1
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range k {
			if c > 0 {
				b.WriteString(", ")
			}
			if plain {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(p))
			}
			p++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// insertRows inserts n rows of k columns, insert being "INSERT INTO table (cols)":
// row appends row i's k values to args. With returning set, each inserted row's
// RETURNING columns go to scan; it must see n rows in all.
func (t *Tx) insertRows(ctx context.Context, insert string, k, n int, row func(args []any, i int) []any,
	returning string, scan func(interface{ Scan(...any) error }) error) error {
	per := maxParams / k
	seen := 0
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		args := make([]any, 0, (hi-lo)*k)
		for i := lo; i < hi; i++ {
			args = row(args, i)
		}
		q := insert + " VALUES " + placeholders(hi-lo, k, t.D.PlainParams)
		if returning == "" {
			if _, err := t.Q.ExecContext(ctx, q, args...); err != nil {
				return t.dup(err)
			}
			continue
		}
		rows, err := t.Q.QueryContext(ctx, q+" RETURNING "+returning, args...)
		if err != nil {
			return t.dup(err)
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
			seen++
		}
		err = rows.Err()
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return t.dup(err)
		}
	}
	if returning != "" && seen != n {
		return fmt.Errorf("%s: %d rows returned for %d inserted", insert, seen, n)
	}
	return nil
}

// idKey names a new row by the two columns of its unique key: the rows RETURNING
// gives back are matched to the rows inserted by it (their order is not promised).
type idKey struct {
	n int64
	s string
}

// setIDs is the scan of insertRows for RETURNING "id" and the key's two columns: it
// calls set with the index at gives the key and the row's id.
func setIDs(what string, at map[idKey]int, set func(i int, id int64)) func(interface{ Scan(...any) error }) error {
	return func(r interface{ Scan(...any) error }) error {
		var id int64
		var k idKey
		if err := r.Scan(&id, &k.n, &k.s); err != nil {
			return err
		}
		i, ok := at[k]
		if !ok {
			return fmt.Errorf("%s: (%d, %q) returned, not inserted", what, k.n, k.s)
		}
		set(i, id)
		return nil
	}
}

func (t *Tx) CreateLicenses(ctx context.Context, ls []licensing.License) error {
	at := make(map[idKey]int, len(ls))
	for i, l := range ls {
		if l.LicenseKey == "" {
			return fmt.Errorf("create licenses: license %d has no key", i)
		}
		at[idKey{l.CompanyID, l.LicenseKey}] = i // a key given twice in a company is refused by the database
	}
	return t.insertRows(ctx, insertLicense, licenseInsertCols, len(ls),
		func(args []any, i int) []any { return appendLicense(args, &ls[i]) },
		"id, company_id, license_key", setIDs("create licenses", at, func(i int, id int64) { ls[i].ID = id }))
}

func (t *Tx) CreateDevices(ctx context.Context, ds []licensing.Device) error {
	at := make(map[idKey]int, len(ds))
	for i, d := range ds {
		at[idKey{d.LicenseID, d.HardwareID}] = i
	}
	err := t.insertRows(ctx, insertDevice, deviceInsertCols, len(ds),
		func(args []any, i int) []any { return appendDevice(args, &ds[i]) },
		"id, license_id, hardware_id", setIDs("create devices", at, func(i int, id int64) { ds[i].ID = id }))
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.LastCheck != nil {
			if err := t.TouchDeviceCheck(ctx, d.ID, *d.LastCheck); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *Tx) AppendAudits(ctx context.Context, es []licensing.AuditEntry) error {
	return t.insertRows(ctx, insertAudit, auditInsertCols, len(es),
		func(args []any, i int) []any { return appendAudit(args, &es[i]) }, "", nil)
}

func (t *Tx) InsertVariables(ctx context.Context, vs []licensing.Variable) error {
	return t.insertRows(ctx, insertVariable, variableInsertCols, len(vs),
		func(args []any, i int) []any { return appendVariable(args, vs[i].DeviceID, &vs[i]) }, "", nil)
}
