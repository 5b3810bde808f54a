package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/licensor/licensor/internal/bulkseed"
)

const seedUsage = `usage: licensor seed [--db URL] [--company ID] --product CODE --devices N [--variables V] [--batch B]

Writes a load-test fleet straight into the database, for ` + "`licensor bench --fleet CODE`" + `:
a key-based product CODE (created if missing) and N perpetual licenses of one
activation (keys CODE-0000000…, upper case), each with one active device
(hardware ids CODE-hw-0000000…) holding V variables var0… with the values the
track-steady workload sends. It writes what create_order and activate_license
would (audit entries included, actor cli), one order and one transaction per B
devices, printing a line per batch to stderr. Run it against a database no
server is writing heavily to (SQLite has one writer).

Resumable: every batch commits whole or not at all, and a second run over the same
product skips each index whose license already exists, after checking that it is
as a seed leaves it; a license that is not stops the run without writing.`

// cmdSeed is the bulk fixture path: `licensor seed`.
func cmdSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, db := newFlags("seed")
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, seedUsage)
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	company := fs.Int64("company", 1, "company id")
	product := fs.String("product", "", "product short code (required)")
	name := fs.String("name", "", `product name when it is created (default "licensor seed CODE")`)
	devices := fs.Int("devices", 0, "devices to seed, indexes 0…N-1 (required)")
	variables := fs.Int("variables", 10, "variables per device")
	batch := fs.Int("batch", bulkseed.DefaultBatch, "devices per transaction")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *product == "" || *devices < 1 {
		fs.Usage()
		return errors.New("seed: --product and --devices (at least 1) are required")
	}
	if *variables < 0 || *batch < 1 {
		return errors.New("seed: --variables must not be negative and --batch must be positive")
	}
	svc, closeStore, err := openService(ctx, *db)
	if err != nil {
		return err
	}
	defer closeStore()
	res, err := bulkseed.Seed(ctx, svc, bulkseed.Config{CompanyID: *company, Product: *product, ProductName: *name,
		Devices: *devices, Variables: *variables, Batch: *batch, Progress: stderr})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(stdout, "seeded product %s: %d devices with %d variables each (%d created in %d transactions, %d already there) in %.1fs\n",
		res.Product, *devices, *variables, res.Created, res.Batches, res.Existing, res.Elapsed.Seconds())
	return nil
}
