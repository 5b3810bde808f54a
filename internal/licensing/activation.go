package licensing

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// LicenseState is what the License API reports about a license on a device.
type LicenseState struct {
	Product   Product
	Order     Order
	License   License
	User      *LicenseUser // user-based only
	Device    Device
	Variables []Variable // activation only: all the device's variables

	// UserActivations is the number of User's active devices on License (user-based
	// only), read in the transaction the rest of the state comes from.
	UserActivations int64
}

// countUserActivations sets st.UserActivations for a user-based state, in tx.
func countUserActivations(ctx context.Context, tx Tx, st *LicenseState) error {
	if st.User == nil {
		return nil
	}
	n, err := tx.CountActiveUserDevices(ctx, st.License.ID, st.User.ID)
	if err != nil {
		return fmt.Errorf("count active user devices: %w", err)
	}
	st.UserActivations = n
	return nil
}

// ActivateRequest is an online activation.
type ActivateRequest struct {
	Identity
	Info DeviceInfo
	// Omitted names the Info fields the client did not send: re-activating a known
	// device keeps their stored values (an SDK may send only what the app passes,
	// reference §8.1). Zero: every field was sent, and each replaces the stored one.
	Omitted    InfoFields
	ExternalIP string
	Variables  []VarInput
}

// Activate creates or re-activates the device for (license, hardware_id). Re-activating
// an active device is idempotent and takes no new seat; a new seat is refused when the
// license already has max_activations active devices. An activation that takes a seat
// while another device's deactivation has a transfer pending counts one (see
// takeTransfer).
func (s *Service) Activate(ctx context.Context, companyID int64, req ActivateRequest) (LicenseState, error) {
	if err := s.ValidateVariables(req.Variables); err != nil {
		return LicenseState{}, err
	}
	// Identify the license first in a read transaction: a user's password check (PBKDF2,
	// milliseconds) must not hold SQLite's single writer. Licenses and users never change
	// owner, so the write transaction can take the license found here by id.
	id := req.Identity
	err := s.store.Read(ctx, func(tx Tx) error {
		r, err := s.resolve(ctx, tx, companyID, id, true)
		if err != nil {
			return err
		}
		id.LicenseID, id.Password = r.License.ID, ""
		// Warm the order cache here: reads in the write transaction are not cached.
		if _, err := s.order(ctx, tx, companyID, r.License.OrderID); err != nil {
			return fmt.Errorf("order: %w", err)
		}
		return nil
	})
	if err != nil {
		return LicenseState{}, err
	}
	var st LicenseState
	err = s.store.Write(ctx, func(tx Tx) error {
		r, err := s.resolve(ctx, tx, companyID, id, false)
		if err != nil {
			return err
		}
		// Hold the license against concurrent activations until commit.
		l, err := tx.LockLicense(ctx, companyID, r.License.ID)
		if err != nil {
			return fmt.Errorf("lock license: %w", err)
		}
		now := s.Now()
		if !l.Enabled {
			return Errorf(ELicenseNotEnabled, "The license is not enabled")
		}
		if l.Expired(now) {
			return Errorf(ELicenseExpired, "The license has expired")
		}
		d, err := tx.DeviceByHardwareID(ctx, l.ID, req.HardwareID)
		found := err == nil
		if err != nil && !errors.Is(err, ErrNoRows) {
			return fmt.Errorf("device by hardware id: %w", err)
		}
		if found && d.Blacklisted {
			return Errorf(EBlacklisted, "This device is blacklisted")
		}
		before := d
		seatTaken := found && d.Active
		if !seatTaken && !l.AllowUnlimitedActivations && l.TimesActivated >= l.MaxActivations {
			return Errorf(EMaxActivations, "License is already activated max number of times")
		}
		d.Info = req.Info.keeping(d.Info, req.Omitted) // on a miss d is zero: a new device keeps nothing
		d.ExternalIP = req.ExternalIP
		d.UpdatedAt = now
		if r.User != nil {
			d.LicenseUserID = r.User.ID
		}
		var from Device // the device the seat moved from, if any: its mark cleared, saved with d
		if !seatTaken {
			d.Active = true
			d.TimeActivated = &now
			d.TimeDeactivated = nil
			if from, err = takeTransfer(ctx, tx, &l, &d); err != nil {
				return err
			}
		}
		// Device rows are written in id order, as DeactivateDevices and the signature
		// flush lock them, so that none can deadlock another (a new device's id will be
		// the highest).
		saveDevice := func() error {
			if found {
				return tx.UpdateDevice(ctx, &d)
			}
			d.CompanyID, d.LicenseID, d.HardwareID, d.CreatedAt = companyID, l.ID, req.HardwareID, now
			return tx.CreateDevice(ctx, &d)
		}
		saveFrom := func() error {
			if from.ID == 0 {
				return nil
			}
			return tx.UpdateDevice(ctx, &from)
		}
		first, second := saveDevice, saveFrom
		if from.ID != 0 && (!found || from.ID < d.ID) {
			first, second = saveFrom, saveDevice
		}
		if err := first(); err != nil {
			return fmt.Errorf("save device: %w", err)
		}
		if err := second(); err != nil {
			return fmt.Errorf("save device: %w", err)
		}
		if !seatTaken || !l.Active {
			if err := s.recountSeats(ctx, tx, &l, now); err != nil {
				return err
			}
			l.Active = true
			if err := tx.UpdateLicense(ctx, &l); err != nil {
				return fmt.Errorf("update license: %w", err)
			}
		}
		if !seatTaken {
			if err := s.audit(WithActor(ctx, ActorClient), tx, companyID, AuditDeviceActivate, "device", d.ID, viewDevice(before, found), viewDevice(d, true)); err != nil {
				return err
			}
		}
		if len(req.Variables) > 0 {
			if _, _, err := s.storeVariables(ctx, tx, d.ID, req.Variables); err != nil {
				return err
			}
		}
		vars, err := tx.Variables(ctx, d.ID)
		if err != nil {
			return fmt.Errorf("variables: %w", err)
		}
		o, err := s.order(ctx, tx, companyID, l.OrderID)
		if err != nil {
			return fmt.Errorf("order: %w", err)
		}
		st = LicenseState{Product: r.Product, Order: o, License: l, User: r.User, Device: d, Variables: vars}
		return countUserActivations(ctx, tx, &st)
	})
	return st, err
}

// takeTransfer settles the transfers pending for an activation that takes a seat on d
// (d.ID 0: a new device), under the license lock. A device carrying its own mark came
// back: the mark is cleared, nothing counted. Otherwise, if another device of the
// license is marked (the lowest id, when several are), the seat moved from it: l counts
// a transfer (reference §7.1: "deactivated on one device and activated on another, even
// a previously known one", so A→B→A counts twice) and that device is returned with its
// mark cleared, for the caller to save (ID 0: none). Each deactivation counts at most
// once: with two seats, A and B leaving then coming back count nothing, A and B leaving
// for C and D count two.
func takeTransfer(ctx context.Context, tx Tx, l *License, d *Device) (Device, error) {
	if d.TransferPending {
		d.TransferPending = false
		return Device{}, nil
	}
	from, err := tx.TransferPendingDevice(ctx, l.ID)
	if errors.Is(err, ErrNoRows) {
		return Device{}, nil
	} else if err != nil {
		return Device{}, fmt.Errorf("transfer pending device: %w", err)
	}
	// Only the mark changes: no answer or audit entry shows it, so updated_at stays.
	from.TransferPending = false
	l.TransferCount++
	return from, nil
}

// recountSeats sets times_activated to the number of active devices, so the counter can
// never drift from the rows it counts.
func (s *Service) recountSeats(ctx context.Context, tx Tx, l *License, now time.Time) error {
	n, err := tx.CountActiveDevices(ctx, l.ID)
	if err != nil {
		return fmt.Errorf("count active devices: %w", err)
	}
	l.TimesActivated = n
	l.UpdatedAt = now
	return nil
}

// Deactivate stores any variables sent, then deactivates the device and frees its seat.
// The device is marked transfer pending: the next activation taking a seat on the
// license settles it (see takeTransfer).
func (s *Service) Deactivate(ctx context.Context, companyID int64, id Identity, vars []VarInput) error {
	if err := s.ValidateVariables(vars); err != nil {
		return err
	}
	return s.store.writeDevice(ctx, companyID, id, func(tx Tx, r resolved, d Device) error {
		if len(vars) > 0 {
			if _, _, err := s.storeVariables(ctx, tx, d.ID, vars); err != nil {
				return err
			}
		}
		l := r.License
		before := d
		if err := s.deactivateDevice(ctx, tx, &l, &d, s.Now(), true); err != nil {
			return err
		}
		return s.audit(WithActor(ctx, ActorClient), tx, companyID, AuditDeviceDeactivate, "device", d.ID, viewDevice(before, true), viewDevice(d, true))
	})
}

// deactivateDevice deactivates d at now, marking it transfer pending if markTransfer
// (a deactivation by the License API, not a vendor's reset), frees its seat on l and
// saves both. l must be d's license, locked.
func (s *Service) deactivateDevice(ctx context.Context, tx Tx, l *License, d *Device, now time.Time, markTransfer bool) error {
	d.Active = false
	d.TransferPending = markTransfer
	d.TimeDeactivated = &now
	d.UpdatedAt = now
	if err := tx.UpdateDevice(ctx, d); err != nil {
		return fmt.Errorf("update device: %w", err)
	}
	if err := s.recountSeats(ctx, tx, l, now); err != nil {
		return err
	}
	if err := tx.UpdateLicense(ctx, l); err != nil {
		return fmt.Errorf("update license: %w", err)
	}
	return nil
}

// Check reports the license state for an active device and records the device's last check.
func (s *Service) Check(ctx context.Context, companyID int64, id Identity) (LicenseState, error) {
	st, ok, err := s.quickDevice(ctx, companyID, id)
	if !ok {
		st, err = s.checkRead(ctx, companyID, id)
	}
	if err != nil {
		return st, err
	}
	now := s.Now()
	if s.stamps != nil {
		s.stamps.add(st.Device.ID, now)
	} else if err := s.store.Write(ctx, func(tx Tx) error { return tx.TouchDeviceCheck(ctx, st.Device.ID, now) }); err != nil {
		return st, fmt.Errorf("record last check: %w", err)
	}
	st.Device.LastCheck = &now
	return st, nil
}

// checkRead is Check's read in a transaction, for any identity.
func (s *Service) checkRead(ctx context.Context, companyID int64, id Identity) (LicenseState, error) {
	var st LicenseState
	err := s.store.Read(ctx, func(tx Tx) error {
		r, d, err := s.stepwiseDevice(ctx, tx, companyID, id, false) // quickDevice tried the keyed path
		if err != nil {
			return err
		}
		o, err := s.order(ctx, tx, companyID, r.License.OrderID)
		if err != nil {
			return fmt.Errorf("order: %w", err)
		}
		st = LicenseState{Product: r.Product, Order: o, License: r.License, User: r.User, Device: d}
		return countUserActivations(ctx, tx, &st)
	})
	return st, err
}
