package licensing

import (
	"context"
	"errors"
	"fmt"
	"github.com/licensor/licensor/internal/secrets"
	"log/slog"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Service holds the licensing rules. It knows no HTTP and no SQL: it composes Store
// primitives inside transactions.
type Service struct {
	store  serviceStore // marks Write transactions, guards API keys (see serviceStore)
	raw    Store        // the store as given
	now    func() time.Time
	limits Limits
	log    *slog.Logger

	cache      *immutable
	apiKeys    *lru.Cache[string, cachedAPIKey] // License API keys found, by key (see WithAPIKey)
	stamps     *checkStamps                     // nil: last-check stamps are written at once
	stampEvery time.Duration
	memo       *signatureMemo  // remembered signatures waiting for the write-behind flush
	folding    *adaptiveSwitch // whether device reads fetch remembered signatures
	writeFirst *adaptiveSwitch // whether track goes straight to its write transaction
	secrets    *secrets.Box    // nil: secrets stored as plaintext
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLimits sets the request limits; zero fields keep their defaults.
func WithLimits(l Limits) Option { return func(s *Service) { s.limits = l.withDefaults() } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// NewService returns a Service on store.
func NewService(store Store, opts ...Option) *Service {
	s := &Service{raw: store, now: time.Now, limits: DefaultLimits, log: slog.Default(), cache: newImmutable(), apiKeys: newAPIKeyCache(), memo: newSignatureMemo(),
		folding: newRecallFolding(), writeFirst: newTrackWriteFirst()}
	s.store = serviceStore{store, s}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return s.limits }

// Store returns the underlying store.
func (s *Service) Store() Store { return s.raw }

// Now returns the service clock's time, truncated to milliseconds (the precision every
// timestamp is stored and shown with).
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Identity is how a client names a license: product short code, hardware_id and a
// license key or a username (plus password on activation), optionally a license id.
type Identity struct {
	Product    string
	HardwareID string
	LicenseKey string
	Username   string
	Password   string
	LicenseID  int64 // 0: any license of the key/user
}

// resolved is what identity resolution found.
type resolved struct {
	Product Product
	License License
	User    *LicenseUser // user-based only
}

// resolve finds the product and license an identity names, in the documented order:
// unknown_product → identity fields → license_not_found. With checkPassword, user-based
// candidates whose password does not match are dropped (no user enumeration).
func (s *Service) resolve(ctx context.Context, tx Tx, companyID int64, id Identity, checkPassword bool) (resolved, error) {
	var r resolved
	p, err := s.productByCode(ctx, tx, companyID, id.Product)
	if errors.Is(err, ErrNoRows) {
		return r, Errorf(EUnknownProduct, "Provided product was not found")
	} else if err != nil {
		return r, fmt.Errorf("product by code: %w", err)
	}
	r.Product = p

	if p.AuthorizationMethod == AuthUser {
		if id.Username == "" {
			return r, MissingParameters("username")
		}
		if checkPassword && id.Password == "" {
			return r, MissingParameters("password")
		}
		// Emails are stored as NormalizeEmail gives them.
		username := NormalizeEmail(id.Username)
		cands, err := tx.LicensesByUser(ctx, companyID, p.ID, username)
		if err != nil {
			return r, fmt.Errorf("licenses by user: %w", err)
		}
		// Clients may send a username with a "|suffix" (reference §6.1); the user is the
		// part before it.
		if base, _, cut := strings.Cut(username, "|"); len(cands) == 0 && cut && base != "" {
			if cands, err = tx.LicensesByUser(ctx, companyID, p.ID, base); err != nil {
				return r, fmt.Errorf("licenses by user: %w", err)
			}
		}
		var ls []License
		var us []LicenseUser
		for _, c := range cands {
			if id.LicenseID != 0 && c.License.ID != id.LicenseID {
				continue
			}
			if checkPassword && !VerifyPassword(c.User.PasswordHash, id.Password) {
				continue
			}
			ls = append(ls, c.License)
			us = append(us, c.User)
		}
		if len(ls) == 0 {
			return r, Errorf(ELicenseNotFound, "License with the provided license user not found")
		}
		i, err := preferActive(ctx, tx, ls, id.HardwareID)
		if err != nil {
			return r, err
		}
		r.License, r.User = ls[i], &us[i]
		return r, nil
	}

	if id.LicenseKey == "" {
		return r, Errorf(ELicenseKeyReq, "license_key is missing from the request")
	}
	cands, err := tx.LicensesByKey(ctx, companyID, p.ID, id.LicenseKey)
	if err != nil {
		return r, fmt.Errorf("licenses by key: %w", err)
	}
	var ls []License
	for _, l := range cands {
		if id.LicenseID == 0 || l.ID == id.LicenseID {
			ls = append(ls, l)
		}
	}
	if len(ls) == 0 {
		return r, Errorf(ELicenseNotFound, "License with the provided license_key not found")
	}
	i, err := preferActive(ctx, tx, ls, id.HardwareID)
	if err != nil {
		return r, err
	}
	r.License = ls[i]
	return r, nil
}

// preferActive picks, among licenses ordered by id, the first with an active device for
// hardwareID, else the first.
func preferActive(ctx context.Context, tx Tx, ls []License, hardwareID string) (int, error) {
	if len(ls) == 1 {
		return 0, nil
	}
	for i, l := range ls {
		d, err := tx.DeviceByHardwareID(ctx, l.ID, hardwareID)
		if errors.Is(err, ErrNoRows) {
			continue
		} else if err != nil {
			return 0, fmt.Errorf("device by hardware id: %w", err)
		}
		if d.Active {
			return i, nil
		}
	}
	return 0, nil
}

// A device-scoped lookup resolves an identity to its active device in the documented
// order; the comments below call it deviceScoped. lockedDevice, stepwiseDevice,
// keyedRead, quickDevice and deviceVariables are its forms.

// lockedDevice resolves an identity to its active device for a writer, locking the
// license first, so the checks and the device row it returns cannot change before the
// transaction ends: one statement where keyedRead can answer under the lock, else one
// lookup at a time. The API key check WithAPIKey asks for, if still pending, comes
// first: in that statement, or on its own before the lookups.
func (s *Service) lockedDevice(ctx context.Context, tx Tx, companyID int64, id Identity) (resolved, Device, error) {
	if r, ld, ok, err := s.keyedRead(ctx, tx, companyID, id, keyedWant{g: pendingAPIKey(ctx), lock: true}); ok {
		return r, ld.Device, err
	}
	if err := s.guardAPIKey(ctx, tx); err != nil {
		return resolved{}, Device{}, err
	}
	return s.stepwiseDevice(ctx, tx, companyID, id, true)
}

// stepwiseDevice is deviceScoped one lookup at a time: it resolves an identity to its
// active device in the documented order (… → license_not_active → license_not_enabled
// → blacklisted → device_not_found), under the license lock if lock is set. It serves
// any identity, and finds the documented error of every miss; callers whose keyedRead
// could not answer come here.
func (s *Service) stepwiseDevice(ctx context.Context, tx Tx, companyID int64, id Identity, lock bool) (resolved, Device, error) {
	r, err := s.resolve(ctx, tx, companyID, id, false)
	if err != nil {
		return r, Device{}, err
	}
	if lock {
		if r.License, err = tx.LockLicense(ctx, companyID, r.License.ID); err != nil {
			return r, Device{}, fmt.Errorf("lock license: %w", err)
		}
	}
	if err := licenseUsable(r.License); err != nil {
		return r, Device{}, err
	}
	d, err := tx.DeviceByHardwareID(ctx, r.License.ID, id.HardwareID)
	if errors.Is(err, ErrNoRows) {
		return r, Device{}, errNoDevice()
	} else if err != nil {
		return r, Device{}, fmt.Errorf("device by hardware id: %w", err)
	}
	return r, d, deviceUsable(d)
}

// quickDevice is deviceScoped plus the order, for a read that needs nothing more (a
// check): keyedRead as one statement outside any transaction, with the WithAPIKey
// check folded in. ok is false when it cannot answer, and the caller then takes the
// full path.
func (s *Service) quickDevice(ctx context.Context, companyID int64, id Identity) (st LicenseState, ok bool, err error) {
	var r resolved
	var ld LicenseDevice
	err = s.store.ReadSingle(ctx, func(tx Tx) (err error) {
		r, ld, ok, err = s.keyedRead(ctx, tx, companyID, id, keyedWant{g: pendingAPIKey(ctx)})
		return keyMissAsNoRows(err)
	})
	err = keyMissAsError(err)
	if !ok {
		return st, false, nil
	} else if err != nil {
		return st, true, err
	}
	o, cached := s.cache.orders.Get(r.License.OrderID)
	if !cached || o.CompanyID != companyID {
		return st, false, nil
	}
	return LicenseState{Product: r.Product, Order: o, License: r.License, Device: ld.Device}, true, err
}

// keyedWant is what keyedRead reads besides the license and device.
type keyedWant struct {
	g    guard // the API key whose state to report first (id 0: none)
	vars bool  // the device's variables (ld.Variables)
	lock bool  // under the license lock, as lockedDevice (in a write transaction)
}

// keyedRead is deviceScoped in one statement (DeviceByLicenseKey), reporting the
// state of API key w.g first, with what w asks for besides. It serves key-based
// licenses whose product is cached and that have a device with the hardware id; ok
// is false when it cannot answer (anything else, a license or device not found, a
// lock the store cannot take in one statement), and the caller takes the
// step-by-step path, which also finds the documented error for a miss. ld.Device is
// set only when err is nil.
func (s *Service) keyedRead(ctx context.Context, tx Tx, companyID int64, id Identity, w keyedWant) (r resolved, ld LicenseDevice, ok bool, err error) {
	p, cached := s.cache.products.Get(productKey{companyID, id.Product})
	if !cached || p.AuthorizationMethod != AuthLicenseKey || id.LicenseKey == "" {
		return r, ld, false, nil
	}
	var recall []int
	if !w.lock { // a writer's answer is new: nothing to recall
		recall = s.recallSlots(ctx)
	}
	g := w.g
	ld, err = tx.DeviceByLicenseKey(ctx, LicenseDeviceQuery{APIKeyID: g.id, CompanyID: companyID,
		ProductID: p.ID, LicenseKey: id.LicenseKey, HardwareID: id.HardwareID, Recall: recall, Variables: w.vars, Lock: w.lock})
	if errors.Is(err, ErrNoRows) || errors.Is(err, errors.ErrUnsupported) {
		return r, LicenseDevice{}, false, nil
	} else if err != nil {
		return r, LicenseDevice{}, true, fmt.Errorf("device by license key: %w", err)
	}
	if g.id != 0 {
		if err := s.apiKeyVerdict(g, ld.APIKeyFound, ld.APIKeyRevoked); err != nil {
			return r, LicenseDevice{}, true, err
		}
	}
	if id.LicenseID != 0 && ld.License.ID != id.LicenseID {
		return r, LicenseDevice{}, false, nil
	}
	if recall != nil {
		recallFound(ctx, ld.Device.ID, ld.Signatures)
	}
	r = resolved{Product: p, License: ld.License}
	// The documented order: license state before device state (as stepwiseDevice).
	if err := licenseUsable(ld.License); err != nil {
		return r, LicenseDevice{}, true, err
	}
	if err := deviceUsable(ld.Device); err != nil {
		return r, LicenseDevice{}, true, err
	}
	return r, ld, true, nil
}

// relock re-checks, under the license lock, a license and device that deviceScoped
// found in an earlier read transaction. Licenses, keys, users and hardware ids never
// change owner, so only their state needs checking again.
func (s *Service) relock(ctx context.Context, tx Tx, companyID, licenseID, deviceID int64) (License, Device, error) {
	l, err := tx.LockLicense(ctx, companyID, licenseID)
	if err != nil {
		return l, Device{}, fmt.Errorf("lock license: %w", err)
	}
	if err := licenseUsable(l); err != nil {
		return l, Device{}, err
	}
	d, err := tx.Device(ctx, companyID, deviceID)
	if err != nil {
		return l, d, fmt.Errorf("device: %w", err)
	}
	return l, d, deviceUsable(d)
}

// licenseUsable is the license_not_active → license_not_enabled step of the check order.
func licenseUsable(l License) error {
	if !l.Active {
		return Errorf(ELicenseNotActive, "The license is not active")
	}
	if !l.Enabled {
		return Errorf(ELicenseNotEnabled, "The license is not enabled")
	}
	return nil
}

// deviceUsable is the blacklisted → device_not_found step of the check order.
func deviceUsable(d Device) error {
	if d.Blacklisted {
		return Errorf(EBlacklisted, "This device is blacklisted")
	}
	if !d.Active {
		return errNoDevice()
	}
	return nil
}

func errNoDevice() *Error {
	return Errorf(EDeviceNotFound, "An active device matching the hardware_id not found")
}

// MissingParameters is the documented error for absent required fields.
func MissingParameters(names ...string) *Error {
	return &Error{Code: EMissingParameters, Field: names[0],
		Message: "Some parameters are missing in the request: " + strings.Join(names, ", ")}
}

// NormalizeEmail is how license user emails are stored and looked up: trimmed and
// lower-cased, so usernames match case-insensitively.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
