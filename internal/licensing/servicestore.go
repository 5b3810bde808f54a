package licensing

import (
	"context"
	"errors"
)

// serviceStore is the Service's view of its store: Write hands fn a writeTx, and Read
// and Write run the API key check WithAPIKey asks for (Write before fn, Read after it;
// writeDevice within its first lookup).
type serviceStore struct {
	Store
	s *Service
}

func (m serviceStore) Read(ctx context.Context, fn func(Tx) error) error {
	return m.Store.Read(ctx, func(tx Tx) error {
		err := fn(tx)
		var domain *Error
		if err != nil && !errors.As(err, &domain) {
			return err // a failed statement may have ended the transaction (PostgreSQL)
		}
		if gerr := m.s.guardAPIKey(ctx, tx); gerr != nil {
			return gerr
		}
		return err
	})
}

func (m serviceStore) Write(ctx context.Context, fn func(Tx) error) error {
	return m.Store.Write(ctx, func(tx Tx) error {
		if err := m.s.guardAPIKey(ctx, tx); err != nil {
			return err
		}
		return fn(writeTx{tx})
	})
}

// writeDevice is Write for an operation on the identity's device: fn gets the device
// lockedDevice found, and the API key check comes with that lookup (in its one
// statement where it can) instead of a statement of its own before it.
func (m serviceStore) writeDevice(ctx context.Context, companyID int64, id Identity, fn func(tx Tx, r resolved, d Device) error) error {
	return m.Store.Write(ctx, func(tx Tx) error {
		tx = writeTx{tx}
		r, d, err := m.s.lockedDevice(ctx, tx, companyID, id)
		if err != nil {
			return err
		}
		return fn(tx, r, d)
	})
}
