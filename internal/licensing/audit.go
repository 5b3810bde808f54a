package licensing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// AuditEntry is one recorded change: who did what to which object, with the object's
// values before and after (JSON; nil when the object did not exist or was not kept).
// The audit log is append-only: no API changes or removes an entry, and the database
// refuses UPDATE and DELETE on it.
type AuditEntry struct {
	ID         int64
	CompanyID  int64
	At         time.Time
	Actor      string // "management_key:ID", "client" (License API) or "cli"
	Action     string // e.g. "license.update", "device.activate"
	ObjectType string
	ObjectID   int64
	Before     json.RawMessage
	After      json.RawMessage
}

// AuditFilter selects audit entries in the management API.
type AuditFilter struct {
	Page
	ObjectType string
	ObjectID   int64 // 0: any
	Action     string
}

// Audit actions.
const (
	AuditCompanyCreate     = "company.create"
	AuditAPIKeyCreate      = "api_key.create"
	AuditAPIKeyRevoke      = "api_key.revoke"
	AuditProductCreate     = "product.create"
	AuditOrderCreate       = "order.create"
	AuditLicenseCreate     = "license.create"
	AuditLicenseUpdate     = "license.update"
	AuditLicenseReset      = "license.reset"
	AuditDeviceActivate    = "device.activate"
	AuditDeviceDeactivate  = "device.deactivate"
	AuditDeviceReset       = "device.reset"
	AuditDeviceBlacklist   = "device.blacklist"
	AuditDeviceUnblacklist = "device.unblacklist"
)

// Actors that are not a management key.
const (
	ActorClient = "client" // a License API call
	ActorCLI    = "cli"    // the licensor command line
)

type actorKey struct{}

// WithActor returns ctx carrying who acts, for the audit log.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ManagementActor names a management key in the audit log.
func ManagementActor(keyID int64) string { return "management_key:" + strconv.FormatInt(keyID, 10) }

func actorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return ActorCLI
}

// audit appends an entry in the transaction that makes the change, so the change and
// its record commit or roll back together. before and after are the views below (nil:
// none).
func (s *Service) audit(ctx context.Context, tx Tx, companyID int64, action, objectType string, objectID int64, before, after any) error {
	e, err := s.auditEntry(ctx, companyID, action, objectType, objectID, before, after)
	if err != nil {
		return err
	}
	if err := tx.AppendAudit(ctx, &e); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// auditEntry is the entry audit appends.
func (s *Service) auditEntry(ctx context.Context, companyID int64, action, objectType string, objectID int64, before, after any) (AuditEntry, error) {
	e := AuditEntry{CompanyID: companyID, At: s.Now(), Actor: actorOf(ctx), Action: action, ObjectType: objectType, ObjectID: objectID}
	var err error
	if e.Before, err = auditJSON(before); err != nil {
		return e, err
	}
	e.After, err = auditJSON(after)
	return e, err
}

// sameView reports whether two views of an object are recorded alike: a change that
// leaves them so changed nothing an audit entry would show.
func sameView(a, b any) (bool, error) {
	ja, err := auditJSON(a)
	if err != nil {
		return false, err
	}
	jb, err := auditJSON(b)
	return bytes.Equal(ja, jb), err
}

func auditJSON(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit value: %w", err)
	}
	return b, nil
}

// The views recorded for each object type: what a vendor needs to see what changed,
// never a secret (no shared key, password hash or signing key).

type productView struct {
	ID                  int64  `json:"id"`
	Name                string `json:"product_name"`
	ShortCode           string `json:"short_code"`
	AuthorizationMethod string `json:"authorization_method"`
}

func viewProduct(p Product) productView {
	return productView{p.ID, p.Name, p.ShortCode, p.AuthorizationMethod}
}

type orderView struct {
	ID            int64  `json:"id"`
	StoreID       string `json:"store_id"`
	CustomerEmail string `json:"customer_email"`
}

type licenseView struct {
	ID                        int64      `json:"id"`
	ProductID                 int64      `json:"product_id"`
	OrderID                   int64      `json:"order_id"`
	LicenseKey                string     `json:"license_key,omitempty"`
	Users                     []string   `json:"users,omitempty"`
	LicenseType               string     `json:"license_type"`
	Enabled                   bool       `json:"enabled"`
	Active                    bool       `json:"active"`
	IsTrial                   bool       `json:"is_trial"`
	MaxActivations            int64      `json:"max_activations"`
	AllowUnlimitedActivations bool       `json:"allow_unlimited_activations"`
	TimesActivated            int64      `json:"times_activated"`
	ValidityPeriod            *time.Time `json:"validity_period"`
}

func viewLicense(l License, users ...string) licenseView {
	return licenseView{l.ID, l.ProductID, l.OrderID, l.LicenseKey, users, l.LicenseType, l.Enabled, l.Active, l.IsTrial,
		l.MaxActivations, l.AllowUnlimitedActivations, l.TimesActivated, l.ValidityPeriod}
}

type deviceView struct {
	ID              int64      `json:"id"`
	LicenseID       int64      `json:"license_id"`
	LicenseUserID   int64      `json:"license_user_id,omitempty"`
	HardwareID      string     `json:"hardware_id"`
	Active          bool       `json:"active"`
	Blacklisted     bool       `json:"blacklisted"`
	ExternalIP      string     `json:"external_ip,omitempty"`
	TimeActivated   *time.Time `json:"time_activated"`
	TimeDeactivated *time.Time `json:"time_deactivated"`
}

// viewDevice is nil for a device that did not exist yet.
func viewDevice(d Device, exists bool) any {
	if !exists {
		return nil
	}
	return deviceView{d.ID, d.LicenseID, d.LicenseUserID, d.HardwareID, d.Active, d.Blacklisted, d.ExternalIP, d.TimeActivated, d.TimeDeactivated}
}

type apiKeyView struct {
	ID       int64  `json:"id"`
	APIKey   string `json:"api_key"`
	ReadOnly bool   `json:"read_only"`
	Revoked  bool   `json:"revoked"`
}

func viewAPIKey(k APIKeyInfo) apiKeyView { return apiKeyView{k.ID, k.Key, k.ReadOnly, k.Revoked} }

// AuditLog pages through a company's audit log, newest first.
func (s *Service) AuditLog(ctx context.Context, companyID int64, f AuditFilter) ([]AuditEntry, int64, error) {
	var es []AuditEntry
	var n int64
	err := s.store.Read(ctx, func(tx Tx) (err error) {
		es, n, err = tx.ListAudit(ctx, companyID, f)
		return err
	})
	return es, n, err
}
