package licensing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SeedDevice is one license of a bulk seed: its key, the hardware id of the device
// activated on it and the variables that device holds.
type SeedDevice struct {
	LicenseKey string
	HardwareID string
	Variables  []VarInput
}

// SeedActivated creates, in one write transaction, an order and for each of devs a
// key-based perpetual license of one activation of the product with that short code,
// with the device activated on it and its variables stored. It leaves the rows and
// audit entries that create_order followed by one activate_license per device would
// (license.create shows the license as created, device.activate the device; the actor
// is the context's, by default cli), without HTTP, signatures or a transaction per
// device, and inserts each kind of row in bulk: it is how `licensor seed` fills a
// database for load tests.
//
// The product must exist and be key-based. A key that already exists fails the whole
// batch (a FieldError) and nothing of it is written.
func (s *Service) SeedActivated(ctx context.Context, companyID int64, productCode string, devs []SeedDevice) (Order, error) {
	if len(devs) == 0 {
		return Order{}, FieldError("licenses", "This field is required.")
	}
	keys := make(map[string]struct{}, len(devs))
	for i, d := range devs {
		switch {
		case d.LicenseKey == "" || len(d.LicenseKey) > 255:
			return Order{}, FieldError(fmt.Sprintf("licenses[%d].key", i), "a key of 1 to 255 characters is required")
		case d.HardwareID == "":
			return Order{}, FieldError(fmt.Sprintf("licenses[%d].hardware_id", i), "This field is required.")
		}
		if _, seen := keys[d.LicenseKey]; seen {
			return Order{}, FieldError(fmt.Sprintf("licenses[%d].key", i), "license with this key already exists.")
		}
		keys[d.LicenseKey] = struct{}{}
		if err := s.ValidateVariables(d.Variables); err != nil {
			return Order{}, err
		}
		if vars, _ := mergeVariables(0, nil, d.Variables, time.Time{}); len(vars) > s.limits.MaxVariablesPerDevice {
			return Order{}, FieldError("variables", "a device may hold at most %d variables", s.limits.MaxVariablesPerDevice)
		}
	}
	var out Order
	err := s.store.Write(ctx, func(tx Tx) error {
		prod, err := s.productByCode(ctx, tx, companyID, productCode)
		if errors.Is(err, ErrNoRows) {
			return FieldError("product_code", "product %q does not exist", productCode)
		} else if err != nil {
			return fmt.Errorf("product: %w", err)
		}
		if prod.AuthorizationMethod != AuthLicenseKey {
			return FieldError("product_code", "product %q is not key-based (authorization_method %s)", productCode, prod.AuthorizationMethod)
		}
		now := s.Now()
		o := Order{CompanyID: companyID, StoreID: "licensor_" + strings.ToLower(randomString(16)), CreatedAt: now}
		if err := tx.CreateOrder(ctx, &o); err != nil {
			return fmt.Errorf("create order: %w", err)
		}
		if err := s.audit(ctx, tx, companyID, AuditOrderCreate, "order", o.ID, nil, orderView{o.ID, o.StoreID, o.CustomerEmail}); err != nil {
			return err
		}
		// As create_order makes each license; the activation below then takes its one seat.
		created := License{CompanyID: companyID, ProductID: prod.ID, OrderID: o.ID, LicenseType: TypePerpetual, Enabled: true,
			MaxActivations: 1, CreatedAt: now, UpdatedAt: now}
		ls := make([]License, len(devs))
		for i, sd := range devs {
			ls[i] = created
			ls[i].LicenseKey, ls[i].Active, ls[i].TimesActivated = sd.LicenseKey, true, 1
		}
		if err := tx.CreateLicenses(ctx, ls); errors.Is(err, ErrDuplicate) {
			return FieldError("licenses", "a license with one of these keys already exists (keys are unique in a company, across its products).")
		} else if err != nil {
			return fmt.Errorf("create licenses: %w", err)
		}
		ds := make([]Device, len(devs))
		for i, sd := range devs {
			ds[i] = Device{CompanyID: companyID, LicenseID: ls[i].ID, HardwareID: sd.HardwareID, Active: true, TimeActivated: &now,
				CreatedAt: now, UpdatedAt: now}
		}
		if err := tx.CreateDevices(ctx, ds); err != nil {
			return fmt.Errorf("create devices: %w", err)
		}
		entries := make([]AuditEntry, 0, 2*len(devs))
		var vars []Variable
		for i, sd := range devs {
			c := created
			c.ID, c.LicenseKey = ls[i].ID, sd.LicenseKey
			le, err := s.auditEntry(ctx, companyID, AuditLicenseCreate, "license", c.ID, nil, viewLicense(c))
			if err != nil {
				return err
			}
			de, err := s.auditEntry(ctx, companyID, AuditDeviceActivate, "device", ds[i].ID, nil, viewDevice(ds[i], true))
			if err != nil {
				return err
			}
			entries = append(entries, le, de)
			// storeVariables on a device that has none yet.
			v, _ := mergeVariables(ds[i].ID, nil, sd.Variables, now)
			vars = append(vars, v...)
		}
		if err := tx.AppendAudits(ctx, entries); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		if err := tx.InsertVariables(ctx, vars); err != nil {
			return fmt.Errorf("insert variables: %w", err)
		}
		out = o
		return nil
	})
	return out, err
}
