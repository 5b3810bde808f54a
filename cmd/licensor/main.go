// Command licensor is a self-hosted license server speaking the LicenseSpring License
// API v4. Subcommands: init, serve, company create, public-key.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/licensor/licensor/internal/copydb"
	"github.com/licensor/licensor/internal/licenseapi"
	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/postgres"
	"github.com/licensor/licensor/internal/secrets"
	"github.com/licensor/licensor/internal/server"
	"github.com/licensor/licensor/internal/sqlite"
)

const defaultDB = "sqlite:licensor-data/licensor.db"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "licensor:", err)
		os.Exit(1)
	}
}

const usage = `usage: licensor <command> [flags]

commands:
  serve                      run the server (initialises an empty database)
  init [--json]              create the schema, the first company and its keys
  company create --name N    create a further company (tenant) with its own keys
  public-key [--company ID]  print the PEM public key client apps pin
  migrate                    apply pending schema migrations and exit
  seal-secrets               encrypt secrets stored in the clear with LICENSOR_MASTER_KEY
  copy --from URL --to URL   move a whole installation into a new, empty database
  bench                      drive a License API load against a running licensor
  seed                       write a load-test fleet straight into the database (for bench --fleet)

common flags: --db URL (env LICENSOR_DB, default ` + defaultDB + `)`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stderr)
	case "init":
		return cmdInit(ctx, args[1:], stdout, stderr)
	case "company":
		if len(args) < 2 || args[1] != "create" {
			return errors.New("usage: licensor company create --name NAME [--db URL] [--json]")
		}
		return cmdCompanyCreate(ctx, args[2:], stdout, stderr)
	case "public-key":
		return cmdPublicKey(ctx, args[1:], stdout)
	case "migrate":
		return cmdMigrate(ctx, args[1:], stdout)
	case "seal-secrets":
		return cmdSealSecrets(ctx, args[1:], stdout)
	case "copy":
		return cmdCopy(ctx, args[1:], stdout)
	case "bench":
		return cmdBench(ctx, args[1:], stdout, stderr)
	case "seed":
		return cmdSeed(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newFlags(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	db := fs.String("db", env("LICENSOR_DB", defaultDB), "database URL: sqlite:PATH or postgres://…")
	return fs, db
}

// parseFlags parses args into fs and refuses positional arguments, which no command
// takes: `licensor company create --name My Company` would otherwise create "My".
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

// openStore opens the Store a database URL names.
func openStore(ctx context.Context, url string) (licensing.Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path, opts, err := sqlite.ParseURL(url)
		if err != nil {
			return nil, err
		}
		return sqlite.Open(ctx, path, opts)
	case isPostgres(url):
		return postgres.Open(ctx, url)
	}
	return nil, fmt.Errorf("unsupported database URL %q (want sqlite:PATH or postgres://…)", redactURL(url))
}

// openService opens the database and the service on it, sealing secrets with the
// master key from LICENSOR_MASTER_KEY or LICENSOR_MASTER_KEY_FILE when one is set.
func openService(ctx context.Context, url string, opts ...licensing.Option) (*licensing.Service, func(), error) {
	box, err := secrets.FromEnv("")
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	opts = append(opts, licensing.WithSecrets(box))
	return licensing.NewService(st, opts...), func() { st.Close() }, nil
}

const noMasterKeyWarning = "no master key is configured (LICENSOR_MASTER_KEY or LICENSOR_MASTER_KEY_FILE): shared keys and private signing keys are stored unencrypted in the database"

// checkSecrets proves the master key opens every sealed secret and warns about
// secrets stored in the clear.
func checkSecrets(ctx context.Context, svc *licensing.Service, log *slog.Logger) error {
	rep, err := svc.CheckSecrets(ctx)
	if err != nil {
		return err
	}
	switch {
	case !svc.SealsSecrets():
		log.Warn(noMasterKeyWarning, "plaintext_secrets", rep.Plaintext)
	case rep.Plaintext > 0:
		log.Warn("secrets written without a master key are still stored in the clear; once every instance has the key, run `licensor seal-secrets`", "plaintext_secrets", rep.Plaintext)
	}
	return nil
}

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs, db := newFlags("serve")
	addr := fs.String("addr", env("LICENSOR_ADDR", ":8080"), "listen address HOST:PORT")
	keyAlg := fs.String("signing-key", "rsa-2048", "signing key algorithm when serve initialises an empty database (rsa-2048 or ecdsa-p256)")
	d := licensing.DefaultLimits
	var lim licensing.Limits
	fs.IntVar(&lim.MaxVariableName, "max-variable-name", d.MaxVariableName, "longest variable name, in characters")
	fs.IntVar(&lim.MaxVariableValue, "max-variable-value", d.MaxVariableValue, "longest variable value, in characters")
	fs.IntVar(&lim.MaxVariablesPerCall, "max-variables-per-request", d.MaxVariablesPerCall, "most variables in one request")
	fs.IntVar(&lim.MaxVariablesPerDevice, "max-variables-per-device", d.MaxVariablesPerDevice, "most variables one device may hold")
	proxies := fs.String("trusted-proxies", env("LICENSOR_TRUSTED_PROXIES", ""), "comma-separated CIDRs of load balancers whose X-Forwarded-For gives the client's address")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060); off by default")
	maxBody := fs.Int64("max-body", licenseapi.DefaultMaxBody, "largest request body in bytes (larger: 413)")
	prot := protectionFlags(fs)
	durability := fs.String("durability", env("LICENSOR_DURABILITY", ""), "SQLite commit durability: normal (survives a process crash; a power loss may lose the last commits) or full (an fsync per commit; survives power loss); default normal, or the URL's synchronous= option")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dbURL, err := withDurability(*db, *durability)
	if err != nil {
		return err
	}
	db = &dbURL
	if err := prot.check(); err != nil {
		return err
	}
	if lim.MaxVariableName < 1 || lim.MaxVariableValue < 1 || lim.MaxVariablesPerCall < 1 || lim.MaxVariablesPerDevice < 1 || *maxBody < 1 {
		return errors.New("limits must be positive")
	}
	trustedProxies, err := server.ParseTrustedProxies(*proxies)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	tuneGC(log)
	svc, closeStore, err := openService(ctx, *db, licensing.WithLogger(log), licensing.WithLimits(lim),
		licensing.WithCheckStampInterval(time.Second))
	if err != nil {
		return err
	}
	defer closeStore()
	ok, err := svc.Initialised(ctx)
	if err != nil {
		return err
	}
	if !ok {
		cr, err := svc.Init(ctx, "default", *keyAlg)
		if err != nil && !errors.Is(err, licensing.ErrAlreadyInitialised) {
			return err
		}
		if err == nil {
			fmt.Fprintln(stderr, "licensor: initialised an empty database; these credentials are shown only once:")
			printCredentials(stderr, cr, false)
		}
	}
	if err := checkSecrets(ctx, svc, log); err != nil {
		return err
	}
	if *pprofAddr != "" {
		if err := servePprof(ctx, *pprofAddr, log); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("licensor listening", "addr", ln.Addr().String(), "db", redactURL(*db))
	// Last-check stamps are written behind; the loop's last flush runs after the server
	// has drained its in-flight requests.
	stampCtx, stopStamps := context.WithCancel(context.Background())
	stamped := make(chan struct{})
	go func() { svc.RunCheckStamps(stampCtx); close(stamped) }()
	log.Info("rate limits (0: off)", "company_license_per_min", prot.limits.CompanyLicense, "company_manage_per_min", prot.limits.CompanyManage,
		"ip_per_10s", prot.limits.IP, "authorization_per_s", prot.limits.Authorization)
	err = server.New(svc, prot.apply(server.Config{Log: log, MaxBody: *maxBody, TrustedProxies: trustedProxies})).Serve(ctx, ln)
	stopStamps()
	<-stamped
	return err
}

// withDurability applies --durability to a SQLite URL (as its synchronous= option).
// PostgreSQL commits are as durable as the server's synchronous_commit (default on), so
// the flag changes nothing there.
func withDurability(dbURL, mode string) (string, error) {
	switch mode {
	case "":
		return dbURL, nil
	case sqlite.SyncNormal, sqlite.SyncFull:
	default:
		return "", fmt.Errorf("--durability %q: want normal or full", mode)
	}
	if !strings.HasPrefix(dbURL, "sqlite:") {
		return dbURL, nil
	}
	_, opts, err := sqlite.ParseURL(dbURL)
	if err != nil {
		return "", err
	}
	if opts.Synchronous != "" && opts.Synchronous != mode {
		return "", fmt.Errorf("--durability %s contradicts the database URL's synchronous=%s", mode, opts.Synchronous)
	}
	if opts.Synchronous == mode {
		return dbURL, nil
	}
	sep := "?"
	if strings.Contains(dbURL, "?") {
		sep = "&"
	}
	return dbURL + sep + "synchronous=" + mode, nil
}

// redactURL drops any password from a database URL before it is logged or shown:
// the user-info one and a password= query parameter.
func redactURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Scheme == "sqlite" || parsed.Opaque != "" {
		return u
	}
	q := parsed.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		parsed.RawQuery = q.Encode()
	}
	return parsed.Redacted()
}

func printCredentials(w io.Writer, cr licensing.Credentials, asJSON bool) {
	if asJSON {
		json.NewEncoder(w).Encode(cr)
		return
	}
	fmt.Fprintf(w, "company_id:     %d\nmanagement_key: %s\napi_key:        %s\nshared_key:     %s\npublic_key:\n%s",
		cr.CompanyID, cr.ManagementKey, cr.APIKey, cr.SharedKey, cr.PublicKey)
}

// companyFlags registers the flags of the commands that create a company.
func companyFlags(fs *flag.FlagSet) (asJSON *bool, keyAlg *string) {
	asJSON = fs.Bool("json", false, "print the credentials as one JSON object")
	keyAlg = fs.String("signing-key", "rsa-2048", "response signing key algorithm (rsa-2048 or ecdsa-p256)")
	return asJSON, keyAlg
}

// openCompanyService opens the service for a command that creates a company's secrets,
// warning on stderr when they will be stored in the clear.
func openCompanyService(ctx context.Context, db string, stderr io.Writer) (*licensing.Service, func(), error) {
	svc, closeStore, err := openService(ctx, db)
	if err == nil && !svc.SealsSecrets() {
		fmt.Fprintln(stderr, "licensor: warning:", noMasterKeyWarning)
	}
	return svc, closeStore, err
}

func cmdInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, db := newFlags("init")
	asJSON, keyAlg := companyFlags(fs)
	name := fs.String("name", "default", "company name")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	svc, closeStore, err := openCompanyService(ctx, *db, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	cr, err := svc.Init(ctx, *name, *keyAlg)
	if errors.Is(err, licensing.ErrAlreadyInitialised) {
		return fmt.Errorf("%s is already initialised; nothing was changed (use `licensor company create` for another tenant)", redactURL(*db))
	} else if err != nil {
		return err
	}
	printCredentials(stdout, cr, *asJSON)
	return nil
}

func cmdCompanyCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, db := newFlags("company create")
	asJSON, keyAlg := companyFlags(fs)
	name := fs.String("name", "", "company name (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	svc, closeStore, err := openCompanyService(ctx, *db, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	// A key that cannot open the secrets already there would seal this company's under
	// another key, and the server would then refuse to start.
	if _, err := svc.CheckSecrets(ctx); err != nil {
		return err
	}
	cr, err := svc.CreateCompany(ctx, *name, *keyAlg)
	if err != nil {
		return err
	}
	printCredentials(stdout, cr, *asJSON)
	return nil
}

// cmdSealSecrets seals the secrets a database holds in the clear with the master key.
func cmdSealSecrets(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := newFlags("seal-secrets")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	svc, closeStore, err := openService(ctx, *db)
	if err != nil {
		return err
	}
	defer closeStore()
	rep, err := svc.SealSecrets(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sealed %d secrets; %d were sealed already\n", rep.NewSealed, rep.Sealed)
	return nil
}

func cmdPublicKey(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := newFlags("public-key")
	company := fs.Int64("company", 1, "company id")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	svc, closeStore, err := openService(ctx, *db)
	if err != nil {
		return err
	}
	defer closeStore()
	pem, err := svc.PublicKey(ctx, *company)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, pem)
	return nil
}

func cmdMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs, db := newFlags("migrate")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Opening a store applies its pending migrations under the engine's lock.
	st, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "licensor: schema is up to date")
	return nil
}

func cmdCopy(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("copy", flag.ContinueOnError)
	from := fs.String("from", "", "source database URL (e.g. sqlite:licensor-data/licensor.db)")
	to := fs.String("to", "", "target database URL, empty (e.g. postgres://…)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return errors.New("usage: licensor copy --from URL --to URL")
	}
	src, err := openStore(ctx, *from)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	dst, err := openStore(ctx, *to)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer dst.Close()
	type dber interface{ DB() *sql.DB }
	counts, err := copydb.Copy(ctx, src.(dber).DB(), copydb.Target{DB: dst.(dber).DB(), Postgres: isPostgres(*to)})
	if err != nil {
		return err
	}
	for _, t := range copydb.Tables {
		fmt.Fprintf(stdout, "%-17s %d rows\n", t.Name(), counts[t.Name()])
	}
	return nil
}

func isPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// servePprof exposes the profiler on its own listener, never on the API address.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	go func() { <-ctx.Done(); srv.Close() }()
	log.Info("pprof listening", "addr", ln.Addr().String())
	return nil
}
