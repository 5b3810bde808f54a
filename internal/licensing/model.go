package licensing

import "time"

// Company is a tenant. Every other row belongs to exactly one company.
type Company struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	// SigningKeyPEM is the PKCS#8 PEM private key that signs License API responses.
	SigningKeyPEM string
	// PublicKeyPEM is the SPKI PEM that client apps pin.
	PublicKeyPEM string
}

// APIKey is a License API credential: the api key sent in Authorization plus the
// shared key that HMACs the Date header.
type APIKey struct {
	ID        int64
	CompanyID int64
	Key       string
	SharedKey string
	ReadOnly  bool
	Revoked   bool
	CreatedAt time.Time

	cached bool // served from the Service's key cache (see WithAPIKey)
}

// APIKeyInfo is a License API key as the management API shows it: it has no field for
// the shared key, so no answer built from it can show one.
type APIKeyInfo struct {
	ID        int64
	CompanyID int64
	Key       string
	ReadOnly  bool
	Revoked   bool
	// RevokedAt is when the key was revoked, as its api_key.revoke audit entry has it
	// (the first, if an older version wrote two); nil if it is not revoked or was
	// revoked before the audit log existed (migration 3).
	RevokedAt *time.Time
	CreatedAt time.Time
}

// Info is the key without its shared key (and without RevokedAt, which only the store
// reads).
func (k APIKey) Info() APIKeyInfo {
	return APIKeyInfo{ID: k.ID, CompanyID: k.CompanyID, Key: k.Key, ReadOnly: k.ReadOnly, Revoked: k.Revoked, CreatedAt: k.CreatedAt}
}

// ManagementKey authorises the management API. Only a hash of the secret is stored;
// the prefix (before the dot) finds the row.
type ManagementKey struct {
	ID         int64
	CompanyID  int64
	Prefix     string
	SecretHash []byte
	Revoked    bool
	CreatedAt  time.Time
}

// Authorization methods of a product.
const (
	AuthLicenseKey = "license-key"
	AuthUser       = "user"
)

// Product is what a vendor sells; client requests name it by ShortCode.
type Product struct {
	ID                  int64
	CompanyID           int64
	Name                string
	ShortCode           string
	AuthorizationMethod string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Order groups licenses sold together; StoreID is the vendor's own order id.
type Order struct {
	ID            int64
	CompanyID     int64
	StoreID       string
	CustomerEmail string
	CreatedAt     time.Time
}

// License types (reference §7.1).
const (
	TypePerpetual    = "perpetual"
	TypeTimeLimited  = "time-limited"
	TypeSubscription = "subscription"
)

// License is one sold entitlement of a product.
type License struct {
	ID                        int64
	CompanyID                 int64
	ProductID                 int64
	OrderID                   int64
	LicenseKey                string // empty for user-based licenses
	LicenseType               string
	Enabled                   bool
	Active                    bool
	IsTrial                   bool
	MaxActivations            int64
	AllowUnlimitedActivations bool
	TimesActivated            int64
	TransferCount             int64
	ValidityPeriod            *time.Time // nil: never expires
	CreatedAt                 time.Time
	UpdatedAt                 time.Time
}

// Expired reports whether the license's validity period has passed at now.
func (l *License) Expired(now time.Time) bool {
	return l.ValidityPeriod != nil && !now.Before(*l.ValidityPeriod)
}

// LicenseUser is a user allowed to use a user-based license; Email is the username.
type LicenseUser struct {
	ID           int64
	CompanyID    int64
	LicenseID    int64
	Email        string
	PasswordHash string
	CreatedAt    time.Time
}

// Device is one (license, hardware_id) pair.
type Device struct {
	ID              int64
	CompanyID       int64
	LicenseID       int64
	LicenseUserID   int64 // 0 when key-based
	HardwareID      string
	Active          bool
	Blacklisted     bool
	Info            DeviceInfo
	ExternalIP      string
	TimeActivated   *time.Time
	TimeDeactivated *time.Time
	LastCheck       *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// TransferPending marks a device whose deactivation (License API) left a transfer
	// pending, until an activation that takes a seat on its license clears it: its own
	// (it came back, no transfer) or another device's (a transfer, see takeTransfer). A
	// license reset clears it. Only inactive devices carry it.
	TransferPending bool
}

// DeviceInfo is what a client reports about itself at activation.
type DeviceInfo struct {
	OSVer      string
	Hostname   string
	IP         string
	MACAddress string
	AppVer     string
	SDKVer     string
	IsVM       bool
	VMInfo     string
}

// InfoFields is a set of DeviceInfo's fields, one bit each.
type InfoFields uint8

// The fields of DeviceInfo, as InfoFields.
const (
	InfoOSVer InfoFields = 1 << iota
	InfoHostname
	InfoIP
	InfoMACAddress
	InfoAppVer
	InfoSDKVer
	InfoIsVM
	InfoVMInfo
)

// keeping returns in with the fields of omitted taken from stored instead.
func (in DeviceInfo) keeping(stored DeviceInfo, omitted InfoFields) DeviceInfo {
	keep := func(f InfoFields, dst *string, v string) {
		if omitted&f != 0 {
			*dst = v
		}
	}
	keep(InfoOSVer, &in.OSVer, stored.OSVer)
	keep(InfoHostname, &in.Hostname, stored.Hostname)
	keep(InfoIP, &in.IP, stored.IP)
	keep(InfoMACAddress, &in.MACAddress, stored.MACAddress)
	keep(InfoAppVer, &in.AppVer, stored.AppVer)
	keep(InfoSDKVer, &in.SDKVer, stored.SDKVer)
	keep(InfoVMInfo, &in.VMInfo, stored.VMInfo)
	if omitted&InfoIsVM != 0 {
		in.IsVM = stored.IsVM
	}
	return in
}

// Variable is one named value tracked for a device.
type Variable struct {
	ID        int64
	DeviceID  int64
	Name      string
	Value     string
	CreatedAt time.Time // when the current value was set
}
