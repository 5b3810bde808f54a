package manageapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

// optTime is a JSON time that may be absent, null or a time string. Decoding keeps the
// value as sent; parse reads it with the field's path, which an error returned while
// decoding could not name.
type optTime struct {
	set bool
	raw json.RawMessage
}

func (o *optTime) UnmarshalJSON(b []byte) error {
	o.set = true
	o.raw = append(o.raw[:0], b...)
	return nil
}

// parse returns the time sent at field (nil: absent or null).
func (o optTime) parse(field string) (*time.Time, error) {
	if !o.set || string(o.raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(o.raw, &s); err != nil {
		return nil, licensing.FieldError(field, "%s: expected a string (a date) or null, got %s", field, rawType(o.raw))
	}
	t, err := parseTime(s)
	if err != nil {
		return nil, licensing.FieldError(field, "%s must look like 2030-01-31 00:00:00 or be ISO-8601", field)
	}
	return &t, nil
}

// maxSafeInteger is 2^53-1, the largest integer a JavaScript client reads exactly: the
// canonical JSON encoder refuses larger ones, so storing one would make every later
// answer about the object (management and License API alike) an internal error.
const maxSafeInteger = 1<<53 - 1

// checkSafeInteger refuses a stored count the APIs could not send back.
func checkSafeInteger(field string, v int64) error {
	if v > maxSafeInteger {
		return licensing.FieldError(field, "Ensure this value is less than or equal to %d.", int64(maxSafeInteger))
	}
	return nil
}

// ---- products

type productBody struct {
	ID                  int64  `json:"id"`
	ProductName         string `json:"product_name"`
	ShortCode           string `json:"short_code"`
	AuthorizationMethod string `json:"authorization_method"`
	CreatedAt           string `json:"created_at"`
	UpdatedAt           string `json:"updated_at"`
}

func newProductBody(p licensing.Product) productBody {
	return productBody{p.ID, p.Name, p.ShortCode, p.AuthorizationMethod, drfTime(p.CreatedAt), drfTime(p.UpdatedAt)}
}

func (h *Handler) createProduct(r *http.Request, companyID int64) (int, any, error) {
	var in struct {
		ProductName         string `json:"product_name"`
		ShortCode           string `json:"short_code"`
		AuthorizationMethod string `json:"authorization_method"`
	}
	if err := decode(r, &in, false); err != nil {
		return 0, nil, err
	}
	p, err := h.svc.CreateProduct(r.Context(), companyID, licensing.ProductInput{Name: in.ProductName, ShortCode: in.ShortCode, AuthorizationMethod: in.AuthorizationMethod})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newProductBody(p), nil
}

func (h *Handler) getProduct(r *http.Request, companyID int64) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	p, err := h.svc.Product(r.Context(), companyID, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newProductBody(p), nil
}

func (h *Handler) listProducts(r *http.Request, companyID int64) (int, any, error) {
	pg, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	ps, n, err := h.svc.ListProducts(r.Context(), companyID, pg)
	if err != nil {
		return 0, nil, err
	}
	out := make([]productBody, len(ps))
	for i, p := range ps {
		out[i] = newProductBody(p)
	}
	return http.StatusOK, paged(r, pg, n, out), nil
}

// ---- orders and licenses

type licenseUserBody struct {
	ID              int64  `json:"id"`
	Email           string `json:"email"`
	InitialPassword string `json:"initial_password,omitempty"`
}

type licenseBody struct {
	ID                        int64             `json:"id"`
	LicenseKey                *string           `json:"license_key"`
	Product                   int64             `json:"product"`
	ProductShortCode          string            `json:"product_short_code"`
	Order                     int64             `json:"order"`
	OrderStoreID              string            `json:"order_store_id"`
	LicenseType               string            `json:"license_type"`
	Enabled                   bool              `json:"enabled"`
	Active                    bool              `json:"active"`
	IsTrial                   bool              `json:"is_trial"`
	MaxActivations            int64             `json:"max_activations"`
	AllowUnlimitedActivations bool              `json:"allow_unlimited_activations"`
	TimesActivated            int64             `json:"times_activated"`
	TransferCount             int64             `json:"transfer_count"`
	ValidityPeriod            *string           `json:"validity_period"`
	LicenseUsers              []licenseUserBody `json:"license_users"`
	CreatedAt                 string            `json:"created_at"`
	UpdatedAt                 string            `json:"updated_at"`
}

func newLicenseBody(d licensing.LicenseDetail) licenseBody {
	b := licenseBody{
		ID: d.ID, Product: d.ProductID, ProductShortCode: d.ProductShortCode, Order: d.OrderID, OrderStoreID: d.OrderStoreID,
		LicenseType: d.LicenseType, Enabled: d.Enabled, Active: d.Active, IsTrial: d.IsTrial, MaxActivations: d.MaxActivations,
		AllowUnlimitedActivations: d.AllowUnlimitedActivations, TimesActivated: d.TimesActivated, TransferCount: d.TransferCount,
		ValidityPeriod: drfTimePtr(d.ValidityPeriod), LicenseUsers: []licenseUserBody{},
		CreatedAt: drfTime(d.CreatedAt), UpdatedAt: drfTime(d.UpdatedAt),
	}
	if d.LicenseKey != "" {
		k := d.LicenseKey
		b.LicenseKey = &k
	}
	for _, u := range d.Users {
		b.LicenseUsers = append(b.LicenseUsers, licenseUserBody{u.ID, u.Email, u.InitialPassword})
	}
	return b
}

func (h *Handler) createOrder(r *http.Request, companyID int64) (int, any, error) {
	var in struct {
		ID       json.RawMessage `json:"id"`
		Customer struct {
			Email string `json:"email"`
		} `json:"customer"`
		Items []struct {
			ProductCode string `json:"product_code"`
			Licenses    []struct {
				Key   string `json:"key"`
				Users []struct {
					Email    string `json:"email"`
					Password string `json:"password"`
				} `json:"users"`
				MaxActivations            *int64  `json:"max_activations"`
				AllowUnlimitedActivations bool    `json:"allow_unlimited_activations"`
				ValidityPeriod            optTime `json:"validity_period"`
				LicenseType               string  `json:"license_type"`
				IsTrial                   bool    `json:"is_trial"`
			} `json:"licenses"`
		} `json:"items"`
	}
	if err := decode(r, &in, false); err != nil {
		return 0, nil, err
	}
	// Store ids are strings, but DRF clients also send numbers.
	var storeID string
	if len(in.ID) > 0 && string(in.ID) != "null" {
		var n json.Number
		if err := json.Unmarshal(in.ID, &storeID); err != nil {
			if err := json.Unmarshal(in.ID, &n); err != nil {
				return 0, nil, licensing.FieldError("id", "id: expected a string or a number, got %s", rawType(in.ID))
			}
			storeID = n.String()
		}
	}
	order := licensing.OrderInput{StoreID: storeID, CustomerEmail: in.Customer.Email}
	for i, it := range in.Items {
		item := licensing.OrderItem{ProductCode: it.ProductCode}
		for j, l := range it.Licenses {
			field := fmt.Sprintf("items[%d].licenses[%d]", i, j)
			validity, err := l.ValidityPeriod.parse(field + ".validity_period")
			if err != nil {
				return 0, nil, err
			}
			li := licensing.LicenseInput{Key: l.Key, AllowUnlimitedActivations: l.AllowUnlimitedActivations,
				ValidityPeriod: validity, LicenseType: l.LicenseType, IsTrial: l.IsTrial}
			switch {
			case l.MaxActivations != nil: // 0 included: a license no device can activate yet
				li.MaxActivations = *l.MaxActivations // the domain refuses a negative one
				if err := checkSafeInteger(field+".max_activations", li.MaxActivations); err != nil {
					return 0, nil, err
				}
			case !l.AllowUnlimitedActivations:
				li.MaxActivations = 1 // LicenseSpring's default
			}
			for _, u := range l.Users {
				li.Users = append(li.Users, licensing.UserInput{Email: u.Email, Password: u.Password})
			}
			item.Licenses = append(item.Licenses, li)
		}
		order.Items = append(order.Items, item)
	}
	co, err := h.svc.CreateOrder(r.Context(), companyID, order)
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		ID       int64         `json:"id"`
		StoreID  string        `json:"store_id"`
		Licenses []licenseBody `json:"licenses"`
	}{ID: co.Order.ID, StoreID: co.Order.StoreID, Licenses: []licenseBody{}}
	for _, d := range co.Licenses {
		out.Licenses = append(out.Licenses, newLicenseBody(d))
	}
	return http.StatusCreated, out, nil
}

func (h *Handler) listLicenses(r *http.Request, companyID int64) (int, any, error) {
	pg, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	f := licensing.LicenseFilter{Page: pg}
	if f.LicenseKey, err = queryText(r, "license_key"); err != nil {
		return 0, nil, err
	}
	if f.ProductShortCode, err = queryText(r, "product_short_code"); err != nil {
		return 0, nil, err
	}
	ds, n, err := h.svc.ListLicenses(r.Context(), companyID, f)
	if err != nil {
		return 0, nil, err
	}
	out := make([]licenseBody, len(ds))
	for i, d := range ds {
		out[i] = newLicenseBody(d)
	}
	return http.StatusOK, paged(r, pg, n, out), nil
}

func (h *Handler) getLicense(r *http.Request, companyID int64) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	d, err := h.svc.License(r.Context(), companyID, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newLicenseBody(d), nil
}

func (h *Handler) patchLicense(r *http.Request, companyID int64) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		MaxActivations            *int64  `json:"max_activations"`
		AllowUnlimitedActivations *bool   `json:"allow_unlimited_activations"`
		Enabled                   *bool   `json:"enabled"`
		ValidityPeriod            optTime `json:"validity_period"`
	}
	if err := decode(r, &in, false); err != nil {
		return 0, nil, err
	}
	if in.MaxActivations != nil {
		if err := checkSafeInteger("max_activations", *in.MaxActivations); err != nil {
			return 0, nil, err
		}
	}
	p := licensing.LicensePatch{MaxActivations: in.MaxActivations, AllowUnlimitedActivations: in.AllowUnlimitedActivations, Enabled: in.Enabled}
	if in.ValidityPeriod.set {
		t, err := in.ValidityPeriod.parse("validity_period")
		if err != nil {
			return 0, nil, err
		}
		p.ValidityPeriod = &t
	}
	d, err := h.svc.UpdateLicense(r.Context(), companyID, id, p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newLicenseBody(d), nil
}

func (h *Handler) enableLicense(on bool) handlerFunc {
	return func(r *http.Request, companyID int64) (int, any, error) {
		id, err := pathID(r)
		if err != nil {
			return 0, nil, err
		}
		d, err := h.svc.UpdateLicense(r.Context(), companyID, id, licensing.LicensePatch{Enabled: &on})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, newLicenseBody(d), nil
	}
}

func (h *Handler) resetLicense(r *http.Request, companyID int64) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	d, err := h.svc.ResetLicense(r.Context(), companyID, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newLicenseBody(d), nil
}

// ---- devices and variables

type deviceBody struct {
	ID              int64   `json:"id"`
	License         int64   `json:"license"`
	HardwareID      string  `json:"hardware_id"`
	DeviceActive    bool    `json:"device_active"`
	Blacklisted     bool    `json:"blacklisted"`
	OS              string  `json:"os"`
	Hostname        string  `json:"hostname"`
	IP              string  `json:"ip"`
	ExternalIP      string  `json:"external_ip"`
	MACAddress      string  `json:"mac_address"`
	AppVer          string  `json:"app_ver"`
	SDKBuildVersion string  `json:"sdk_build_version"`
	IsVM            bool    `json:"is_vm"`
	VMInfo          string  `json:"vm_info"`
	TimeActivated   *string `json:"time_activated"`
	TimeDeactivated *string `json:"time_deactivated"`
	LastCheck       *string `json:"last_check"`
	CreatedAt       string  `json:"created_at"`
	UpdatedAt       string  `json:"updated_at"`
}

func newDeviceBody(d licensing.Device) deviceBody {
	i := d.Info
	return deviceBody{d.ID, d.LicenseID, d.HardwareID, d.Active, d.Blacklisted, i.OSVer, i.Hostname, i.IP, d.ExternalIP, i.MACAddress,
		i.AppVer, i.SDKVer, i.IsVM, i.VMInfo, drfTimePtr(d.TimeActivated), drfTimePtr(d.TimeDeactivated), drfTimePtr(d.LastCheck),
		drfTime(d.CreatedAt), drfTime(d.UpdatedAt)}
}

func (h *Handler) listDevices(r *http.Request, companyID int64) (int, any, error) {
	pg, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	f := licensing.DeviceFilter{Page: pg}
	if f.HardwareID, err = queryText(r, "hardware_id"); err != nil {
		return 0, nil, err
	}
	if f.LicenseID, err = queryID(r, "license"); err != nil {
		return 0, nil, err
	}
	if v := r.URL.Query().Get("blacklisted"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return 0, nil, licensing.FieldError("blacklisted", "blacklisted must be true or false")
		}
		f.Blacklisted = &b
	}
	ds, n, err := h.svc.ListDevices(r.Context(), companyID, f)
	if err != nil {
		return 0, nil, err
	}
	out := make([]deviceBody, len(ds))
	for i, d := range ds {
		out[i] = newDeviceBody(d)
	}
	return http.StatusOK, paged(r, pg, n, out), nil
}

func (h *Handler) getDevice(r *http.Request, companyID int64) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	d, err := h.svc.Device(r.Context(), companyID, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newDeviceBody(d), nil
}

func (h *Handler) blacklist(on bool) handlerFunc {
	msg := "Device unblacklisted."
	if on {
		msg = "Device blacklisted."
	}
	return func(r *http.Request, companyID int64) (int, any, error) {
		id, err := pathID(r)
		if err != nil {
			return 0, nil, err
		}
		if _, err := h.svc.SetBlacklisted(r.Context(), companyID, id, on); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, messageBody{msg}, nil
	}
}

// resetDevice deactivates a device and frees its seat, blacklisted or not (it stays
// blacklisted); an inactive device answers the same and is left as it is.
func (h *Handler) resetDevice(r *http.Request, companyID int64) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	if _, err := h.svc.ResetDevice(r.Context(), companyID, id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, messageBody{"Device reset and license updated."}, nil
}

// messageBody is the answer of an action that has nothing else to show.
type messageBody struct {
	Message string `json:"message"`
}

type variableBody struct {
	ID        int64  `json:"id"`
	CreatedAt string `json:"created_at"`
	Variable  string `json:"variable"`
	Value     string `json:"value"`
	Device    int64  `json:"device"`
}

func (h *Handler) listVariables(r *http.Request, companyID int64) (int, any, error) {
	pg, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	deviceID, err := queryID(r, "device")
	if err != nil {
		return 0, nil, err
	}
	if deviceID == 0 {
		return 0, nil, licensing.FieldError("device", "the device filter is required")
	}
	vs, err := h.svc.DeviceVariables(r.Context(), companyID, deviceID)
	if err != nil {
		return 0, nil, err
	}
	total := int64(len(vs))
	vs = vs[min(pg.Offset, len(vs)):]
	vs = vs[:min(pg.Limit, len(vs))]
	out := make([]variableBody, len(vs))
	for i, v := range vs {
		out[i] = variableBody{v.ID, drfTime(v.CreatedAt), v.Name, v.Value, v.DeviceID}
	}
	return http.StatusOK, paged(r, pg, total, out), nil
}

// ---- api keys

// apiKeyBody is a License API key; the shared key is set only in the answer that
// created it.
type apiKeyBody struct {
	ID        int64   `json:"id"`
	APIKey    string  `json:"api_key"`
	SharedKey string  `json:"shared_key,omitempty"`
	ReadOnly  bool    `json:"read_only"`
	Revoked   bool    `json:"revoked"`
	RevokedAt *string `json:"revoked_at"`
	CreatedAt string  `json:"created_at"`
}

func newAPIKeyBody(k licensing.APIKeyInfo) apiKeyBody {
	return apiKeyBody{ID: k.ID, APIKey: k.Key, ReadOnly: k.ReadOnly, Revoked: k.Revoked, RevokedAt: drfTimePtr(k.RevokedAt),
		CreatedAt: drfTime(k.CreatedAt)}
}

// listAPIKeys pages through the company's License API keys, revoked ones included;
// no shared key is ever shown again.
func (h *Handler) listAPIKeys(r *http.Request, companyID int64) (int, any, error) {
	pg, err := page(r)
	if err != nil {
		return 0, nil, err
	}
	ks, n, err := h.svc.ListAPIKeys(r.Context(), companyID, pg)
	if err != nil {
		return 0, nil, err
	}
	out := make([]apiKeyBody, len(ks))
	for i, k := range ks {
		out[i] = newAPIKeyBody(k)
	}
	return http.StatusOK, paged(r, pg, n, out), nil
}

func (h *Handler) createAPIKey(r *http.Request, companyID int64) (int, any, error) {
	var in struct {
		ReadOnly bool `json:"read_only"`
	}
	if err := decode(r, &in, true); err != nil {
		return 0, nil, err
	}
	k, err := h.svc.CreateAPIKey(r.Context(), companyID, in.ReadOnly)
	if err != nil {
		return 0, nil, err
	}
	b := newAPIKeyBody(k.Info())
	b.SharedKey = k.SharedKey
	return http.StatusCreated, b, nil
}

func (h *Handler) revokeAPIKey(r *http.Request, companyID int64) (int, any, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	k, err := h.svc.RevokeAPIKey(r.Context(), companyID, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newAPIKeyBody(k), nil
}
