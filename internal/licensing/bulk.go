package licensing

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
// device: it is how `licensor seed` fills a database for load tests.
//
// The product must exist and be key-based. A key that already exists fails the whole
// batch (a FieldError) and nothing of it is written.
func (s *Service) SeedActivated(ctx context.Context, companyID int64, productCode string, devs []SeedDevice) (Order, error) {
	if len(devs) == 0 {
		return Order{}, FieldError("licenses", "This field is required.")
	}
	for i, d := range devs {
		switch {
		case d.LicenseKey == "" || len(d.LicenseKey) > 255:
			return Order{}, FieldError(fmt.Sprintf("licenses[%d].key", i), "a key of 1 to 255 characters is required")
		case d.HardwareID == "":
			return Order{}, FieldError(fmt.Sprintf("licenses[%d].hardware_id", i), "This field is required.")
		}
		if err := s.ValidateVariables(d.Variables); err != nil {
			return Order{}, err
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
		for i, sd := range devs {
			// As create_order makes it; the activation below then takes its one seat.
			created := License{CompanyID: companyID, ProductID: prod.ID, OrderID: o.ID, LicenseKey: sd.LicenseKey,
				LicenseType: TypePerpetual, Enabled: true, MaxActivations: 1, CreatedAt: now, UpdatedAt: now}
			l := created
			l.Active, l.TimesActivated = true, 1
			if err := tx.CreateLicense(ctx, &l); errors.Is(err, ErrDuplicate) {
				return FieldError(fmt.Sprintf("licenses[%d].key", i), "license with this key already exists.")
			} else if err != nil {
				return fmt.Errorf("create license: %w", err)
			}
			created.ID = l.ID
			if err := s.audit(ctx, tx, companyID, AuditLicenseCreate, "license", l.ID, nil, viewLicense(created)); err != nil {
				return err
			}
			d := Device{CompanyID: companyID, LicenseID: l.ID, HardwareID: sd.HardwareID, Active: true, TimeActivated: &now,
				CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateDevice(ctx, &d); err != nil {
				return fmt.Errorf("create device: %w", err)
			}
			if err := s.audit(ctx, tx, companyID, AuditDeviceActivate, "device", d.ID, nil, viewDevice(d, true)); err != nil {
				return err
			}
			if len(sd.Variables) == 0 {
				continue
			}
			// storeVariables on a device that has none yet.
			vars, _ := mergeVariables(d.ID, nil, sd.Variables, now)
			if len(vars) > s.limits.MaxVariablesPerDevice {
				return FieldError("variables", "a device may hold at most %d variables", s.limits.MaxVariablesPerDevice)
			}
			if err := tx.UpsertVariables(ctx, d.ID, vars); err != nil {
				return fmt.Errorf("upsert variables: %w", err)
			}
		}
		out = o
		return nil
	})
	return out, err
}
