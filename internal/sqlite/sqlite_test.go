package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/sqlite"
	"github.com/licensor/licensor/internal/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, open, storetest.WithReopen(openReopenable))
}

// open opens a fresh database file in t.TempDir().
func open(t *testing.T) licensing.Store {
	st, _ := openReopenable(t)
	return st
}

func openReopenable(t *testing.T) (licensing.Store, func(context.Context) (licensing.Store, error)) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "licensor.db")
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { st.Close() })
	return st, func(ctx context.Context) (licensing.Store, error) {
		return sqlite.Open(ctx, path, sqlite.Options{})
	}
}
