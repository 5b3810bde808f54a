package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Identity names the license and device a request is about: the product short
// code, the device's hardware id and either a license key (key-based products)
// or a username (user-based products). LicenseID optionally pins one license.
type Identity struct {
	Product    string `json:"product"`
	HardwareID string `json:"hardware_id"`
	LicenseKey string `json:"license_key,omitempty"`
	Username   string `json:"username,omitempty"`
	LicenseID  int64  `json:"license_id,omitempty"`
}

// Query returns the identity as GET query parameters.
func (id Identity) Query() url.Values {
	q := url.Values{}
	q.Set("product", id.Product)
	q.Set("hardware_id", id.HardwareID)
	if id.LicenseKey != "" {
		q.Set("license_key", id.LicenseKey)
	}
	if id.Username != "" {
		q.Set("username", id.Username)
	}
	if id.LicenseID != 0 {
		q.Set("license_id", strconv.FormatInt(id.LicenseID, 10))
	}
	return q
}

// Var is one device variable to send. Value should be a string, a number
// (including json.Number, sent verbatim) or a bool.
type Var struct {
	Name  string
	Value any
}

// Vars is an ordered set of variables; it marshals as a JSON object in slice order.
type Vars []Var

// MarshalJSON writes the variables as one object, keys in slice order.
func (vs Vars) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, v := range vs {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalNoHTML(v.Name)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		val, err := marshalNoHTML(v.Value)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", v.Name, err)
		}
		buf.Write(val)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// VarsFromMap returns the map's variables ordered by name.
func VarsFromMap(m map[string]any) Vars {
	vs := make(Vars, 0, len(m))
	for k, v := range m {
		vs = append(vs, Var{k, v})
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	return vs
}

func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ActivateRequest is the body of activate_license.
type ActivateRequest struct {
	Identity
	Password   string `json:"password,omitempty"`
	Variables  Vars   `json:"variables,omitempty"`
	OSVer      string `json:"os_ver,omitempty"`
	Hostname   string `json:"hostname,omitempty"`
	IP         string `json:"ip,omitempty"`
	MACAddress string `json:"mac_address,omitempty"`
	AppVer     string `json:"app_ver,omitempty"`
	SDKVer     string `json:"sdk_ver,omitempty"`
	IsVM       *bool  `json:"is_vm,omitempty"`
	VMInfo     string `json:"vm_info,omitempty"`
}

// DeactivateRequest is the body of deactivate_license.
type DeactivateRequest struct {
	Identity
	Variables Vars `json:"variables,omitempty"`
}

// CheckRequest is the query of check_license.
type CheckRequest struct {
	Identity
}

// TrackRequest is the body of track_device_variables.
type TrackRequest struct {
	Identity
	Variables Vars `json:"variables"`
}

// ProductDetails is the product summary inside a license object.
type ProductDetails struct {
	ProductID           int64  `json:"product_id"`
	ProductName         string `json:"product_name"`
	ShortCode           string `json:"short_code"`
	AuthorizationMethod string `json:"authorization_method"`
}

// Company identifies the tenant in responses.
type Company struct {
	ID int64 `json:"id"`
}

// License is the license object of activate_license and check_license. Fields
// only one of the two carries are zero in the other (Active vs LicenseActive…).
type License struct {
	ID                        int64          `json:"id"`
	LicenseKey                *string        `json:"license_key"`
	LicenseType               string         `json:"license_type"`
	IsTrial                   bool           `json:"is_trial"`
	ValidityPeriod            *string        `json:"validity_period"`
	MaxActivations            int64          `json:"max_activations"`
	AllowUnlimitedActivations bool           `json:"allow_unlimited_activations"`
	TimesActivated            int64          `json:"times_activated"`
	TransferCount             int64          `json:"transfer_count"`
	IsExpired                 bool           `json:"is_expired"`
	DeviceID                  int64          `json:"device_id"`
	HardwareID                string         `json:"hardware_id"`
	Username                  string         `json:"username"`
	OrderStoreID              *string        `json:"order_store_id"`
	ProductDetails            ProductDetails `json:"product_details"`
	Company                   Company        `json:"company"`
	LicenseSignature          string         `json:"license_signature"`

	// activation only
	Request   string            `json:"request"`
	Active    bool              `json:"active"`
	Variables []TrackedVariable `json:"variables"`

	// check only
	LicenseActive  bool `json:"license_active"`
	LicenseEnabled bool `json:"license_enabled"`

	// Raw is the verified response body.
	Raw []byte `json:"-"`
}

// TrackedVariable is an element of the track_device_variables answer.
type TrackedVariable struct {
	Variable  string `json:"variable"`
	Value     string `json:"value"`
	DeviceID  int64  `json:"device_id"`
	CreatedAt int64  `json:"created_at"` // epoch milliseconds
}

// DeviceVariable is an element of the get_device_variables answer.
type DeviceVariable struct {
	ID        int64  `json:"id"`
	CreatedAt string `json:"created_at"` // ISO-8601 UTC with milliseconds
	Variable  string `json:"variable"`
	Value     string `json:"value"`
	DeviceID  int64  `json:"device_id"`
}

// ActivateLicense activates the license on the device.
func (c *Client) ActivateLicense(ctx context.Context, req ActivateRequest) (*License, error) {
	r, err := c.call(ctx, http.MethodPost, "activate_license", nil, req)
	if err != nil {
		return nil, err
	}
	return c.license(r, req.Identity)
}

// CheckLicense checks the license on the device.
func (c *Client) CheckLicense(ctx context.Context, req CheckRequest) (*License, error) {
	r, err := c.call(ctx, http.MethodGet, "check_license", req.Query(), nil)
	if err != nil {
		return nil, err
	}
	return c.license(r, req.Identity)
}

func (c *Client) license(r *Response, id Identity) (*License, error) {
	var l License
	if err := json.Unmarshal(r.Body, &l); err != nil {
		return nil, fmt.Errorf("%w: license object: %v", ErrUnexpectedResponse, err)
	}
	l.Raw = r.Body
	if err := c.VerifyLicenseSignature(l.LicenseSignature, id.HardwareID, id.LicenseKey, id.Username, l.ValidityPeriod); err != nil {
		return &l, err
	}
	return &l, nil
}

// Deactivated is the body of a successful deactivate_license.
const Deactivated = "license_deactivated"

// DeactivateLicense deactivates the license on the device. The answer is the
// text license_deactivated (raw, or as a JSON string literal) and is not signed.
func (c *Client) DeactivateLicense(ctx context.Context, req DeactivateRequest) error {
	r, err := c.Do(ctx, http.MethodPost, "deactivate_license", nil, req)
	if err != nil {
		return err
	}
	if err := ErrorOf(r); err != nil {
		return err
	}
	b := strings.TrimSpace(string(r.Body))
	if r.Status != http.StatusOK || (b != Deactivated && b != `"`+Deactivated+`"`) {
		return fmt.Errorf("%w: deactivate_license: HTTP %d %.100q", ErrUnexpectedResponse, r.Status, r.Body)
	}
	return nil
}

// TrackDeviceVariables stores variables for the device and returns them as stored.
func (c *Client) TrackDeviceVariables(ctx context.Context, req TrackRequest) ([]TrackedVariable, error) {
	r, err := c.call(ctx, http.MethodPost, "track_device_variables", nil, req)
	if err != nil {
		return nil, err
	}
	var vs []TrackedVariable
	if err := json.Unmarshal(r.Body, &vs); err != nil || vs == nil {
		return nil, fmt.Errorf("%w: track_device_variables: want array: %.200q", ErrUnexpectedResponse, r.Body)
	}
	return vs, nil
}

// GetDeviceVariables returns every variable stored for the device.
func (c *Client) GetDeviceVariables(ctx context.Context, id Identity) ([]DeviceVariable, error) {
	r, err := c.call(ctx, http.MethodGet, "get_device_variables", id.Query(), nil)
	if err != nil {
		return nil, err
	}
	var vs []DeviceVariable
	if err := json.Unmarshal(r.Body, &vs); err != nil || vs == nil {
		return nil, fmt.Errorf("%w: get_device_variables: want array: %.200q", ErrUnexpectedResponse, r.Body)
	}
	return vs, nil
}
