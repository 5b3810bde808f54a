package e2e

import (
	"database/sql"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/ncruces/go-sqlite3/driver" // registers "sqlite3"
)

// dbSnapshot returns every row of every table of a SQLite-backed server's database,
// one line per row in a stable order, so two snapshots compare with ==. It reads the
// database file directly (read-only, beside the running server: WAL allows it).
// Tables named in skip are left out, and so are columns named there as table.column.
func dbSnapshot(t *testing.T, s *server, skip ...string) string {
	t.Helper()
	path, ok := strings.CutPrefix(s.db, "sqlite:")
	if !ok {
		t.Fatalf("dbSnapshot needs a SQLite server, got %q", s.db)
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables, err := queryStrings(db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatalf("dbSnapshot: list tables: %v", err)
	}
	var b strings.Builder
	for _, table := range tables {
		if slices.Contains(skip, table) {
			continue
		}
		rows, err := db.Query(fmt.Sprintf(`SELECT * FROM %q ORDER BY rowid`, table))
		if err != nil {
			// WITHOUT ROWID tables: order by every column instead.
			rows, err = db.Query(fmt.Sprintf(`SELECT * FROM %q ORDER BY 1, 2`, table))
		}
		if err != nil {
			t.Fatalf("dbSnapshot: %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		keep := make([]bool, len(cols))
		var kept []string
		for i, c := range cols {
			if keep[i] = !slices.Contains(skip, table+"."+c); keep[i] {
				kept = append(kept, c)
			}
		}
		fmt.Fprintf(&b, "== %s %v\n", table, kept)
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dbSnapshot: %s: %v", table, err)
			}
			first := true
			for i, v := range vals {
				if !keep[i] {
					continue
				}
				if !first {
					b.WriteByte('\t')
				}
				first = false
				if bs, ok := v.([]byte); ok {
					v = fmt.Sprintf("%x", bs)
				}
				fmt.Fprintf(&b, "%v", v)
			}
			b.WriteByte('\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("dbSnapshot: %s: %v", table, err)
		}
		rows.Close()
	}
	return b.String()
}

func queryStrings(db *sql.DB, q string) ([]string, error) {
	rows, err := db.Query(q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// settle waits until the server's write-behind last-check stamps (flushed every
// second) have reached the database, so a snapshot taken next is stable.
func settle() { time.Sleep(1500 * time.Millisecond) }

// wantSnapshotUnchanged fails with the first differing line when after != before.
func wantSnapshotUnchanged(t *testing.T, what, before, after string) {
	t.Helper()
	if before == after {
		return
	}
	bl, al := strings.Split(before, "\n"), strings.Split(after, "\n")
	for i := 0; i < len(bl) || i < len(al); i++ {
		var x, y string
		if i < len(bl) {
			x = bl[i]
		}
		if i < len(al) {
			y = al[i]
		}
		if x != y {
			t.Fatalf("%s changed the database: line %d\nbefore: %q\nafter:  %q", what, i+1, x, y)
		}
	}
}

func TestDBSnapshotSeesChanges(t *testing.T) {
	s := newServer(t)
	before := dbSnapshot(t, s)
	f := newFixture(t, s, "license-key")
	f.keyLicense(1)
	after := dbSnapshot(t, s)
	if before == after {
		t.Fatal("snapshot did not change after creating a product and a license")
	}
	if again := dbSnapshot(t, s); again != after {
		t.Fatal("two snapshots of an idle database differ")
	}
}
