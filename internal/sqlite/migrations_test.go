package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/ncruces/go-sqlite3/driver"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/storetest"
)

func TestDataMigrations(t *testing.T) {
	storetest.RunDataMigrations(t, migrations, func(t *testing.T) (*sql.DB, func(context.Context) (licensing.Store, error)) {
		path := filepath.Join(t.TempDir(), "old.db")
		db, err := driver.Open("file:" + path + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, func(ctx context.Context) (licensing.Store, error) { return Open(ctx, path, Options{}) }
	})
}
