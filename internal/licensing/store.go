package licensing

import (
	"context"
	"time"
)

// Store keeps licensor's state. Every operation runs inside Read or Write; a Write
// transaction is serialised against every other Write that touches the same license
// (SQLite: one writer; PostgreSQL: row locks), so the rules in this package can read,
// decide and write without races.
type Store interface {
	Read(ctx context.Context, fn func(Tx) error) error
	// ReadSingle runs fn, which makes one lookup (one Tx call), without a transaction
	// of its own: the store answers it in one consistent snapshot (one statement, or
	// several on one connection in its kept snapshot), and the hottest lookups (API and
	// management keys, a device by license key) skip the BEGIN/COMMIT round trips. fn
	// reports a miss as ErrNoRows: a store may then run it again (SQLite looks again
	// past a kept snapshot, which may lag a moment behind another process's writes), so
	// fn only reads and keeps what its last run found.
	ReadSingle(ctx context.Context, fn func(Tx) error) error
	// Write runs fn in a write transaction and commits it. A store may run fn again
	// when the database aborted its transaction for reasons of its own (PostgreSQL: a
	// deadlock with another instance's writes), so fn keeps only what its last run
	// found, as with ReadSingle.
	Write(ctx context.Context, fn func(Tx) error) error
	Ping(ctx context.Context) error
	Close() error
}

// Tx is the set of primitive reads and writes the domain composes. Lookups of a
// missing row return ErrNoRows; writes rejected by a unique constraint return ErrDuplicate.
// Every lookup that takes a companyID only ever returns rows of that company.
type Tx interface {
	// LockTenants serialises company creation (two instances initialising one empty
	// database must not both create a first company).
	LockTenants(ctx context.Context) error
	CompanyCount(ctx context.Context) (int64, error)
	CreateCompany(ctx context.Context, c *Company) error
	Company(ctx context.Context, id int64) (Company, error)

	CreateAPIKey(ctx context.Context, k *APIKey) error
	APIKeyByKey(ctx context.Context, key string) (APIKey, error)
	// APIKeyRevoked reports whether the key with that id is revoked.
	APIKeyRevoked(ctx context.Context, id int64) (bool, error)
	// APIKeyInfo returns one of a company's License API keys, without its shared key;
	// ListAPIKeys pages through them by id.
	APIKeyInfo(ctx context.Context, companyID, id int64) (APIKeyInfo, error)
	ListAPIKeys(ctx context.Context, companyID int64, page Page) ([]APIKeyInfo, int64, error)
	// RevokeAPIKey revokes one of a company's keys; changed is false if it already was
	// revoked (under concurrent revocations, true for exactly one of them).
	RevokeAPIKey(ctx context.Context, companyID, id int64) (changed bool, err error)

	// Secrets lists every stored secret (signing keys, shared keys) as stored, sealed
	// or not; SetSecret rewrites one (sealing a database written without a master key).
	Secrets(ctx context.Context) ([]StoredSecret, error)
	SetSecret(ctx context.Context, s StoredSecret) error

	CreateManagementKey(ctx context.Context, k *ManagementKey) error
	ManagementKeyByPrefix(ctx context.Context, prefix string) (ManagementKey, error)

	CreateProduct(ctx context.Context, p *Product) error
	Product(ctx context.Context, companyID, id int64) (Product, error)
	ProductByCode(ctx context.Context, companyID int64, shortCode string) (Product, error)
	ListProducts(ctx context.Context, companyID int64, page Page) ([]Product, int64, error)

	CreateOrder(ctx context.Context, o *Order) error
	OrderByStoreID(ctx context.Context, companyID int64, storeID string) (Order, error)
	Order(ctx context.Context, companyID, id int64) (Order, error)

	CreateLicense(ctx context.Context, l *License) error
	License(ctx context.Context, companyID, id int64) (License, error)
	// LockLicense re-reads a license and holds it against concurrent writers until the
	// transaction ends.
	LockLicense(ctx context.Context, companyID, id int64) (License, error)
	UpdateLicense(ctx context.Context, l *License) error
	ListLicenses(ctx context.Context, companyID int64, f LicenseFilter) ([]License, int64, error)
	// LicensesByKey returns the licenses of a product with that key (at most one today).
	LicensesByKey(ctx context.Context, companyID, productID int64, key string) ([]License, error)
	// LicensesByUser returns the product's licenses that have a user with that email,
	// each with its user row, ordered by license id.
	LicensesByUser(ctx context.Context, companyID, productID int64, email string) ([]LicenseWithUser, error)

	CreateLicenseUser(ctx context.Context, u *LicenseUser) error
	LicenseUsers(ctx context.Context, licenseID int64) ([]LicenseUser, error)

	CreateDevice(ctx context.Context, d *Device) error
	// UpdateDevice writes every field but LastCheck, which only TouchDeviceCheck moves
	// (stamps are written behind, so a device read earlier must not move it back).
	UpdateDevice(ctx context.Context, d *Device) error
	Device(ctx context.Context, companyID, id int64) (Device, error)
	DeviceByHardwareID(ctx context.Context, licenseID int64, hardwareID string) (Device, error)
	// DeviceByLicenseKey reads in one statement, so as one snapshot that needs no
	// transaction around it, the product's license with that key, its device with that
	// hardware id and whether the company's License API key q.APIKeyID is revoked (0:
	// none asked; another company's key is not found). The device's LastCheck is left
	// nil: no License API answer holds it, and the read does not fetch it.
	// ErrNoRows when there is no such license or it has no such device.
	DeviceByLicenseKey(ctx context.Context, q LicenseDeviceQuery) (LicenseDevice, error)
	ListDevices(ctx context.Context, companyID int64, f DeviceFilter) ([]Device, int64, error)
	CountActiveDevices(ctx context.Context, licenseID int64) (int64, error)
	// CountActiveUserDevices counts the license's active devices activated by the
	// license user with that id.
	CountActiveUserDevices(ctx context.Context, licenseID, userID int64) (int64, error)
	// TransferPendingDevice returns the license's device marked TransferPending with the
	// lowest id; ErrNoRows when none is.
	TransferPendingDevice(ctx context.Context, licenseID int64) (Device, error)
	// DeactivateDevices deactivates the license's active devices (time_deactivated and
	// updated_at at) and clears every TransferPending mark of its devices, leaving the
	// rest of a marked inactive device as it is: a license reset.
	DeactivateDevices(ctx context.Context, licenseID int64, at time.Time) error
	// TouchDeviceCheck moves the device's last check to at, never back. deviceID must
	// come from a read (the stamp is written without reading the device's row).
	TouchDeviceCheck(ctx context.Context, deviceID int64, at time.Time) error

	// DeviceSignatures returns every remembered signature of a device, by slot;
	// PutDeviceSignatures replaces each one's slot in its device's row, in the order
	// given, skipping devices that do not exist and refusing slots that are not Slot….
	DeviceSignatures(ctx context.Context, deviceID int64) ([]DeviceSignature, error)
	PutDeviceSignatures(ctx context.Context, sigs []DeviceSignature) error

	// AppendAudit adds an audit entry, setting its ID; ListAudit pages through a
	// company's entries, newest first. Nothing updates or deletes an entry.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	ListAudit(ctx context.Context, companyID int64, f AuditFilter) ([]AuditEntry, int64, error)

	Variables(ctx context.Context, deviceID int64) ([]Variable, error)
	// UpsertVariables writes each variable by (device, name), setting ID on each. A
	// variable that comes with its row's ID (as Variables returned it) may be written
	// by that ID, the cheaper way where the row is still there.
	UpsertVariables(ctx context.Context, deviceID int64, vars []Variable) error

	// CreateLicenses, CreateDevices, AppendAudits and InsertVariables insert rows that
	// are all new (a bulk seed) in as few statements as the database allows, storing
	// what CreateLicense, CreateDevice, AppendAudit and UpsertVariables would one by
	// one. CreateLicenses sets each license's ID and needs every one to have a key;
	// CreateDevices sets each device's ID; AppendAudits and InsertVariables set none. A
	// row that is not new (a license key, a device's hardware id on its license, a
	// variable's name on its device) fails the call with ErrDuplicate.
	CreateLicenses(ctx context.Context, ls []License) error
	CreateDevices(ctx context.Context, ds []Device) error
	AppendAudits(ctx context.Context, es []AuditEntry) error
	InsertVariables(ctx context.Context, vs []Variable) error
}

// Kinds of StoredSecret.
const (
	SecretSigningKey = "signing_key" // companies.signing_key_pem; Owner is the public key PEM
	SecretSharedKey  = "shared_key"  // api_keys.shared_key; Owner is the api key
)

// StoredSecret is one secret column of one row, as stored.
type StoredSecret struct {
	Kind  string
	ID    int64 // the company's or the api key's id
	Owner string
	Value string
}

// LicenseWithUser pairs a license with the license user that matched a lookup.
type LicenseWithUser struct {
	License License
	User    LicenseUser
}

// Page is limit/offset pagination.
type Page struct {
	Limit  int
	Offset int
}

// LicenseFilter selects licenses in the management API.
type LicenseFilter struct {
	Page
	LicenseKey       string
	ProductShortCode string
}

// DeviceFilter selects devices in the management API.
type DeviceFilter struct {
	Page
	LicenseID   int64
	HardwareID  string
	Blacklisted *bool
}

// LicenseDeviceQuery names a license by key and one of its devices, and an API key
// whose revocation to report alongside.
type LicenseDeviceQuery struct {
	APIKeyID   int64 // 0: none
	CompanyID  int64
	ProductID  int64
	LicenseKey string
	HardwareID string
	// Recall asks for the device's remembered signatures of these kinds (Slot…) in the
	// same statement.
	Recall []int
	// Variables asks for the device's variables (as Tx.Variables returns them) in the
	// same snapshot.
	Variables bool
	// Lock asks, inside a write transaction, that the license be held against
	// concurrent writers until the transaction ends, as LockLicense holds it. A store
	// that cannot read everything asked under that lock in one statement answers
	// errors.ErrUnsupported, and the caller takes the step-by-step path.
	Lock bool
}

// LicenseDevice is what DeviceByLicenseKey found.
type LicenseDevice struct {
	License       License
	Device        Device
	APIKeyFound   bool // the API key exists in the company (false when none was asked for)
	APIKeyRevoked bool
	Signatures    []DeviceSignature // of the slots asked for in Recall that have one, in slot order
	Variables     []Variable        // when asked for: the device's variables, ordered by id
}
