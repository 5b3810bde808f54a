package jsoncanon

import (
	"encoding/json"
	"testing"
)

// A license activation response shaped like reference §7: ~45 top-level fields, nested
// objects, user metadata maps, and a slice of five features.

type benchFeature struct {
	ID              int64          `json:"id"`
	Code            string         `json:"code"`
	Name            string         `json:"name"`
	FeatureType     string         `json:"feature_type"`
	ExpiryDate      *string        `json:"expiry_date"`
	Metadata        map[string]any `json:"metadata"`
	IsFloating      bool           `json:"is_floating"`
	IsFloatingCloud bool           `json:"is_floating_cloud"`
	FloatingTimeout int            `json:"floating_timeout,omitempty"`
	MaxConsumption  int            `json:"max_consumption,omitempty"`
}

type benchCustomerAccount struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Code string `json:"code"`
}

type benchCustomer struct {
	Email           string                `json:"email"`
	CompanyName     string                `json:"company_name"`
	Reference       string                `json:"reference"`
	Phone           string                `json:"phone"`
	FirstName       string                `json:"first_name"`
	LastName        string                `json:"last_name"`
	City            string                `json:"city"`
	Postcode        string                `json:"postcode"`
	State           string                `json:"state"`
	Country         string                `json:"country"`
	Address         string                `json:"address"`
	CustomerAccount *benchCustomerAccount `json:"customer_account"`
	Metadata        map[string]any        `json:"metadata"`
}

type benchProductDetails struct {
	ProductID           int64          `json:"product_id"`
	ProductName         string         `json:"product_name"`
	ShortCode           string         `json:"short_code"`
	AllowTrial          bool           `json:"allow_trial"`
	TrialDays           int            `json:"trial_days"`
	AuthorizationMethod string         `json:"authorization_method"`
	AllowOverages       bool           `json:"allow_overages"`
	MaxOverages         int            `json:"max_overages"`
	PreventVM           bool           `json:"prevent_vm"`
	ValidityPeriod      *string        `json:"validity_period"`
	FloatingTimeout     int            `json:"floating_timeout"`
	CompanyID           int64          `json:"company_id"`
	Metadata            map[string]any `json:"metadata"`
}

type benchCustomField struct {
	Name     string `json:"name"`
	DataType string `json:"data_type"`
	Value    string `json:"value"`
}

type benchLicense struct {
	ID                        int64               `json:"id"`
	Active                    bool                `json:"active"`
	AllowGracePeriod          bool                `json:"allow_grace_period"`
	AllowOverages             bool                `json:"allow_overages"`
	AllowUnlimitedActivations bool                `json:"allow_unlimited_activations"`
	AllowOfflineActivation    bool                `json:"allow_offline_activation"`
	CanBorrow                 bool                `json:"can_borrow"`
	CustomFields              []benchCustomField  `json:"custom_fields"`
	Customer                  benchCustomer       `json:"customer"`
	Company                   struct{ ID int64 }  `json:"company"`
	DeviceID                  int64               `json:"device_id"`
	EnableMaintenancePeriod   bool                `json:"enable_maintenance_period"`
	FloatingTimeout           int                 `json:"floating_timeout"`
	GracePeriod               int                 `json:"grace_period"`
	IsAirGapped               bool                `json:"is_air_gapped"`
	IsExpired                 bool                `json:"is_expired"`
	IsFloatingCloud           bool                `json:"is_floating_cloud"`
	IsFloating                bool                `json:"is_floating"`
	IsHardwareKeyAuth         bool                `json:"is_hardware_key_auth"`
	IsTrial                   bool                `json:"is_trial"`
	TrialDays                 int                 `json:"trial_days,omitempty"`
	LicenseKey                string              `json:"license_key,omitempty"`
	LicenseType               string              `json:"license_type"`
	LicenseTemplateID         *int64              `json:"license_template_id"`
	MaintenancePeriod         *string             `json:"maintenance_period"`
	MaxActivations            int                 `json:"max_activations"`
	MaxBorrowTime             int                 `json:"max_borrow_time"`
	MaxOverages               int                 `json:"max_overages"`
	MaxTransfers              int                 `json:"max_transfers"`
	MaxLicenseUsers           int                 `json:"max_license_users,omitempty"`
	Metadata                  map[string]any      `json:"metadata"`
	OrderStoreID              *string             `json:"order_store_id"`
	PreventVM                 bool                `json:"prevent_vm"`
	ProductDetails            benchProductDetails `json:"product_details"`
	ProductFeatures           []benchFeature      `json:"product_features"`
	StartDate                 *string             `json:"start_date"`
	TimesActivated            int                 `json:"times_activated"`
	TransferCount             int                 `json:"transfer_count"`
	ValidityPeriod            *string             `json:"validity_period"`
	LicenseSignature          string              `json:"license_signature"`
	Request                   string              `json:"request"`
	HardwareID                string              `json:"hardware_id"`
	ConsumptionPeriod         *string             `json:"consumption_period"`
	MaxConsumptions           int                 `json:"max_consumptions"`
	TotalConsumptions         int                 `json:"total_consumptions"`
}

func benchValue() *benchLicense {
	validity := "2027-06-18T00:00:00.000Z"
	l := &benchLicense{
		ID: 1750853542919019, Active: true,
		CustomFields: []benchCustomField{{Name: "seat", DataType: "number", Value: "5"}},
		Customer: benchCustomer{Email: "test101@mail.com", CompanyName: "Acme Inc.", Reference: "ref_usr_321",
			Phone: "+1656123123123", City: "ci", Postcode: "10000", State: "st", Country: "co", Address: "ČK12",
			CustomerAccount: &benchCustomerAccount{ID: 1262, Code: "abc"}, Metadata: map[string]any{"b": 1, "tier": "gold"}},
		DeviceID: 1751361422033009, FloatingTimeout: 120, LicenseKey: "6Z29-M5XF-ZEEV-EM13", LicenseType: "perpetual",
		MaxActivations: 1000, Metadata: map[string]any{"region": "eu", "seats": 25, "beta": true},
		ProductDetails: benchProductDetails{ProductID: 1743668696892505, ProductName: "myproduct3", ShortCode: "myproduct3",
			AuthorizationMethod: "license-key", FloatingTimeout: 120, CompanyID: 276, Metadata: map[string]any{}},
		TimesActivated: 2, TransferCount: 2, ValidityPeriod: &validity,
		LicenseSignature: "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4==",
		Request:          "activation", HardwareID: "9005-a1b2-c3d4",
	}
	l.Company.ID = 276
	for i := range 5 {
		l.ProductFeatures = append(l.ProductFeatures, benchFeature{
			ID: int64(1000 + i), Code: "f" + string(rune('a'+i)), Name: "Feature " + string(rune('A'+i)),
			FeatureType: "activation", ExpiryDate: &validity, Metadata: map[string]any{"level": i}, FloatingTimeout: 30,
		})
	}
	return l
}

func BenchmarkMarshal(b *testing.B) {
	v := benchValue()
	out, err := Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendMarshal reuses the caller's buffer, as a handler that signs the body can.
func BenchmarkAppendMarshal(b *testing.B) {
	v := benchValue()
	buf, err := AppendMarshal(nil, v)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = AppendMarshal(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodingJSON(b *testing.B) {
	v := benchValue()
	out, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	in, err := json.Marshal(benchValue())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Canonicalize(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchValueMatchesEncodingJSON(t *testing.T) {
	// The benchmark compares like with like: same bytes once canonicalized.
	std, err := json.Marshal(benchValue())
	if err != nil {
		t.Fatal(err)
	}
	want, err := Canonicalize(std)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(benchValue())
	if err != nil || string(got) != string(want) {
		t.Fatalf("\n got %s, %v\nwant %s", got, err, want)
	}
}
