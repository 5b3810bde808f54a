package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ncruces/go-sqlite3/driver"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/migrate"
	"github.com/licensor/licensor/internal/storetest"
)

func TestDataMigrations(t *testing.T) {
	for _, m := range storetest.DataMigrations {
		t.Run(m.Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "old.db")
			db, err := driver.Open("file:" + path + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := migrate.Apply(context.Background(), db, storetest.MigrationsBefore(t, migrations, "migrations", m.Version), "migrations", migrate.SQLiteLock); err != nil {
				t.Fatal(err)
			}
			m.Run(t, db, func(ctx context.Context) (licensing.Store, error) { return Open(ctx, path, Options{}) })
		})
	}
}
