package licensing

import (
	"context"

	lru "github.com/hashicorp/golang-lru/v2"
)

// immutable caches rows that no operation ever changes or deletes once created:
// products (looked up by short code on every License API call) and orders (shown in
// every license object). A cached copy is therefore never stale, on this instance or
// because of another one; only hits are cached, so a product created elsewhere is
// found at once. Anything that can change (licenses, devices) is always read from the
// store; License API keys are cached for their fixed part only, their revocation read
// in every operation (apikeys.go). If products or orders ever become editable, these
// caches must go.
type immutable struct {
	products *lru.Cache[productKey, Product]
	orders   *lru.Cache[int64, Order]
}

type productKey struct {
	companyID int64
	code      string
}

const immutableCacheSize = 16384

func newImmutable() *immutable {
	p, _ := lru.New[productKey, Product](immutableCacheSize)
	o, _ := lru.New[int64, Order](immutableCacheSize)
	return &immutable{products: p, orders: o}
}

// writeTx marks the Tx of a Write transaction. A row read there may be one that an
// earlier write of the same group-commit batch created, and the batch may still roll
// back, so such reads are never cached: only committed rows are.
type writeTx struct{ Tx }

func cacheable(tx Tx) bool {
	_, w := tx.(writeTx)
	return !w
}

// productByCode is tx.ProductByCode through the cache.
func (s *Service) productByCode(ctx context.Context, tx Tx, companyID int64, code string) (Product, error) {
	k := productKey{companyID, code}
	if p, ok := s.cache.products.Get(k); ok {
		return p, nil
	}
	p, err := tx.ProductByCode(ctx, companyID, code)
	if err == nil && cacheable(tx) {
		s.cache.products.Add(k, p)
	}
	return p, err
}

// order is tx.Order through the cache.
func (s *Service) order(ctx context.Context, tx Tx, companyID, id int64) (Order, error) {
	if o, ok := s.cache.orders.Get(id); ok && o.CompanyID == companyID {
		return o, nil
	}
	o, err := tx.Order(ctx, companyID, id)
	if err == nil && cacheable(tx) {
		s.cache.orders.Add(id, o)
	}
	return o, err
}
