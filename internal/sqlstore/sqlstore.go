// Package sqlstore implements licensing.Tx with SQL that both SQLite and PostgreSQL
// accept, over a Querier: database/sql's (DB, which PostgreSQL uses through pgx) or an
// engine's own (SQLite's). Placeholders are $1…$n, always in order of first appearance
// (SQLite numbers named parameters by appearance), except in bulk inserts where the
// Dialect asks for plain ones (bulk.go). The engines differ only in what a Dialect says.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

// Dialect is what differs between engines.
type Dialect struct {
	// LockSuffix is appended to the license lock query (PostgreSQL: " FOR UPDATE").
	LockSuffix string
	// LockTenantsSQL takes a transaction-scoped lock serialising company creation
	// (empty where a write transaction is already exclusive).
	LockTenantsSQL string
	// IsDuplicate reports whether err is a unique-constraint violation.
	IsDuplicate func(error) bool
	// Embedded is set for a database in this process with one exclusive writer
	// (SQLite): a statement costs no round trip, so several small ones may beat one
	// larger, and a write transaction holds every row, so a read inside it is under
	// any lock a writer would take.
	Embedded bool
	// VariablesJSON is a scalar subquery giving the variables of device d as a JSON
	// array, in any order (the reader sorts them by id), of objects {"i": id, "n":
	// name, "v": value, "c": created_at} ("[]" for none), for DeviceByLicenseKey to
	// read them in its one statement. Empty, for an Embedded dialect only: it reads
	// them with Variables, a statement of their own in the same Tx, which must then be
	// one snapshot (SQLite's ReadSingle is; a statement costs no round trip there).
	VariablesJSON string
	// PlainParams is set where bulk statements number their parameters "?" in order
	// rather than "$1", "$2"… (SQLite treats "$N" as a name and looks each one up among
	// those before it: tens of seconds for a statement of 30,000).
	PlainParams bool
}

// Querier runs statements, in a transaction or not. The database/sql one is here (DB);
// an engine may bring its own (sqlite's native one).
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) Row
}

// Row is one query's first row. Like *sql.Row, Scan reports sql.ErrNoRows when there
// was none, and any error of the query itself.
type Row interface {
	Scan(dest ...any) error
}

// Rows is a query's rows, as *sql.Rows.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Beginner begins transactions: a read-only one on a reader, or a write.
type Beginner interface {
	Begin(ctx context.Context, readOnly bool) (Transaction, error)
}

// Transaction is a Querier inside one transaction. Rollback after Commit changes
// nothing (it returns sql.ErrTxDone), so callers may defer it.
type Transaction interface {
	Querier
	Commit() error
	Rollback() error
}

// Tx implements licensing.Tx.
type Tx struct {
	Q Querier
	D Dialect
}

var _ licensing.Tx = (*Tx)(nil)

// Run runs fn in one transaction begun by b, committing when it returns nil.
func Run(ctx context.Context, b Beginner, readOnly bool, d Dialect, fn func(licensing.Tx) error) error {
	tx, err := b.Begin(ctx, readOnly)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// Deferred so that a panic in fn also ends the transaction at once, instead of
	// leaving it holding the writer (SQLite) or its row locks and pool connection
	// (PostgreSQL) until ctx ends, or for ever (SQLite's own connections);
	// after Commit it changes nothing.
	defer tx.Rollback()
	if err := fn(&Tx{Q: tx, D: d}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// RunSingle runs fn, which issues exactly one statement, on db outside any explicit
// transaction.
func RunSingle(db *DB, d Dialect, fn func(licensing.Tx) error) error {
	return fn(&Tx{Q: dbQuerier{db.DB}, D: d})
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func msp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromMSP(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func noRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return licensing.ErrNoRows
	}
	return err
}

func (t *Tx) dup(err error) error {
	if err != nil && t.D.IsDuplicate != nil && t.D.IsDuplicate(err) {
		return fmt.Errorf("%w: %v", licensing.ErrDuplicate, err)
	}
	return err
}

func (t *Tx) insert(ctx context.Context, q string, args ...any) (int64, error) {
	var id int64
	err := t.Q.QueryRowContext(ctx, q+" RETURNING id", args...).Scan(&id)
	return id, t.dup(err)
}

// mustAffect returns ErrNoRows when an update touched nothing.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return licensing.ErrNoRows
	}
	return nil
}

func limitOffset(p licensing.Page) (int, int) {
	l := p.Limit
	if l <= 0 {
		l = 20
	}
	o := p.Offset
	if o < 0 {
		o = 0
	}
	return l, o
}

// ---- companies and keys

func (t *Tx) LockTenants(ctx context.Context) error {
	if t.D.LockTenantsSQL == "" {
		return nil
	}
	_, err := t.Q.ExecContext(ctx, t.D.LockTenantsSQL)
	return err
}

func (t *Tx) CompanyCount(ctx context.Context) (int64, error) {
	var n int64
	err := t.Q.QueryRowContext(ctx, `SELECT count(*) FROM companies`).Scan(&n)
	return n, err
}

func (t *Tx) CreateCompany(ctx context.Context, c *licensing.Company) (err error) {
	c.ID, err = t.insert(ctx, `INSERT INTO companies (name, signing_key_pem, public_key_pem, created_at) VALUES ($1, $2, $3, $4)`,
		c.Name, c.SigningKeyPEM, c.PublicKeyPEM, ms(c.CreatedAt))
	return err
}

func (t *Tx) Company(ctx context.Context, id int64) (licensing.Company, error) {
	c := licensing.Company{ID: id}
	var created int64
	err := t.Q.QueryRowContext(ctx, `SELECT name, signing_key_pem, public_key_pem, created_at FROM companies WHERE id = $1`, id).
		Scan(&c.Name, &c.SigningKeyPEM, &c.PublicKeyPEM, &created)
	c.CreatedAt = fromMS(created)
	return c, noRows(err)
}

func (t *Tx) CreateAPIKey(ctx context.Context, k *licensing.APIKey) (err error) {
	k.ID, err = t.insert(ctx, `INSERT INTO api_keys (company_id, api_key, shared_key, read_only, revoked, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.CompanyID, k.Key, k.SharedKey, k.ReadOnly, k.Revoked, ms(k.CreatedAt))
	return err
}

func (t *Tx) APIKeyByKey(ctx context.Context, key string) (licensing.APIKey, error) {
	k := licensing.APIKey{Key: key}
	var created int64
	err := t.Q.QueryRowContext(ctx, `SELECT id, company_id, shared_key, read_only, revoked, created_at FROM api_keys WHERE api_key = $1`, key).
		Scan(&k.ID, &k.CompanyID, &k.SharedKey, &k.ReadOnly, &k.Revoked, &created)
	k.CreatedAt = fromMS(created)
	return k, noRows(err)
}

func (t *Tx) APIKeyRevoked(ctx context.Context, id int64) (revoked bool, err error) {
	err = t.Q.QueryRowContext(ctx, `SELECT revoked FROM api_keys WHERE id = $1`, id).Scan(&revoked)
	return revoked, noRows(err)
}

// apiKeyInfoCols select an APIKeyInfo from api_keys k; a key's revocation time is its
// first api_key.revoke audit entry's (the audit log's object index finds it).
const apiKeyInfoCols = `k.id, k.company_id, k.api_key, k.read_only, k.revoked, k.created_at,
	(SELECT min(a.created_at) FROM audit_log a WHERE a.company_id = k.company_id AND a.object_type = 'api_key'
		AND a.object_id = k.id AND a.action = '` + licensing.AuditAPIKeyRevoke + `')`

func scanAPIKeyInfo(r interface{ Scan(...any) error }) (licensing.APIKeyInfo, error) {
	var k licensing.APIKeyInfo
	var created int64
	var revokedAt sql.NullInt64
	err := r.Scan(&k.ID, &k.CompanyID, &k.Key, &k.ReadOnly, &k.Revoked, &created, &revokedAt)
	k.CreatedAt = fromMS(created)
	if k.Revoked {
		k.RevokedAt = fromMSP(revokedAt)
	}
	return k, err
}

func (t *Tx) APIKeyInfo(ctx context.Context, companyID, id int64) (licensing.APIKeyInfo, error) {
	k, err := scanAPIKeyInfo(t.Q.QueryRowContext(ctx, `SELECT `+apiKeyInfoCols+` FROM api_keys k WHERE k.company_id = $1 AND k.id = $2`, companyID, id))
	return k, noRows(err)
}

func (t *Tx) ListAPIKeys(ctx context.Context, companyID int64, page licensing.Page) ([]licensing.APIKeyInfo, int64, error) {
	return listPage(ctx, t, apiKeyInfoCols, "api_keys k", scopedTo("k.company_id", companyID), "k.id", page, scanAPIKeyInfo)
}

func (t *Tx) RevokeAPIKey(ctx context.Context, companyID, id int64) (bool, error) {
	// Only a key not yet revoked is updated: of concurrent revocations, the one that
	// updates the row reports the change (PostgreSQL re-checks the condition once the
	// row lock is free).
	res, err := t.Q.ExecContext(ctx, `UPDATE api_keys SET revoked = $1 WHERE company_id = $2 AND id = $3 AND revoked = $4`, true, companyID, id, false)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return n > 0, err
	}
	var one int
	err = t.Q.QueryRowContext(ctx, `SELECT 1 FROM api_keys WHERE company_id = $1 AND id = $2`, companyID, id).Scan(&one)
	return false, noRows(err)
}

func (t *Tx) Secrets(ctx context.Context) ([]licensing.StoredSecret, error) {
	rows, err := t.Q.QueryContext(ctx, `SELECT CAST($1 AS TEXT), id, public_key_pem, signing_key_pem FROM companies
		UNION ALL SELECT CAST($2 AS TEXT), id, api_key, shared_key FROM api_keys ORDER BY 1, 2`, licensing.SecretSigningKey, licensing.SecretSharedKey)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []licensing.StoredSecret
	for rows.Next() {
		var s licensing.StoredSecret
		if err := rows.Scan(&s.Kind, &s.ID, &s.Owner, &s.Value); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t *Tx) SetSecret(ctx context.Context, s licensing.StoredSecret) error {
	switch s.Kind {
	case licensing.SecretSigningKey:
		return mustAffect(t.Q.ExecContext(ctx, `UPDATE companies SET signing_key_pem = $1 WHERE id = $2`, s.Value, s.ID))
	case licensing.SecretSharedKey:
		return mustAffect(t.Q.ExecContext(ctx, `UPDATE api_keys SET shared_key = $1 WHERE id = $2`, s.Value, s.ID))
	}
	return fmt.Errorf("unknown secret kind %q", s.Kind)
}

func (t *Tx) CreateManagementKey(ctx context.Context, k *licensing.ManagementKey) (err error) {
	k.ID, err = t.insert(ctx, `INSERT INTO management_keys (company_id, prefix, secret_hash, revoked, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.CompanyID, k.Prefix, k.SecretHash, k.Revoked, ms(k.CreatedAt))
	return err
}

func (t *Tx) ManagementKeyByPrefix(ctx context.Context, prefix string) (licensing.ManagementKey, error) {
	k := licensing.ManagementKey{Prefix: prefix}
	var created int64
	err := t.Q.QueryRowContext(ctx, `SELECT id, company_id, secret_hash, revoked, created_at FROM management_keys WHERE prefix = $1`, prefix).
		Scan(&k.ID, &k.CompanyID, &k.SecretHash, &k.Revoked, &created)
	k.CreatedAt = fromMS(created)
	return k, noRows(err)
}

// ---- products and orders

const productCols = `id, company_id, name, short_code, authorization_method, created_at, updated_at`

func scanProduct(s interface{ Scan(...any) error }) (licensing.Product, error) {
	var p licensing.Product
	var c, u int64
	err := s.Scan(&p.ID, &p.CompanyID, &p.Name, &p.ShortCode, &p.AuthorizationMethod, &c, &u)
	p.CreatedAt, p.UpdatedAt = fromMS(c), fromMS(u)
	return p, noRows(err)
}

func (t *Tx) CreateProduct(ctx context.Context, p *licensing.Product) (err error) {
	p.ID, err = t.insert(ctx, `INSERT INTO products (company_id, name, short_code, authorization_method, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		p.CompanyID, p.Name, p.ShortCode, p.AuthorizationMethod, ms(p.CreatedAt), ms(p.UpdatedAt))
	return err
}

func (t *Tx) Product(ctx context.Context, companyID, id int64) (licensing.Product, error) {
	return scanProduct(t.Q.QueryRowContext(ctx, `SELECT `+productCols+` FROM products WHERE company_id = $1 AND id = $2`, companyID, id))
}

func (t *Tx) ProductByCode(ctx context.Context, companyID int64, code string) (licensing.Product, error) {
	return scanProduct(t.Q.QueryRowContext(ctx, `SELECT `+productCols+` FROM products WHERE company_id = $1 AND short_code = $2`, companyID, code))
}

func (t *Tx) ListProducts(ctx context.Context, companyID int64, page licensing.Page) ([]licensing.Product, int64, error) {
	return listPage(ctx, t, productCols, "products", scopedTo("company_id", companyID), "id", page, scanProduct)
}

func (t *Tx) CreateOrder(ctx context.Context, o *licensing.Order) (err error) {
	o.ID, err = t.insert(ctx, `INSERT INTO orders (company_id, store_id, customer_email, created_at) VALUES ($1, $2, $3, $4)`,
		o.CompanyID, o.StoreID, o.CustomerEmail, ms(o.CreatedAt))
	return err
}

func (t *Tx) scanOrder(row Row) (licensing.Order, error) {
	var o licensing.Order
	var c int64
	err := row.Scan(&o.ID, &o.CompanyID, &o.StoreID, &o.CustomerEmail, &c)
	o.CreatedAt = fromMS(c)
	return o, noRows(err)
}

func (t *Tx) OrderByStoreID(ctx context.Context, companyID int64, storeID string) (licensing.Order, error) {
	return t.scanOrder(t.Q.QueryRowContext(ctx, `SELECT id, company_id, store_id, customer_email, created_at FROM orders WHERE company_id = $1 AND store_id = $2`, companyID, storeID))
}

func (t *Tx) Order(ctx context.Context, companyID, id int64) (licensing.Order, error) {
	return t.scanOrder(t.Q.QueryRowContext(ctx, `SELECT id, company_id, store_id, customer_email, created_at FROM orders WHERE company_id = $1 AND id = $2`, companyID, id))
}

// collect scans every row with scan and closes rows.
func collect[T any](rows Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ---- licenses and users

const licenseCols = `l.id, l.company_id, l.product_id, l.order_id, l.license_key, l.license_type, l.enabled, l.active, l.is_trial,
	l.max_activations, l.allow_unlimited_activations, l.times_activated, l.transfer_count, l.validity_period, l.created_at, l.updated_at`

func scanLicense(s interface{ Scan(...any) error }, extra ...any) (licensing.License, error) {
	var l licensing.License
	var key sql.NullString
	var validity sql.NullInt64
	var c, u int64
	dest := append([]any{&l.ID, &l.CompanyID, &l.ProductID, &l.OrderID, &key, &l.LicenseType, &l.Enabled, &l.Active, &l.IsTrial,
		&l.MaxActivations, &l.AllowUnlimitedActivations, &l.TimesActivated, &l.TransferCount, &validity, &c, &u}, extra...)
	err := s.Scan(dest...)
	l.LicenseKey = key.String
	l.ValidityPeriod = fromMSP(validity)
	l.CreatedAt, l.UpdatedAt = fromMS(c), fromMS(u)
	return l, noRows(err)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// insertLicense, with licenseInsertCols values per row from appendLicense, is the
// INSERT of CreateLicense and CreateLicenses.
const (
	insertLicense = `INSERT INTO licenses (company_id, product_id, order_id, license_key, license_type, enabled, active, is_trial,
		max_activations, allow_unlimited_activations, times_activated, transfer_count, validity_period, created_at, updated_at)`
	licenseInsertCols = 15
)

var insertOneLicense = insertLicense + " VALUES " + placeholders(1, licenseInsertCols, false)

func appendLicense(args []any, l *licensing.License) []any {
	return append(args, l.CompanyID, l.ProductID, l.OrderID, nullString(l.LicenseKey), l.LicenseType, l.Enabled, l.Active, l.IsTrial,
		l.MaxActivations, l.AllowUnlimitedActivations, l.TimesActivated, l.TransferCount, msp(l.ValidityPeriod), ms(l.CreatedAt), ms(l.UpdatedAt))
}

func (t *Tx) CreateLicense(ctx context.Context, l *licensing.License) (err error) {
	l.ID, err = t.insert(ctx, insertOneLicense, appendLicense(make([]any, 0, licenseInsertCols), l)...)
	return err
}

func (t *Tx) License(ctx context.Context, companyID, id int64) (licensing.License, error) {
	return scanLicense(t.Q.QueryRowContext(ctx, `SELECT `+licenseCols+` FROM licenses l WHERE l.company_id = $1 AND l.id = $2`, companyID, id))
}

func (t *Tx) LockLicense(ctx context.Context, companyID, id int64) (licensing.License, error) {
	return scanLicense(t.Q.QueryRowContext(ctx, `SELECT `+licenseCols+` FROM licenses l WHERE l.company_id = $1 AND l.id = $2`+t.D.LockSuffix, companyID, id))
}

func (t *Tx) UpdateLicense(ctx context.Context, l *licensing.License) error {
	return mustAffect(t.Q.ExecContext(ctx, `UPDATE licenses SET enabled = $1, active = $2, max_activations = $3, allow_unlimited_activations = $4,
		times_activated = $5, transfer_count = $6, validity_period = $7, updated_at = $8 WHERE company_id = $9 AND id = $10`,
		l.Enabled, l.Active, l.MaxActivations, l.AllowUnlimitedActivations, l.TimesActivated, l.TransferCount, msp(l.ValidityPeriod), ms(l.UpdatedAt),
		l.CompanyID, l.ID))
}

func (t *Tx) ListLicenses(ctx context.Context, companyID int64, f licensing.LicenseFilter) ([]licensing.License, int64, error) {
	w := scopedTo("l.company_id", companyID)
	if f.LicenseKey != "" {
		w.add("l.license_key = ?", f.LicenseKey)
	}
	if f.ProductShortCode != "" {
		w.add("l.product_id IN (SELECT id FROM products WHERE company_id = $1 AND short_code = ?)", f.ProductShortCode)
	}
	return listPage(ctx, t, licenseCols, "licenses l", w, "l.id", f.Page,
		func(s interface{ Scan(...any) error }) (licensing.License, error) { return scanLicense(s) })
}

// The License API's lookups by key or user name the product too, but the queries
// below (and DeviceByLicenseKey) leave it out of their WHERE and drop other products'
// rows after reading them: a key is unique in its company, and a user's licenses are
// few, whereas a product may have millions. Given "l.product_id = $n", PostgreSQL
// without fresh statistics (after a bulk load, before autovacuum's ANALYZE) combined
// the key's index with the product's, reading a million index entries a lookup.

func (t *Tx) LicensesByKey(ctx context.Context, companyID, productID int64, key string) ([]licensing.License, error) {
	rows, err := t.Q.QueryContext(ctx, `SELECT `+licenseCols+` FROM licenses l WHERE l.company_id = $1 AND l.license_key = $2 ORDER BY l.id`, companyID, key)
	if err != nil {
		return nil, err
	}
	ls, err := collect(rows, func(s interface{ Scan(...any) error }) (licensing.License, error) { return scanLicense(s) })
	return ofProduct(ls, productID, func(l licensing.License) int64 { return l.ProductID }), err
}

func (t *Tx) LicensesByUser(ctx context.Context, companyID, productID int64, email string) ([]licensing.LicenseWithUser, error) {
	rows, err := t.Q.QueryContext(ctx, `SELECT `+licenseCols+`, u.id, u.email, u.password_hash, u.created_at
		FROM license_users u JOIN licenses l ON l.id = u.license_id
		WHERE u.company_id = $1 AND u.email = $2 ORDER BY l.id`, companyID, email)
	if err != nil {
		return nil, err
	}
	ls, err := collect(rows, func(s interface{ Scan(...any) error }) (licensing.LicenseWithUser, error) {
		var u licensing.LicenseUser
		var c int64
		l, err := scanLicense(s, &u.ID, &u.Email, &u.PasswordHash, &c)
		u.CompanyID, u.LicenseID, u.CreatedAt = l.CompanyID, l.ID, fromMS(c)
		return licensing.LicenseWithUser{License: l, User: u}, err
	})
	return ofProduct(ls, productID, func(l licensing.LicenseWithUser) int64 { return l.License.ProductID }), err
}

// ofProduct keeps, in order, the rows of rs whose product is productID.
func ofProduct[T any](rs []T, productID int64, product func(T) int64) []T {
	out := slices.DeleteFunc(rs, func(r T) bool { return product(r) != productID })
	if len(out) == 0 {
		return nil
	}
	return out
}

func (t *Tx) CreateLicenseUser(ctx context.Context, u *licensing.LicenseUser) (err error) {
	u.ID, err = t.insert(ctx, `INSERT INTO license_users (company_id, license_id, email, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		u.CompanyID, u.LicenseID, u.Email, u.PasswordHash, ms(u.CreatedAt))
	return err
}

func (t *Tx) LicenseUsers(ctx context.Context, licenseID int64) ([]licensing.LicenseUser, error) {
	rows, err := t.Q.QueryContext(ctx, `SELECT id, company_id, license_id, email, password_hash, created_at FROM license_users WHERE license_id = $1 ORDER BY id`, licenseID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(s interface{ Scan(...any) error }) (licensing.LicenseUser, error) {
		var u licensing.LicenseUser
		var c int64
		err := s.Scan(&u.ID, &u.CompanyID, &u.LicenseID, &u.Email, &u.PasswordHash, &c)
		u.CreatedAt = fromMS(c)
		return u, err
	})
}
