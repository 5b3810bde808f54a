package postgres_test

import (
	"context"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/internal/postgres"
	"github.com/licensor/licensor/internal/storetest"
)

// TestStore runs the conformance suite on PostgreSQL when LICENSOR_TEST_POSTGRES names
// a server (each subtest gets a schema of its own), and skips it otherwise.
func TestStore(t *testing.T) {
	pgtest.URL(t) // skip or fail once, here, rather than in every subtest
	storetest.Run(t, open, storetest.WithReopen(openReopenable))
}

func open(t *testing.T) licensing.Store {
	st, _ := openReopenable(t)
	return st
}

func openReopenable(t *testing.T) (licensing.Store, func(context.Context) (licensing.Store, error)) {
	t.Helper()
	url := pgtest.URL(t)
	st, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st, func(ctx context.Context) (licensing.Store, error) {
		return postgres.Open(ctx, url)
	}
}
