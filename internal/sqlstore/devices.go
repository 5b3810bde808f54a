package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

// deviceCols are the devices table's columns, as deviceScan.dest scans them.
const deviceCols = `id, company_id, license_id, license_user_id, hardware_id, active, blacklisted, transfer_pending, os_ver, hostname, ip,
	external_ip, mac_address, app_ver, sdk_ver, is_vm, vm_info, time_activated, time_deactivated, created_at, updated_at`

// A device with its last check, as the management reads see it (scanDevice): the stamp
// lives in device_checks, a narrow table the write-behind flush can update cheaply.
// The License API's keyed read leaves it out (it never answers it).
const (
	deviceReadCols = deviceCols + `, device_checks.last_check`
	deviceReadFrom = `devices LEFT JOIN device_checks ON device_checks.device_id = devices.id`
)

// deviceByLicenseKeySQL reads a license (l), its device (d), an API key's revocation,
// for each slot in recall (licensing.Slot…) the device's remembered signature of that
// kind, in slot order, and, with vars, the device's variables as JSON (d.VariablesJSON,
// where the dialect has it).
// Each text is made once: a fixed set of texts, as the statement cache expects.
func deviceByLicenseKeySQL(d Dialect, recall []int, vars bool) (string, []int, error) {
	k := deviceQueryKey{}
	for _, slot := range recall {
		if err := checkSlot(slot); err != nil {
			return "", nil, err
		}
		k.mask |= 1 << slot
	}
	if vars {
		switch {
		case d.VariablesJSON != "":
			k.variables = ", " + d.VariablesJSON
		case !d.Embedded:
			// Variables apart is one snapshot only where ReadSingle pins a connection.
			return "", nil, errors.New("the dialect has no VariablesJSON")
		}
	}
	q, ok := deviceByLicenseKeyTexts.Load(k)
	if !ok {
		q, _ = deviceByLicenseKeyTexts.LoadOrStore(k, deviceByLicenseKeyText(k.mask, k.variables))
	}
	return q.(string), slotsOf(k.mask), nil
}

// deviceByLicenseKeyTexts holds the query texts made, by deviceQueryKey.
var deviceByLicenseKeyTexts sync.Map

// deviceQueryKey names one query text: a bit per recalled slot, and the variables'
// column ("" for none).
type deviceQueryKey struct {
	mask      int
	variables string
}

// slotsOf lists the slots of mask in order.
func slotsOf(mask int) []int {
	var slots []int
	for slot := 1; slot <= licensing.SlotVariables; slot++ {
		if mask&(1<<slot) != 0 {
			slots = append(slots, slot)
		}
	}
	return slots
}

func deviceByLicenseKeyText(mask int, extra string) string {
	memo := ""
	if slots := slotsOf(mask); len(slots) > 0 {
		memo = ", " + memoColumns("d.", slots)
	}
	return `SELECT ` + licenseCols + `, ` + qualified("d", deviceCols) + `,
	(SELECT k.revoked FROM api_keys k WHERE k.id = $1 AND k.company_id = $2)` + memo + extra + `
	FROM licenses l JOIN devices d ON d.license_id = l.id AND d.hardware_id = $3
	WHERE l.company_id = $2 AND l.license_key = $4`
}

// qualified prefixes each of a comma-separated column list with table alias t.
func qualified(t, cols string) string {
	names := strings.Split(strings.Join(strings.Fields(cols), ""), ",")
	return t + "." + strings.Join(names, ", "+t+".")
}

// scanDevice scans one row of deviceReadCols.
func scanDevice(s interface{ Scan(...any) error }) (licensing.Device, error) {
	var ds deviceScan
	err := s.Scan(append(ds.dest(), &ds.lc)...)
	return ds.device(), noRows(err)
}

// deviceScan is where one row of deviceCols (and the last check) is scanned to.
type deviceScan struct {
	d          licensing.Device
	user       sql.NullInt64
	ta, td, lc sql.NullInt64
	c, u       int64
}

func (ds *deviceScan) dest() []any {
	d, i := &ds.d, &ds.d.Info
	return []any{&d.ID, &d.CompanyID, &d.LicenseID, &ds.user, &d.HardwareID, &d.Active, &d.Blacklisted, &d.TransferPending, &i.OSVer, &i.Hostname,
		&i.IP, &d.ExternalIP, &i.MACAddress, &i.AppVer, &i.SDKVer, &i.IsVM, &i.VMInfo, &ds.ta, &ds.td, &ds.c, &ds.u}
}

func (ds *deviceScan) device() licensing.Device {
	d := ds.d
	d.LicenseUserID = ds.user.Int64
	d.TimeActivated, d.TimeDeactivated, d.LastCheck = fromMSP(ds.ta), fromMSP(ds.td), fromMSP(ds.lc)
	d.CreatedAt, d.UpdatedAt = fromMS(ds.c), fromMS(ds.u)
	return d
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// insertDevice, with deviceInsertCols values per row from appendDevice, is the INSERT
// of CreateDevice and CreateDevices.
const (
	insertDevice = `INSERT INTO devices (company_id, license_id, license_user_id, hardware_id, active, blacklisted, transfer_pending, os_ver,
		hostname, ip, external_ip, mac_address, app_ver, sdk_ver, is_vm, vm_info, time_activated, time_deactivated, created_at, updated_at)`
	deviceInsertCols = 20
)

var insertOneDevice = insertDevice + " VALUES " + placeholders(1, deviceInsertCols, false)

func appendDevice(args []any, d *licensing.Device) []any {
	i := d.Info
	return append(args, d.CompanyID, d.LicenseID, nullID(d.LicenseUserID), d.HardwareID, d.Active, d.Blacklisted, d.TransferPending, i.OSVer,
		i.Hostname, i.IP, d.ExternalIP, i.MACAddress, i.AppVer, i.SDKVer, i.IsVM, i.VMInfo, msp(d.TimeActivated), msp(d.TimeDeactivated),
		ms(d.CreatedAt), ms(d.UpdatedAt))
}

func (t *Tx) CreateDevice(ctx context.Context, d *licensing.Device) (err error) {
	d.ID, err = t.insert(ctx, insertOneDevice, appendDevice(make([]any, 0, deviceInsertCols), d)...)
	if err != nil || d.LastCheck == nil {
		return err
	}
	return t.TouchDeviceCheck(ctx, d.ID, *d.LastCheck)
}

func (t *Tx) UpdateDevice(ctx context.Context, d *licensing.Device) error {
	i := d.Info
	return mustAffect(t.Q.ExecContext(ctx, `UPDATE devices SET license_user_id = $1, active = $2, blacklisted = $3, transfer_pending = $4,
		os_ver = $5, hostname = $6, ip = $7, external_ip = $8, mac_address = $9, app_ver = $10, sdk_ver = $11, is_vm = $12, vm_info = $13,
		time_activated = $14, time_deactivated = $15, updated_at = $16 WHERE company_id = $17 AND id = $18`,
		nullID(d.LicenseUserID), d.Active, d.Blacklisted, d.TransferPending, i.OSVer, i.Hostname, i.IP, d.ExternalIP, i.MACAddress, i.AppVer,
		i.SDKVer, i.IsVM, i.VMInfo, msp(d.TimeActivated), msp(d.TimeDeactivated), ms(d.UpdatedAt), d.CompanyID, d.ID))
}

func (t *Tx) Device(ctx context.Context, companyID, id int64) (licensing.Device, error) {
	return scanDevice(t.Q.QueryRowContext(ctx, `SELECT `+deviceReadCols+` FROM `+deviceReadFrom+` WHERE company_id = $1 AND id = $2`, companyID, id))
}

func (t *Tx) DeviceByHardwareID(ctx context.Context, licenseID int64, hardwareID string) (licensing.Device, error) {
	return scanDevice(t.Q.QueryRowContext(ctx, `SELECT `+deviceReadCols+` FROM `+deviceReadFrom+` WHERE license_id = $1 AND hardware_id = $2`, licenseID, hardwareID))
}

// DeviceByLicenseKey is the License API's hottest read as one statement (one snapshot,
// no transaction needed): see licensing.Tx.
func (t *Tx) DeviceByLicenseKey(ctx context.Context, q licensing.LicenseDeviceQuery) (licensing.LicenseDevice, error) {
	if q.Lock && !t.D.Embedded {
		// A row lock taken by a join (PostgreSQL's FOR UPDATE OF l) is taken after the
		// statement's snapshot: the device and variables read with it could predate a
		// writer that held the license just before. Only where a write transaction is
		// already exclusive (SQLite) does the plain statement read under the lock.
		return licensing.LicenseDevice{}, errors.ErrUnsupported
	}
	text, slots, err := deviceByLicenseKeySQL(t.D, q.Recall, q.Variables)
	if err != nil {
		return licensing.LicenseDevice{}, err
	}
	var ds deviceScan
	var revoked sql.NullBool
	memo := newMemoScan(slots)
	dest := append(append(ds.dest(), &revoked), memo.dest()...)
	var varsJSON []byte
	inline := q.Variables && t.D.VariablesJSON != ""
	if inline {
		dest = append(dest, &varsJSON)
	}
	l, err := scanLicense(t.Q.QueryRowContext(ctx, text, q.APIKeyID, q.CompanyID, q.HardwareID, q.LicenseKey), dest...)
	if err != nil {
		return licensing.LicenseDevice{}, err
	}
	if l.ProductID != q.ProductID {
		return licensing.LicenseDevice{}, licensing.ErrNoRows // the company's license with that key is another product's
	}
	ld := licensing.LicenseDevice{License: l, Device: ds.device(), APIKeyFound: revoked.Valid, APIKeyRevoked: revoked.Bool}
	ld.Signatures = memo.signatures(ld.Device.ID)
	switch {
	case inline:
		ld.Variables, err = variablesFromJSON(ld.Device.ID, varsJSON)
	case q.Variables:
		ld.Variables, err = t.Variables(ctx, ld.Device.ID)
	}
	if err != nil {
		return licensing.LicenseDevice{}, err
	}
	return ld, nil
}

func (t *Tx) ListDevices(ctx context.Context, companyID int64, f licensing.DeviceFilter) ([]licensing.Device, int64, error) {
	w := scopedTo("company_id", companyID)
	if f.LicenseID != 0 {
		w.add("license_id = ?", f.LicenseID)
	}
	if f.HardwareID != "" {
		w.add("hardware_id = ?", f.HardwareID)
	}
	if f.Blacklisted != nil {
		w.add("blacklisted = ?", *f.Blacklisted)
	}
	return listPage(ctx, t, deviceReadCols, deviceReadFrom, w, "id", f.Page, scanDevice)
}

func (t *Tx) CountActiveDevices(ctx context.Context, licenseID int64) (int64, error) {
	var n int64
	err := t.Q.QueryRowContext(ctx, `SELECT count(*) FROM devices WHERE license_id = $1 AND active = $2`, licenseID, true).Scan(&n)
	return n, err
}

func (t *Tx) CountActiveUserDevices(ctx context.Context, licenseID, userID int64) (int64, error) {
	var n int64
	err := t.Q.QueryRowContext(ctx, `SELECT count(*) FROM devices WHERE license_id = $1 AND license_user_id = $2 AND active = $3`,
		licenseID, userID, true).Scan(&n)
	return n, err
}

func (t *Tx) TransferPendingDevice(ctx context.Context, licenseID int64) (licensing.Device, error) {
	return scanDevice(t.Q.QueryRowContext(ctx, `SELECT `+deviceReadCols+` FROM `+deviceReadFrom+`
		WHERE license_id = $1 AND transfer_pending = $2 ORDER BY id LIMIT 1`, licenseID, true))
}

func (t *Tx) DeactivateDevices(ctx context.Context, licenseID int64, at time.Time) error {
	// Lock the rows both statements write in id order first (PostgreSQL), the order the
	// signature memo's flush writes in, so the two cannot deadlock.
	if t.D.LockSuffix != "" {
		rows, err := t.Q.QueryContext(ctx, `SELECT id FROM devices WHERE license_id = $1 AND (active = $2 OR transfer_pending = $2)
			ORDER BY id`+t.D.LockSuffix, licenseID, true)
		if err != nil {
			return err
		}
		for rows.Next() { // read every row: each is locked as it is produced
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
	}
	if _, err := t.Q.ExecContext(ctx, `UPDATE devices SET active = $1, time_deactivated = $2, updated_at = $3 WHERE license_id = $4 AND active = $5`,
		false, ms(at), ms(at), licenseID, true); err != nil {
		return err
	}
	_, err := t.Q.ExecContext(ctx, `UPDATE devices SET transfer_pending = $1 WHERE license_id = $2 AND transfer_pending = $3`, false, licenseID, true)
	return err
}

func (t *Tx) TouchDeviceCheck(ctx context.Context, deviceID int64, at time.Time) error {
	// Never moves backwards: stamps written behind by several instances may arrive out of order.
	_, err := t.Q.ExecContext(ctx, `INSERT INTO device_checks (device_id, last_check) VALUES ($1, $2)
		ON CONFLICT (device_id) DO UPDATE SET last_check = excluded.last_check WHERE device_checks.last_check < excluded.last_check`,
		deviceID, ms(at))
	return err
}

// ---- variables

func (t *Tx) Variables(ctx context.Context, deviceID int64) ([]licensing.Variable, error) {
	// Sorted here, not by the database: a device's few rows come in the order of the
	// (device_id, name) index, and SQLite's sorter cost a third of the query.
	rows, err := t.Q.QueryContext(ctx, `SELECT id, device_id, name, value, created_at FROM device_variables WHERE device_id = $1`, deviceID)
	if err != nil {
		return nil, err
	}
	vs, err := collect(rows, func(s interface{ Scan(...any) error }) (licensing.Variable, error) {
		var v licensing.Variable
		var c int64
		err := s.Scan(&v.ID, &v.DeviceID, &v.Name, &v.Value, &c)
		v.CreatedAt = fromMS(c)
		return v, err
	})
	sortVariables(vs)
	return vs, err
}

// sortVariables puts a device's variables in id order.
func sortVariables(vs []licensing.Variable) {
	slices.SortFunc(vs, func(a, b licensing.Variable) int { return cmp.Compare(a.ID, b.ID) })
}

// insertVariable, with variableInsertCols values per row from appendVariable, is the
// INSERT of UpsertVariables and InsertVariables.
const (
	insertVariable     = `INSERT INTO device_variables (device_id, name, value, created_at)`
	variableInsertCols = 4
)

func appendVariable(args []any, deviceID int64, v *licensing.Variable) []any {
	return append(args, deviceID, v.Name, v.Value, ms(v.CreatedAt))
}

func (t *Tx) UpsertVariables(ctx context.Context, deviceID int64, vars []licensing.Variable) error {
	// A name given twice is written once, with its last value (PostgreSQL refuses to
	// update one row twice in a statement); every entry gets that row's id.
	last := make(map[string]int, len(vars))
	for i, v := range vars {
		last[v.Name] = i
	}
	// In process (SQLite), a variable that comes with its row's id is rewritten by that
	// id: a primary-key update, without the insert attempt, the unique-index probe and
	// the RETURNING of an upsert. The rest (and any whose row is gone) take one upsert
	// for all, which is all there is where each statement is a round trip.
	args := make([]any, 0, variableInsertCols*len(last))
	for i := range vars {
		v := &vars[i]
		if last[v.Name] != i {
			continue
		}
		if v.ID != 0 && t.D.Embedded {
			res, err := t.Q.ExecContext(ctx, `UPDATE device_variables SET value = $1, created_at = $2 WHERE id = $3 AND device_id = $4 AND name = $5`,
				v.Value, ms(v.CreatedAt), v.ID, deviceID, v.Name)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				continue
			}
		}
		args = appendVariable(args, deviceID, v)
	}
	if len(args) > 0 {
		q := insertVariable + " VALUES " + placeholders(len(args)/variableInsertCols, variableInsertCols, false) +
			` ON CONFLICT (device_id, name) DO UPDATE SET value = excluded.value, created_at = excluded.created_at RETURNING id, name`
		rows, err := t.Q.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			vars[last[name]].ID = id
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for i := range vars {
		vars[i].ID, vars[i].DeviceID = vars[last[vars[i].Name]].ID, deviceID
	}
	return nil
}
