package copydb_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/copydb"
	"github.com/licensor/licensor/internal/licenseapi"
	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/pgtest"
	"github.com/licensor/licensor/internal/postgres"
	"github.com/licensor/licensor/internal/sqlite"
)

type dbStore interface {
	licensing.Store
	DB() *sql.DB
}

// populate fills a store with two companies and every kind of row.
func populate(t *testing.T, svc *licensing.Service) licensing.Credentials {
	t.Helper()
	ctx := context.Background()
	a, err := svc.Init(ctx, "a", "rsa-2048")
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateCompany(ctx, "b", "ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []licensing.Credentials{a, b} {
		must(svc.CreateProduct(ctx, c.CompanyID, licensing.ProductInput{Name: "App ✓", ShortCode: "app"}))
		must(svc.CreateProduct(ctx, c.CompanyID, licensing.ProductInput{Name: "Users", ShortCode: "users", AuthorizationMethod: licensing.AuthUser}))
		valid := time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC)
		must(svc.CreateOrder(ctx, c.CompanyID, licensing.OrderInput{StoreID: "o1", CustomerEmail: "x@example.com", Items: []licensing.OrderItem{
			{ProductCode: "app", Licenses: []licensing.LicenseInput{{Key: "KEY-1", MaxActivations: 3, ValidityPeriod: &valid}, {Key: "KEY-2", AllowUnlimitedActivations: true}}},
			{ProductCode: "users", Licenses: []licensing.LicenseInput{{MaxActivations: 1, Users: []licensing.UserInput{{Email: "u@example.com", Password: "pw"}}}}},
		}}))
		for i := range 3 {
			must(svc.Activate(ctx, c.CompanyID, licensing.ActivateRequest{
				Identity:   licensing.Identity{Product: "app", HardwareID: fmt.Sprintf("hw-%d", i), LicenseKey: "KEY-1"},
				Info:       licensing.DeviceInfo{OSVer: "linux", Hostname: "h", IsVM: i == 1, VMInfo: "kvm"},
				ExternalIP: "127.0.0.1",
				Variables:  []licensing.VarInput{{Name: "v", Value: "é\u2028"}, {Name: "n", Value: fmt.Sprint(i)}},
			}))
		}
		must(svc.Activate(ctx, c.CompanyID, licensing.ActivateRequest{Identity: licensing.Identity{Product: "users", HardwareID: "hw-u", Username: "u@example.com", Password: "pw"}}))
		if err := svc.Deactivate(ctx, c.CompanyID, licensing.Identity{Product: "app", HardwareID: "hw-2", LicenseKey: "KEY-1"}, nil); err != nil {
			t.Fatal(err)
		}
		devs, _, err := svc.ListDevices(ctx, c.CompanyID, licensing.DeviceFilter{HardwareID: "hw-1"})
		if err != nil || len(devs) != 1 {
			t.Fatal(err, devs)
		}
		must(svc.SetBlacklisted(ctx, c.CompanyID, devs[0].ID, true))
		must(svc.Check(ctx, c.CompanyID, licensing.Identity{Product: "app", HardwareID: "hw-0", LicenseKey: "KEY-1"})) // a last-check stamp
		k := must(svc.CreateAPIKey(ctx, c.CompanyID, true))
		must(svc.RevokeAPIKey(ctx, c.CompanyID, k.ID))
	}
	return a
}

// must keeps fixture code to one line a step; a failing step panics, failing the test.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// dump reads every column of every row, booleans normalised.
func dump(t *testing.T, db *sql.DB) map[string][][]any {
	t.Helper()
	out := map[string][][]any{}
	for _, tb := range copydb.Tables {
		rows, err := db.Query("SELECT * FROM " + tb.Name() + " ORDER BY " + tb.OrderBy())
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				switch x := v.(type) {
				case bool:
					if x {
						vals[i] = int64(1)
					} else {
						vals[i] = int64(0)
					}
				case []byte:
					if tb.Name() != "management_keys" {
						vals[i] = string(x)
					}
				}
			}
			out[tb.Name()] = append(out[tb.Name()], vals)
		}
		rows.Close()
	}
	return out
}

func checkLicense(t *testing.T, svc *licensing.Service, c licensing.Credentials, now time.Time) (string, string) {
	t.Helper()
	h := licenseapi.New(svc, licenseapi.Config{Now: func() time.Time { return now }})
	r := httptest.NewRequest("GET", "/api/v4/check_license?hardware_id=hw-0&product=app&license_key=KEY-1", nil)
	d := now.Format(http.TimeFormat)
	m := hmac.New(sha256.New, []byte(c.SharedKey))
	m.Write([]byte("licenseSpring\ndate: " + d))
	r.Header.Set("Date", d)
	r.Header.Set("Authorization", `algorithm="hmac-sha256",headers="date",signature="`+base64.StdEncoding.EncodeToString(m.Sum(nil))+`",apikey="`+c.APIKey+`"`)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("check_license: %d %s", w.Code, w.Body)
	}
	return w.Body.String(), w.Header().Get("LicenseSignature")
}

func TestCopySQLiteToPostgres(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	src, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "src.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	srcSvc := licensing.NewService(src)
	creds := populate(t, srcSvc)

	dst, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	counts, err := copydb.Copy(ctx, src.DB(), copydb.Target{DB: dst.DB(), Postgres: true})
	if err != nil {
		t.Fatal(err)
	}
	if counts["devices"] != 8 || counts["device_variables"] != 12 || counts["device_checks"] != 2 || counts["companies"] != 2 {
		t.Fatalf("counts %v", counts)
	}
	// Every table of the schema is copied (but the migrations' own).
	copied := map[string]bool{}
	for _, tb := range copydb.Tables {
		copied[tb.Name()] = true
	}
	tables, err := src.DB().QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'`)
	if err != nil {
		t.Fatal(err)
	}
	for tables.Next() {
		var name string
		if err := tables.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !copied[name] {
			t.Errorf("table %s is not in copydb.Tables", name)
		}
	}
	if err := tables.Err(); err != nil {
		t.Fatal(err)
	}
	want, got := dump(t, src.DB()), dump(t, dst.DB())
	for _, tb := range copydb.Tables {
		if !reflect.DeepEqual(want[tb.Name()], got[tb.Name()]) {
			t.Errorf("%s differs after copy:\nsqlite   %v\npostgres %v", tb.Name(), want[tb.Name()], got[tb.Name()])
		}
	}

	// The copy answers a previously activated device with the same signed license.
	now := time.Now().UTC().Truncate(time.Second)
	dstSvc := licensing.NewService(dst)
	body1, sig1 := checkLicense(t, srcSvc, creds, now)
	body2, sig2 := checkLicense(t, dstSvc, creds, now)
	if body1 != body2 || sig1 != sig2 {
		t.Fatalf("check_license differs after copy:\n%s %s\n%s %s", body1, sig1, body2, sig2)
	}

	// New rows get ids past the copied ones, and a second copy is refused.
	p := must(dstSvc.CreateProduct(ctx, creds.CompanyID, licensing.ProductInput{Name: "New", ShortCode: "new"}))
	if p.ID <= 4 {
		t.Fatalf("new product id %d collides with copied ids", p.ID)
	}
	if _, err := copydb.Copy(ctx, src.DB(), copydb.Target{DB: dst.DB(), Postgres: true}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("copy into a non-empty target: %v", err)
	}
}
