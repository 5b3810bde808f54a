package postgres

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/migrate"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/internal/storetest"
)

func TestDataMigrations(t *testing.T) {
	for _, m := range storetest.DataMigrations {
		t.Run(m.Name, func(t *testing.T) {
			url := pgtest.URL(t)
			db, err := sql.Open("pgx", url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			noLock := func(context.Context, *sql.Tx) error { return nil }
			if err := migrate.Apply(context.Background(), db, storetest.MigrationsBefore(t, migrations, "migrations", m.Version), "migrations", noLock); err != nil {
				t.Fatal(err)
			}
			m.Run(t, db, func(ctx context.Context) (licensing.Store, error) { return Open(ctx, url) })
		})
	}
}
