package licenseapi

import (
	"encoding/json"
	"time"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/signing"
)

// isoMillis is the License API's timestamp format: ISO-8601 UTC with milliseconds.
const isoMillis = "2006-01-02T15:04:05.000Z"

func iso(t time.Time) string { return t.UTC().Format(isoMillis) }

func isoPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := iso(*t)
	return &s
}

type emptyObject struct{}

type companyRef struct {
	ID int64 `json:"id"`
}

type customerBody struct {
	Email           string      `json:"email"`
	CompanyName     string      `json:"company_name"`
	Reference       string      `json:"reference"`
	Phone           string      `json:"phone"`
	FirstName       string      `json:"first_name"`
	LastName        string      `json:"last_name"`
	City            string      `json:"city"`
	Postcode        string      `json:"postcode"`
	State           string      `json:"state"`
	Country         string      `json:"country"`
	Address         string      `json:"address"`
	CustomerAccount *struct{}   `json:"customer_account"`
	Metadata        emptyObject `json:"metadata"`
}

type productDetails struct {
	ProductID           int64       `json:"product_id"`
	ProductName         string      `json:"product_name"`
	ShortCode           string      `json:"short_code"`
	AllowTrial          bool        `json:"allow_trial"`
	TrialDays           int         `json:"trial_days"`
	AuthorizationMethod string      `json:"authorization_method"`
	AllowOverages       bool        `json:"allow_overages"`
	MaxOverages         int         `json:"max_overages"`
	PreventVM           bool        `json:"prevent_vm"`
	ValidityPeriod      *string     `json:"validity_period"`
	FloatingTimeout     int         `json:"floating_timeout"`
	CompanyID           int64       `json:"company_id"`
	Metadata            emptyObject `json:"metadata"`
}

type userBody struct {
	ID                        int64  `json:"id"`
	Email                     string `json:"email"`
	FirstName                 string `json:"first_name"`
	LastName                  string `json:"last_name"`
	PhoneNumber               string `json:"phone_number"`
	IsInitialPassword         bool   `json:"is_initial_password"`
	MaxActivations            int64  `json:"max_activations"`
	AllowUnlimitedActivations bool   `json:"allow_unlimited_activations"`
	TotalActivations          int64  `json:"total_activations"`
}

// trackedVariable is a variable as track_device_variables and activation show it.
type trackedVariable struct {
	Variable  string `json:"variable"`
	Value     string `json:"value"`
	DeviceID  int64  `json:"device_id"`
	CreatedAt int64  `json:"created_at"` // epoch milliseconds
}

// storedVariable is a variable as get_device_variables shows it.
type storedVariable struct {
	ID        int64  `json:"id"`
	CreatedAt string `json:"created_at"`
	Variable  string `json:"variable"`
	Value     string `json:"value"`
	DeviceID  int64  `json:"device_id"`
}

// licenseBody is the license object of reference §7: the common fields, then the
// activation-only and check-only ones (nil pointers are left out).
type licenseBody struct {
	ID                        int64          `json:"id"`
	AllowGracePeriod          bool           `json:"allow_grace_period"`
	AllowOverages             bool           `json:"allow_overages"`
	AllowUnlimitedActivations bool           `json:"allow_unlimited_activations"`
	AllowOfflineActivation    bool           `json:"allow_offline_activation"`
	CanBorrow                 bool           `json:"can_borrow"`
	CustomFields              []struct{}     `json:"custom_fields"`
	Customer                  customerBody   `json:"customer"`
	Company                   companyRef     `json:"company"`
	DeviceID                  int64          `json:"device_id"`
	EnableMaintenancePeriod   bool           `json:"enable_maintenance_period"`
	FloatingTimeout           int            `json:"floating_timeout"`
	GracePeriod               int            `json:"grace_period"`
	IsAirGapped               bool           `json:"is_air_gapped"`
	IsExpired                 bool           `json:"is_expired"`
	IsFloatingCloud           bool           `json:"is_floating_cloud"`
	IsFloating                bool           `json:"is_floating"`
	IsHardwareKeyAuth         bool           `json:"is_hardware_key_auth"`
	IsTrial                   bool           `json:"is_trial"`
	LicenseKey                *string        `json:"license_key,omitempty"`
	LicenseType               string         `json:"license_type"`
	LicenseTemplateID         *int64         `json:"license_template_id"`
	MaintenancePeriod         *string        `json:"maintenance_period"`
	MaxActivations            int64          `json:"max_activations"`
	MaxBorrowTime             int            `json:"max_borrow_time"`
	MaxOverages               int            `json:"max_overages"`
	MaxTransfers              int            `json:"max_transfers"`
	Metadata                  emptyObject    `json:"metadata"`
	OrderStoreID              string         `json:"order_store_id"`
	PreventVM                 bool           `json:"prevent_vm"`
	ProductDetails            productDetails `json:"product_details"`
	ProductFeatures           []struct{}     `json:"product_features"`
	StartDate                 *string        `json:"start_date"`
	TimesActivated            int64          `json:"times_activated"`
	TransferCount             int64          `json:"transfer_count"`
	ValidityPeriod            *string        `json:"validity_period"`
	User                      *userBody      `json:"user,omitempty"`
	LicenseSignature          string         `json:"license_signature"`

	// activate_license
	Request          *string           `json:"request,omitempty"`
	Active           *bool             `json:"active,omitempty"`
	HardwareID       *string           `json:"hardware_id,omitempty"`
	Username         *string           `json:"username,omitempty"`
	InstallationFile *struct{}         `json:"installation_file,omitempty"`
	Variables        []trackedVariable `json:"variables,omitempty"`

	// check_license
	LicenseActive  *bool           `json:"license_active,omitempty"`
	LicenseEnabled *bool           `json:"license_enabled,omitempty"`
	IsBorrowed     *bool           `json:"is_borrowed,omitempty"`
	BorrowedUntil  json.RawMessage `json:"borrowed_until,omitempty"` // jsonNull in check answers: nothing is borrowed
}

// jsonNull is an answer's null that is present, where nil would leave the field out.
var jsonNull = json.RawMessage("null")

// v1SigningString is lowercase(hardware_id#user-or-key#validity) (reference §6.1).
func v1SigningString(hardwareID string, st licensing.LicenseState, username string) string {
	if st.User == nil {
		username = "" // key-based: the key
	}
	validity := ""
	if st.License.ValidityPeriod != nil {
		validity = iso(*st.License.ValidityPeriod)
	}
	return signing.V1Message(hardwareID, st.License.LicenseKey, username, validity)
}

// newLicenseBody fills the fields common to activation and check.
func newLicenseBody(companyID int64, st licensing.LicenseState, now time.Time) *licenseBody {
	l, p := st.License, st.Product
	b := &licenseBody{
		ID:                        l.ID,
		AllowUnlimitedActivations: l.AllowUnlimitedActivations,
		CustomFields:              []struct{}{},
		Customer:                  customerBody{Email: st.Order.CustomerEmail},
		Company:                   companyRef{ID: companyID},
		DeviceID:                  st.Device.ID,
		IsExpired:                 l.Expired(now),
		IsTrial:                   l.IsTrial,
		LicenseType:               l.LicenseType,
		MaxActivations:            l.MaxActivations,
		OrderStoreID:              st.Order.StoreID,
		ProductDetails: productDetails{
			ProductID: p.ID, ProductName: p.Name, ShortCode: p.ShortCode,
			AuthorizationMethod: p.AuthorizationMethod, CompanyID: companyID,
		},
		ProductFeatures: []struct{}{},
		TimesActivated:  l.TimesActivated,
		TransferCount:   l.TransferCount,
		ValidityPeriod:  isoPtr(l.ValidityPeriod),
	}
	if l.LicenseKey != "" {
		k := l.LicenseKey
		b.LicenseKey = &k
	}
	if u := st.User; u != nil {
		b.User = &userBody{ID: u.ID, Email: u.Email, MaxActivations: l.MaxActivations,
			AllowUnlimitedActivations: l.AllowUnlimitedActivations, TotalActivations: st.UserActivations}
	}
	return b
}

func ptr[T any](v T) *T { return &v }
