package licensing

import (
	"context"
	"testing"
)

// productTx answers ProductByCode from a map and counts the lookups.
type productTx struct {
	Tx
	products map[string]Product
	lookups  int
}

func (t *productTx) ProductByCode(_ context.Context, _ int64, code string) (Product, error) {
	t.lookups++
	p, ok := t.products[code]
	if !ok {
		return p, ErrNoRows
	}
	return p, nil
}

// TestCacheOnlyCommittedRows: a product read inside a write transaction (which may
// still roll back with its group-commit batch) is not cached; one read in a read
// transaction is, and later writes hit it.
func TestCacheOnlyCommittedRows(t *testing.T) {
	s := &Service{cache: newImmutable()}
	ctx := context.Background()
	tx := &productTx{products: map[string]Product{"app": {ID: 7, CompanyID: 1, ShortCode: "app"}}}
	steps := []struct {
		name        string
		tx          Tx
		wantLookups int
	}{
		{"write: looked up, not cached", writeTx{tx}, 1},
		{"write again: looked up again", writeTx{tx}, 2},
		{"read: looked up and cached", tx, 3},
		{"read: cache hit", tx, 3},
		{"write: cache hit", writeTx{tx}, 3},
	}
	for _, st := range steps {
		p, err := s.productByCode(ctx, st.tx, 1, "app")
		if err != nil || p.ID != 7 {
			t.Fatalf("%s: %+v, %v", st.name, p, err)
		}
		if tx.lookups != st.wantLookups {
			t.Fatalf("%s: %d store lookups, want %d", st.name, tx.lookups, st.wantLookups)
		}
	}
}
