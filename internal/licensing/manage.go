package licensing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// notFound is the management API's answer for a missing object or one of another company.
func notFound() *Error { return Errorf(ENotFound, "Not found.") }

// notFoundOr maps ErrNoRows to notFound and wraps anything else.
func notFoundOr(err error, what string) error {
	if errors.Is(err, ErrNoRows) {
		return notFound()
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ProductInput is a new product.
type ProductInput struct {
	Name                string
	ShortCode           string
	AuthorizationMethod string
}

// CreateProduct adds a product to a company.
func (s *Service) CreateProduct(ctx context.Context, companyID int64, in ProductInput) (Product, error) {
	if in.AuthorizationMethod == "" {
		in.AuthorizationMethod = AuthLicenseKey
	}
	switch {
	case strings.TrimSpace(in.Name) == "":
		return Product{}, FieldError("product_name", "This field is required.")
	case len(in.Name) > 255:
		return Product{}, FieldError("product_name", "Ensure this field has no more than 255 characters.")
	case strings.TrimSpace(in.ShortCode) == "":
		return Product{}, FieldError("short_code", "This field is required.")
	case len(in.ShortCode) > 255:
		return Product{}, FieldError("short_code", "Ensure this field has no more than 255 characters.")
	case in.AuthorizationMethod != AuthLicenseKey && in.AuthorizationMethod != AuthUser:
		return Product{}, FieldError("authorization_method", "must be %q or %q", AuthLicenseKey, AuthUser)
	}
	now := s.Now()
	p := Product{CompanyID: companyID, Name: in.Name, ShortCode: in.ShortCode, AuthorizationMethod: in.AuthorizationMethod, CreatedAt: now, UpdatedAt: now}
	err := s.store.Write(ctx, func(tx Tx) error {
		err := tx.CreateProduct(ctx, &p)
		if errors.Is(err, ErrDuplicate) {
			return FieldError("short_code", "product with this short_code already exists.")
		} else if err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, AuditProductCreate, "product", p.ID, nil, viewProduct(p))
	})
	return p, err
}

// Product returns one of a company's products.
func (s *Service) Product(ctx context.Context, companyID, id int64) (Product, error) {
	var p Product
	err := s.store.Read(ctx, func(tx Tx) (err error) {
		p, err = tx.Product(ctx, companyID, id)
		if err != nil {
			return notFoundOr(err, "product")
		}
		return nil
	})
	return p, err
}

// ListProducts pages through a company's products.
func (s *Service) ListProducts(ctx context.Context, companyID int64, page Page) ([]Product, int64, error) {
	var ps []Product
	var n int64
	err := s.store.Read(ctx, func(tx Tx) (err error) {
		ps, n, err = tx.ListProducts(ctx, companyID, page)
		return err
	})
	return ps, n, err
}

// OrderInput is a new order with its licenses.
type OrderInput struct {
	StoreID       string
	CustomerEmail string
	Items         []OrderItem
}

// OrderItem is the licenses of one product in an order.
type OrderItem struct {
	ProductCode string
	Licenses    []LicenseInput
}

// LicenseInput is one license to create.
type LicenseInput struct {
	Key                       string
	Users                     []UserInput
	MaxActivations            int64 // stored as given, 0 included (the API's default of 1 is the API's)
	AllowUnlimitedActivations bool
	ValidityPeriod            *time.Time
	LicenseType               string
	IsTrial                   bool
}

// UserInput is a license user to create; an empty Password gets a generated one.
type UserInput struct {
	Email    string
	Password string
}

// LicenseDetail is a license with what the management API shows beside it.
type LicenseDetail struct {
	License
	ProductShortCode string
	OrderStoreID     string
	Users            []UserDetail
}

// UserDetail is a license user; InitialPassword is set only in the answer that created it.
type UserDetail struct {
	LicenseUser
	InitialPassword string
}

// CreatedOrder is the answer to CreateOrder.
type CreatedOrder struct {
	Order    Order
	Licenses []LicenseDetail
}

// plausibleEmail is the check an email address gets here: an @ in it. Whether it
// reaches anyone is the vendor's to know.
func plausibleEmail(s string) bool { return strings.Contains(s, "@") }

// CreateOrder creates an order and all its licenses and users in one transaction.
func (s *Service) CreateOrder(ctx context.Context, companyID int64, in OrderInput) (CreatedOrder, error) {
	if len(in.StoreID) > 255 {
		return CreatedOrder{}, FieldError("id", "Ensure this field has no more than 255 characters.")
	}
	if len(in.CustomerEmail) > 254 {
		return CreatedOrder{}, FieldError("customer.email", "Ensure this field has no more than 254 characters.")
	}
	if in.CustomerEmail != "" && !plausibleEmail(in.CustomerEmail) {
		return CreatedOrder{}, FieldError("customer.email", "Enter a valid email address.")
	}
	if len(in.Items) == 0 {
		return CreatedOrder{}, FieldError("items", "This field is required.")
	}
	// Validate and hash passwords before taking the write lock.
	type pending struct {
		item, lic int
		in        LicenseInput
		hashes    []string
		initial   []string
	}
	var todo []pending
	for i, it := range in.Items {
		if it.ProductCode == "" {
			return CreatedOrder{}, FieldError(fmt.Sprintf("items[%d].product_code", i), "This field is required.")
		}
		if len(it.Licenses) == 0 {
			return CreatedOrder{}, FieldError(fmt.Sprintf("items[%d].licenses", i), "This field is required.")
		}
		for j, li := range it.Licenses {
			field := fmt.Sprintf("items[%d].licenses[%d]", i, j)
			if li.LicenseType == "" {
				li.LicenseType = TypePerpetual
			}
			switch li.LicenseType {
			case TypePerpetual, TypeTimeLimited, TypeSubscription:
			default:
				return CreatedOrder{}, FieldError(field+".license_type", "must be one of perpetual, time-limited, subscription")
			}
			if li.MaxActivations < 0 {
				return CreatedOrder{}, FieldError(field+".max_activations", "must not be negative")
			}
			// As DRF's CharField: surrounding white space is dropped, and a key of white
			// space alone is blank, not a request to generate one.
			key := strings.TrimSpace(li.Key)
			if key == "" && li.Key != "" {
				return CreatedOrder{}, FieldError(field+".key", "This field may not be blank.")
			}
			li.Key = key
			if len(li.Key) > 255 {
				return CreatedOrder{}, FieldError(field+".key", "Ensure this field has no more than 255 characters.")
			}
			p := pending{item: i, lic: j, in: li}
			for k, u := range li.Users {
				uf := fmt.Sprintf("%s.users[%d]", field, k)
				if !plausibleEmail(u.Email) || len(u.Email) > 254 {
					return CreatedOrder{}, FieldError(uf+".email", "Enter a valid email address.")
				}
				if err := ctx.Err(); err != nil {
					return CreatedOrder{}, err // the client is gone: no more hashing for it
				}
				pw, initial := u.Password, ""
				if pw == "" {
					pw = randomString(12)
					initial = pw
				}
				h, err := HashPassword(pw)
				if err != nil {
					return CreatedOrder{}, err
				}
				p.hashes = append(p.hashes, h)
				p.initial = append(p.initial, initial)
			}
			todo = append(todo, p)
		}
	}
	var out CreatedOrder
	err := s.store.Write(ctx, func(tx Tx) error {
		out = CreatedOrder{} // a run the database aborted (Store.Write) leaves nothing behind
		now := s.Now()
		storeID := in.StoreID
		if storeID == "" {
			storeID = "licensor_" + strings.ToLower(randomString(16))
		}
		o := Order{CompanyID: companyID, StoreID: storeID, CustomerEmail: in.CustomerEmail, CreatedAt: now}
		if err := tx.CreateOrder(ctx, &o); errors.Is(err, ErrDuplicate) {
			return &Error{Code: EOrderIDExists, Field: "id", Message: "Order with this id already exists."}
		} else if err != nil {
			return fmt.Errorf("create order: %w", err)
		}
		out.Order = o
		if err := s.audit(ctx, tx, companyID, AuditOrderCreate, "order", o.ID, nil, orderView{o.ID, o.StoreID, o.CustomerEmail}); err != nil {
			return err
		}
		products := map[string]Product{}
		for _, p := range todo {
			field := fmt.Sprintf("items[%d]", p.item)
			code := in.Items[p.item].ProductCode
			prod, ok := products[code]
			if !ok {
				var err error
				prod, err = tx.ProductByCode(ctx, companyID, code)
				if errors.Is(err, ErrNoRows) {
					return FieldError(field+".product_code", "product %q does not exist", code)
				} else if err != nil {
					return fmt.Errorf("product: %w", err)
				}
				products[code] = prod
			}
			lf := fmt.Sprintf("%s.licenses[%d]", field, p.lic)
			li := p.in
			l := License{CompanyID: companyID, ProductID: prod.ID, OrderID: o.ID, LicenseType: li.LicenseType,
				Enabled: true, IsTrial: li.IsTrial, MaxActivations: li.MaxActivations,
				AllowUnlimitedActivations: li.AllowUnlimitedActivations, ValidityPeriod: li.ValidityPeriod,
				CreatedAt: now, UpdatedAt: now}
			if prod.AuthorizationMethod == AuthUser {
				if li.Key != "" {
					return FieldError(lf+".key", "a user-based product's licenses have no key")
				}
				if len(li.Users) == 0 {
					return FieldError(lf+".users", "a user-based product's license needs at least one user")
				}
			} else {
				if len(li.Users) > 0 {
					return FieldError(lf+".users", "a key-based product's licenses have no users")
				}
				l.LicenseKey = li.Key
				if l.LicenseKey == "" {
					l.LicenseKey = newLicenseKey()
				}
			}
			if err := tx.CreateLicense(ctx, &l); errors.Is(err, ErrDuplicate) {
				return FieldError(lf+".key", "license with this key already exists.")
			} else if err != nil {
				return fmt.Errorf("create license: %w", err)
			}
			d := LicenseDetail{License: l, ProductShortCode: prod.ShortCode, OrderStoreID: o.StoreID}
			for k, u := range li.Users {
				lu := LicenseUser{CompanyID: companyID, LicenseID: l.ID, Email: NormalizeEmail(u.Email), PasswordHash: p.hashes[k], CreatedAt: now}
				if err := tx.CreateLicenseUser(ctx, &lu); errors.Is(err, ErrDuplicate) {
					return FieldError(fmt.Sprintf("%s.users[%d].email", lf, k), "user listed twice on one license")
				} else if err != nil {
					return fmt.Errorf("create license user: %w", err)
				}
				d.Users = append(d.Users, UserDetail{LicenseUser: lu, InitialPassword: p.initial[k]})
			}
			if err := s.audit(ctx, tx, companyID, AuditLicenseCreate, "license", l.ID, nil, viewLicense(l, d.emails()...)); err != nil {
				return err
			}
			out.Licenses = append(out.Licenses, d)
		}
		return nil
	})
	return out, err
}

func newLicenseKey() string {
	const chars = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	k := randomFrom(chars, 16)
	return k[0:4] + "-" + k[4:8] + "-" + k[8:12] + "-" + k[12:16]
}

// detail loads what the management API shows beside a license.
func detail(ctx context.Context, tx Tx, l License) (LicenseDetail, error) {
	d := LicenseDetail{License: l}
	p, err := tx.Product(ctx, l.CompanyID, l.ProductID)
	if err != nil {
		return d, fmt.Errorf("product: %w", err)
	}
	d.ProductShortCode = p.ShortCode
	o, err := tx.Order(ctx, l.CompanyID, l.OrderID)
	if err != nil {
		return d, fmt.Errorf("order: %w", err)
	}
	d.OrderStoreID = o.StoreID
	us, err := tx.LicenseUsers(ctx, l.ID)
	if err != nil {
		return d, fmt.Errorf("license users: %w", err)
	}
	for _, u := range us {
		d.Users = append(d.Users, UserDetail{LicenseUser: u})
	}
	return d, nil
}

// License returns one of a company's licenses.
func (s *Service) License(ctx context.Context, companyID, id int64) (LicenseDetail, error) {
	var d LicenseDetail
	err := s.store.Read(ctx, func(tx Tx) error {
		l, err := tx.License(ctx, companyID, id)
		if err != nil {
			return notFoundOr(err, "license")
		}
		d, err = detail(ctx, tx, l)
		return err
	})
	return d, err
}

// ListLicenses pages through a company's licenses.
func (s *Service) ListLicenses(ctx context.Context, companyID int64, f LicenseFilter) ([]LicenseDetail, int64, error) {
	var out []LicenseDetail
	var n int64
	err := s.store.Read(ctx, func(tx Tx) error {
		ls, total, err := tx.ListLicenses(ctx, companyID, f)
		if err != nil {
			return fmt.Errorf("list licenses: %w", err)
		}
		n = total
		for _, l := range ls {
			d, err := detail(ctx, tx, l)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, n, err
}

// LicensePatch changes a license; nil fields stay. ValidityPeriod set to a nil *time.Time
// removes the expiry.
type LicensePatch struct {
	MaxActivations            *int64
	AllowUnlimitedActivations *bool
	Enabled                   *bool
	ValidityPeriod            **time.Time
}

// UpdateLicense applies a patch.
func (s *Service) UpdateLicense(ctx context.Context, companyID, id int64, p LicensePatch) (LicenseDetail, error) {
	if p.MaxActivations != nil && *p.MaxActivations < 0 {
		return LicenseDetail{}, FieldError("max_activations", "Ensure this value is greater than or equal to 0.")
	}
	return s.changeLicense(ctx, companyID, id, AuditLicenseUpdate, func(ctx context.Context, tx Tx, l *License) error {
		if p.MaxActivations != nil {
			l.MaxActivations = *p.MaxActivations
		}
		if p.AllowUnlimitedActivations != nil {
			l.AllowUnlimitedActivations = *p.AllowUnlimitedActivations
		}
		if p.Enabled != nil {
			l.Enabled = *p.Enabled
		}
		if p.ValidityPeriod != nil {
			l.ValidityPeriod = *p.ValidityPeriod
		}
		return nil
	})
}

// ResetLicense deactivates every device of a license and clears its activation state,
// every device's transfer-pending mark included: a reset starts the license over (the
// vendor's act, not a move of the user's from one device to another), so the next
// activation counts no transfer. transfer_count keeps its history.
func (s *Service) ResetLicense(ctx context.Context, companyID, id int64) (LicenseDetail, error) {
	return s.changeLicense(ctx, companyID, id, AuditLicenseReset, func(ctx context.Context, tx Tx, l *License) error {
		if err := tx.DeactivateDevices(ctx, l.ID, s.Now()); err != nil {
			return fmt.Errorf("deactivate devices: %w", err)
		}
		l.TimesActivated, l.Active = 0, false
		return nil
	})
}

func (s *Service) changeLicense(ctx context.Context, companyID, id int64, action string, change func(context.Context, Tx, *License) error) (LicenseDetail, error) {
	var d LicenseDetail
	err := s.store.Write(ctx, func(tx Tx) error {
		l, err := tx.LockLicense(ctx, companyID, id)
		if err != nil {
			return notFoundOr(err, "license")
		}
		before := l
		if err := change(ctx, tx, &l); err != nil {
			return err
		}
		same, err := sameView(viewLicense(before), viewLicense(l))
		if err != nil {
			return err
		}
		if !same {
			l.UpdatedAt = s.Now()
			if err := tx.UpdateLicense(ctx, &l); err != nil {
				return fmt.Errorf("update license: %w", err)
			}
		}
		if d, err = detail(ctx, tx, l); err != nil {
			return err
		}
		if same { // a change to what the license already is: nothing written, nothing recorded
			return nil
		}
		users := d.emails()
		return s.audit(ctx, tx, companyID, action, "license", l.ID, viewLicense(before, users...), viewLicense(l, users...))
	})
	return d, err
}

// emails lists the license's users.
func (d LicenseDetail) emails() []string {
	var out []string
	for _, u := range d.Users {
		out = append(out, u.Email)
	}
	return out
}

// Device returns one of a company's devices.
func (s *Service) Device(ctx context.Context, companyID, id int64) (Device, error) {
	var d Device
	err := s.store.Read(ctx, func(tx Tx) (err error) {
		d, err = tx.Device(ctx, companyID, id)
		if err != nil {
			return notFoundOr(err, "device")
		}
		return nil
	})
	return d, err
}

// ListDevices pages through a company's devices.
func (s *Service) ListDevices(ctx context.Context, companyID int64, f DeviceFilter) ([]Device, int64, error) {
	var ds []Device
	var n int64
	err := s.store.Read(ctx, func(tx Tx) (err error) {
		ds, n, err = tx.ListDevices(ctx, companyID, f)
		return err
	})
	return ds, n, err
}

// SetBlacklisted blacklists or clears a device. A blacklisted device keeps its row and
// activation state; every License API call for it answers `blacklisted`.
func (s *Service) SetBlacklisted(ctx context.Context, companyID, id int64, on bool) (Device, error) {
	var d Device
	err := s.store.Write(ctx, func(tx Tx) (err error) {
		if _, d, err = lockedDeviceByID(ctx, tx, companyID, id); err != nil {
			return err
		}
		if d.Blacklisted == on { // already so: nothing written, nothing recorded
			return nil
		}
		before := d
		d.Blacklisted = on
		d.UpdatedAt = s.Now()
		if err := tx.UpdateDevice(ctx, &d); err != nil {
			return err
		}
		action := AuditDeviceBlacklist
		if !on {
			action = AuditDeviceUnblacklist
		}
		return s.audit(ctx, tx, companyID, action, "device", d.ID, viewDevice(before, true), viewDevice(d, true))
	})
	return d, err
}

// ResetDevice deactivates one of a company's devices and frees its seat: the vendor's
// way to free a seat the device cannot free itself, blacklisted ones included (the
// License API refuses every call of a blacklisted device, deactivation too). The device
// stays blacklisted if it was. Resetting an inactive device changes nothing and
// records nothing: the answer is the same, so a retried reset is harmless. Unlike a
// deactivation, a reset does not mark the device transfer pending: like a license
// reset, it is the vendor's act, not the user's moving the seat, so the next
// activation on another device counts no transfer for it.
func (s *Service) ResetDevice(ctx context.Context, companyID, id int64) (Device, error) {
	var d Device
	err := s.store.Write(ctx, func(tx Tx) (err error) {
		var l License
		if l, d, err = lockedDeviceByID(ctx, tx, companyID, id); err != nil {
			return err
		}
		if !d.Active {
			return nil
		}
		before := d
		if err := s.deactivateDevice(ctx, tx, &l, &d, s.Now(), false); err != nil {
			return err
		}
		return s.audit(ctx, tx, companyID, AuditDeviceReset, "device", d.ID, viewDevice(before, true), viewDevice(d, true))
	})
	return d, err
}

// lockedDeviceByID reads one of a company's devices (notFound when it is not there),
// locks its license (every writer of a device row holds it until commit) and re-reads
// the device under the lock.
func lockedDeviceByID(ctx context.Context, tx Tx, companyID, id int64) (License, Device, error) {
	d, err := tx.Device(ctx, companyID, id)
	if err != nil {
		return License{}, Device{}, notFoundOr(err, "device")
	}
	l, err := tx.LockLicense(ctx, companyID, d.LicenseID)
	if err != nil {
		return License{}, Device{}, fmt.Errorf("lock license: %w", err)
	}
	if d, err = tx.Device(ctx, companyID, id); err != nil {
		return License{}, Device{}, fmt.Errorf("device: %w", err)
	}
	return l, d, nil
}

// DeviceVariables returns the variables of one of a company's devices.
func (s *Service) DeviceVariables(ctx context.Context, companyID, deviceID int64) ([]Variable, error) {
	var vs []Variable
	err := s.store.Read(ctx, func(tx Tx) error {
		if _, err := tx.Device(ctx, companyID, deviceID); err != nil {
			return notFoundOr(err, "device")
		}
		var err error
		vs, err = tx.Variables(ctx, deviceID)
		return err
	})
	return vs, err
}
