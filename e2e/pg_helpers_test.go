package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/client"
	"github.com/licensor/licensor/internal/pgtest"
)

// pgCluster is several `licensor serve` processes sharing one PostgreSQL schema.
type pgCluster struct {
	db      string // --db of every instance
	creds   creds
	servers []*server
	hc      *http.Client // shared by the License API clients: enough idle conns for the racers
}

// newPGCluster initialises a fresh PostgreSQL schema with `licensor init --json` and
// serves it from n instances. It skips without LICENSOR_TEST_POSTGRES.
func newPGCluster(t *testing.T, n int) *pgCluster {
	t.Helper()
	db := pgtest.URL(t) // its cleanup (drop schema) runs after the servers stopped
	r, err := runCLI("init", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	if r.exit != 0 {
		t.Fatalf("init --db postgres: exit %d: %s", r.exit, r.stderr)
	}
	c, err := parseCreds(r.stdout)
	if err != nil {
		t.Fatalf("init --db postgres: %v", err)
	}
	cl := &pgCluster{db: db, creds: c}
	cl.servers = startPGServers(t, db, c, n)
	// Made after the servers so its cleanup (closing idle connections) runs before they
	// are stopped: http.Server.Shutdown waits up to 5 s for a connection the transport
	// dialled but never sent a request on.
	cl.hc = racerHTTPClient(t)
	return cl
}

// racerHTTPClient keeps enough idle connections for tens of concurrent requests per host.
func racerHTTPClient(t *testing.T) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	tr.MaxIdleConns = 512
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// startPGServers starts n `serve` processes on db at the same moment and waits until
// all answer /healthz; args are further serve flags. The processes are stopped, and
// must exit 0, when the test ends.
func startPGServers(t *testing.T, db string, c creds, n int, args ...string) []*server {
	t.Helper()
	servers := make([]*server, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range servers {
		servers[i] = &server{dir: t.TempDir(), db: db, creds: c, args: args}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			errs[i] = servers[i].serve()
		}(i)
	}
	close(start)
	wg.Wait()
	t.Cleanup(func() {
		for i, s := range servers {
			s.stopAfter(t, fmt.Sprintf("instance %d", i))
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	return servers
}

// clients returns one License API client per instance, in instance order.
func (cl *pgCluster) clients(t *testing.T) []*client.Client {
	t.Helper()
	cs := make([]*client.Client, len(cl.servers))
	for i, s := range cl.servers {
		cs[i] = s.client(t, client.WithHTTPClient(cl.hc))
	}
	return cs
}

// clientsWith is clients with another API key pair.
func (cl *pgCluster) clientsWith(t *testing.T, apiKey, sharedKey string) []*client.Client {
	t.Helper()
	cs := make([]*client.Client, len(cl.servers))
	for i, s := range cl.servers {
		cs[i] = s.clientWith(t, apiKey, sharedKey, client.WithHTTPClient(cl.hc))
	}
	return cs
}

// allDevices lists every device of a license through m, following pages of 100, and
// checks that the page count matches the rows returned.
func allDevices(t *testing.T, m mgmt, licenseID int64) []device {
	t.Helper()
	var all []device
	for offset := 0; ; offset += 100 {
		var p page[device]
		m.call("GET", fmt.Sprintf("/api/v1/devices/?license=%d&limit=100&offset=%d", licenseID, offset), nil, 200, &p)
		all = append(all, p.Results...)
		if p.Next == nil || len(p.Results) == 0 {
			if int64(len(all)) != p.Count {
				t.Errorf("devices of license %d: count %d, %d rows listed", licenseID, p.Count, len(all))
			}
			return all
		}
		if offset > 10000 {
			t.Fatalf("devices of license %d: too many pages", licenseID)
		}
	}
}

// pgConn connects to db (a pgtest URL, so search_path is the test's schema).
func pgConn(t *testing.T, db string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatalf("connect %s: %v", redactPG(db), err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func redactPG(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "postgres URL"
	}
	return p.Redacted()
}

// pgMigrationVersions returns the versions of the PostgreSQL migrations shipped in the
// source tree (internal/postgres/migrations/NNNN_name.sql).
func pgMigrationVersions(t *testing.T) map[int]string {
	t.Helper()
	entries, err := os.ReadDir("../internal/postgres/migrations")
	if err != nil {
		t.Fatal(err)
	}
	vs := map[int]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		var v int
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err != nil {
			t.Fatalf("migration %s: %v", e.Name(), err)
		}
		vs[v] = e.Name()
	}
	if len(vs) == 0 {
		t.Fatal("no PostgreSQL migrations found")
	}
	return vs
}

// checkMigrationsOnce requires schema_migrations to hold exactly one row per shipped
// migration and nothing else.
func checkMigrationsOnce(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	want := pgMigrationVersions(t)
	rows, err := conn.Query(context.Background(), `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	seen := map[int]int{}
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		seen[v]++
		if want[v] == "" {
			t.Errorf("schema_migrations has unknown version %d (%s)", v, name)
		} else if want[v] != name {
			t.Errorf("schema_migrations version %d name %q, want %q", v, name, want[v])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for v, name := range want {
		if seen[v] != 1 {
			t.Errorf("schema_migrations has %d rows for version %d (%s), want 1", seen[v], v, name)
		}
	}
}

// pgCount runs a count query.
func pgCount(t *testing.T, conn *pgx.Conn, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// parseTextCreds reads the credentials `serve` prints when it initialises an empty
// database (text form: "management_key: …" lines, then the public key PEM).
func parseTextCreds(out string) (creds, bool) {
	var c creds
	field := func(name string) string {
		i := strings.Index(out, name+":")
		if i < 0 {
			return ""
		}
		line, _, _ := strings.Cut(out[i+len(name)+1:], "\n")
		return strings.TrimSpace(line)
	}
	fmt.Sscan(field("company_id"), &c.CompanyID)
	c.ManagementKey, c.APIKey, c.SharedKey = field("management_key"), field("api_key"), field("shared_key")
	if i := strings.Index(out, "-----BEGIN PUBLIC KEY-----"); i >= 0 {
		const end = "-----END PUBLIC KEY-----"
		if j := strings.Index(out[i:], end); j >= 0 {
			c.PublicKey = out[i:i+j+len(end)] + "\n"
		}
	}
	ok := c.CompanyID > 0 && c.ManagementKey != "" && c.APIKey != "" && c.SharedKey != "" && c.PublicKey != ""
	return c, ok
}
