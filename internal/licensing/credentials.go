package licensing

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/licensor/licensor/internal/signing"
)

// Credentials are a company's secrets as shown once at creation.
type Credentials struct {
	CompanyID     int64  `json:"company_id"`
	ManagementKey string `json:"management_key"`
	APIKey        string `json:"api_key"`
	SharedKey     string `json:"shared_key"`
	PublicKey     string `json:"public_key"`
}

// ErrAlreadyInitialised is returned by Init on a database that already has a company.
var ErrAlreadyInitialised = errors.New("database is already initialised")

// Init creates the first company on an empty database.
func (s *Service) Init(ctx context.Context, name, keyAlg string) (Credentials, error) {
	return s.createCompany(ctx, name, keyAlg, true)
}

// CreateCompany creates a further tenant with its own keys.
func (s *Service) CreateCompany(ctx context.Context, name, keyAlg string) (Credentials, error) {
	return s.createCompany(ctx, name, keyAlg, false)
}

func (s *Service) createCompany(ctx context.Context, name, keyAlg string, first bool) (Credentials, error) {
	if strings.TrimSpace(name) == "" {
		return Credentials{}, FieldError("name", "company name must not be empty")
	}
	// Key generation is slow; do it outside the transaction.
	priv, pub, err := signing.Generate(keyAlg)
	if err != nil {
		return Credentials{}, err
	}
	var cr Credentials
	err = s.store.Write(ctx, func(tx Tx) error {
		if err := tx.LockTenants(ctx); err != nil {
			return fmt.Errorf("lock tenants: %w", err)
		}
		n, err := tx.CompanyCount(ctx)
		if err != nil {
			return fmt.Errorf("count companies: %w", err)
		}
		if first && n > 0 {
			return ErrAlreadyInitialised
		}
		if !first && n == 0 {
			return errors.New("database is not initialised: run `licensor init` first")
		}
		now := s.Now()
		c := Company{Name: name, CreatedAt: now, SigningKeyPEM: priv, PublicKeyPEM: pub}
		s.sealCompany(&c)
		if err := tx.CreateCompany(ctx, &c); err != nil {
			return fmt.Errorf("create company: %w", err)
		}
		mk, err := s.newManagementKey(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, c.ID, AuditCompanyCreate, "company", c.ID, nil, map[string]any{"id": c.ID, "name": c.Name}); err != nil {
			return err
		}
		ak, err := s.newAPIKey(ctx, tx, c.ID, false)
		if err != nil {
			return err
		}
		cr = Credentials{CompanyID: c.ID, ManagementKey: mk, APIKey: ak.Key, SharedKey: ak.SharedKey, PublicKey: pub}
		return nil
	})
	return cr, err
}

// Initialised reports whether the database has at least one company.
func (s *Service) Initialised(ctx context.Context) (bool, error) {
	var n int64
	err := s.store.Read(ctx, func(tx Tx) (err error) {
		n, err = tx.CompanyCount(ctx)
		return err
	})
	return n > 0, err
}

// PublicKey returns a company's public key PEM (it needs no master key).
func (s *Service) PublicKey(ctx context.Context, companyID int64) (string, error) {
	c, err := s.storedCompany(ctx, companyID)
	return c.PublicKeyPEM, err
}

// Company returns a company by id, its signing key opened.
func (s *Service) Company(ctx context.Context, companyID int64) (Company, error) {
	c, err := s.storedCompany(ctx, companyID)
	if err != nil {
		return c, err
	}
	return c, s.openCompany(&c)
}

// storedCompany returns a company as stored (its signing key possibly sealed).
func (s *Service) storedCompany(ctx context.Context, companyID int64) (Company, error) {
	var c Company
	err := s.store.Read(ctx, func(tx Tx) (err error) {
		c, err = tx.Company(ctx, companyID)
		if errors.Is(err, ErrNoRows) {
			return Errorf(ENotFound, "company %d not found", companyID)
		}
		return err
	})
	return c, err
}

func (s *Service) newManagementKey(ctx context.Context, tx Tx, companyID int64) (string, error) {
	prefix, secret := randomString(8), randomString(32)
	sum := sha256.Sum256([]byte(secret))
	k := ManagementKey{CompanyID: companyID, Prefix: prefix, SecretHash: sum[:], CreatedAt: s.Now()}
	if err := tx.CreateManagementKey(ctx, &k); err != nil {
		return "", fmt.Errorf("create management key: %w", err)
	}
	return prefix + "." + secret, nil
}

func (s *Service) newAPIKey(ctx context.Context, tx Tx, companyID int64, readOnly bool) (APIKey, error) {
	k := APIKey{CompanyID: companyID, Key: newUUID(), SharedKey: randomString(40), ReadOnly: readOnly, CreatedAt: s.Now()}
	stored := k
	s.sealAPIKey(&stored)
	if err := tx.CreateAPIKey(ctx, &stored); err != nil {
		return k, fmt.Errorf("create api key: %w", err)
	}
	k.ID = stored.ID
	return k, s.audit(ctx, tx, companyID, AuditAPIKeyCreate, "api_key", k.ID, nil, viewAPIKey(k.Info()))
}

// AuthenticateManagement returns the management key row (its company and id) a key
// names. The secret is compared by hash in constant time.
func (s *Service) AuthenticateManagement(ctx context.Context, key string) (ManagementKey, error) {
	prefix, secret, ok := strings.Cut(key, ".")
	unauthorized := Errorf(EUnauthorized, "Invalid API key.")
	if !ok || prefix == "" || secret == "" || len(key) > 256 || !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0 {
		return ManagementKey{}, unauthorized
	}
	var mk ManagementKey
	err := s.store.ReadSingle(ctx, func(tx Tx) (err error) {
		mk, err = tx.ManagementKeyByPrefix(ctx, prefix)
		return err
	})
	if errors.Is(err, ErrNoRows) {
		return ManagementKey{}, unauthorized
	} else if err != nil {
		return ManagementKey{}, fmt.Errorf("management key: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], mk.SecretHash) != 1 || mk.Revoked {
		return ManagementKey{}, unauthorized
	}
	mk.SecretHash = nil
	return mk, nil
}

// CreateAPIKey makes a further License API key pair for a company.
func (s *Service) CreateAPIKey(ctx context.Context, companyID int64, readOnly bool) (APIKey, error) {
	var k APIKey
	err := s.store.Write(ctx, func(tx Tx) (err error) {
		k, err = s.newAPIKey(ctx, tx, companyID, readOnly)
		return err
	})
	return k, err
}

// RevokeAPIKey revokes one of a company's License API keys and returns it. Revoking a
// revoked key is idempotent: it answers the same and records nothing.
func (s *Service) RevokeAPIKey(ctx context.Context, companyID, id int64) (APIKeyInfo, error) {
	var k APIKeyInfo
	err := s.store.Write(ctx, func(tx Tx) (err error) {
		if k, err = tx.APIKeyInfo(ctx, companyID, id); err != nil {
			return notFoundOr(err, "api key")
		}
		changed, err := tx.RevokeAPIKey(ctx, companyID, id)
		if err != nil {
			return notFoundOr(err, "revoke api key")
		}
		if changed {
			after := k
			after.Revoked = true
			if err := s.audit(ctx, tx, companyID, AuditAPIKeyRevoke, "api_key", id, viewAPIKey(k), viewAPIKey(after)); err != nil {
				return err
			}
		} // else revoked already, perhaps a moment ago by a concurrent request
		// Read it again: revoked, and revoked_at as the audit entry has it.
		if k, err = tx.APIKeyInfo(ctx, companyID, id); err != nil {
			return fmt.Errorf("api key: %w", err)
		}
		return nil
	})
	if err != nil {
		return k, err
	}
	s.forgetAPIKey(id)
	return k, nil
}

// ListAPIKeys pages through a company's License API keys, revoked ones included.
func (s *Service) ListAPIKeys(ctx context.Context, companyID int64, page Page) ([]APIKeyInfo, int64, error) {
	var ks []APIKeyInfo
	var n int64
	err := s.store.Read(ctx, func(tx Tx) (err error) {
		ks, n, err = tx.ListAPIKeys(ctx, companyID, page)
		return err
	})
	return ks, n, err
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters drawn uniformly from alphabet.
func randomString(n int) string {
	return randomFrom(alphabet, n)
}

func randomFrom(chars string, n int) string {
	b := make([]byte, n)
	buf := make([]byte, 1)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		// Rejection sampling keeps the draw uniform.
		if int(buf[0]) < 256-256%len(chars) {
			b[i] = chars[int(buf[0])%len(chars)]
			i++
		}
	}
	return string(b)
}

func newUUID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}
