package postgres

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/internal/storetest"
)

func TestDataMigrations(t *testing.T) {
	storetest.RunDataMigrations(t, migrations, func(t *testing.T) (*sql.DB, func(context.Context) (licensing.Store, error)) {
		url := pgtest.URL(t)
		db, err := sql.Open("pgx", url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, func(ctx context.Context) (licensing.Store, error) { return Open(ctx, url) }
	})
}
