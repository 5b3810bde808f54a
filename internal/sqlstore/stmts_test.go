package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/ncruces/go-sqlite3/driver"

	"github.com/licensor/licensor/internal/licensing"
)

// A query seen inside a transaction on a one-connection database (SQLite's writer) is
// prepared after it, not during it (which would wait for the connection forever), and
// later transactions use the prepared statement.
func TestStatementsPreparedAfterTheirFirstTransaction(t *testing.T) {
	raw, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	db := NewDB(raw, true)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const q = `SELECT count(*) FROM companies`
	if _, err := db.ExecContext(ctx, `CREATE TABLE companies (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		err := Run(ctx, db, false, Dialect{}, func(tx licensing.Tx) error {
			n, err := tx.CompanyCount(ctx)
			if err == nil && n != 0 {
				t.Errorf("count %d", n)
			}
			return err
		})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if db.cached(q) == nil {
			t.Fatalf("after run %d the query is not prepared", i)
		}
	}
}
