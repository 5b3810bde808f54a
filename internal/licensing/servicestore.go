package licensing

import (
	"context"
	"errors"
)

// serviceStore is the Service's view of its store: Write hands fn a writeTx, and Read
// and Write run the API key check WithAPIKey asks for (Write before fn, Read after it).
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
