package licensing

import (
	"context"
	"fmt"

	"github.com/licensor/licensor/internal/secrets"
)

// WithSecrets seals shared keys and private signing keys at rest with box (nil: stored
// as plaintext).
func WithSecrets(box *secrets.Box) Option { return func(s *Service) { s.secrets = box } }

// SealsSecrets reports whether a master key is configured.
func (s *Service) SealsSecrets() bool { return s.secrets.Enabled() }

// A sealed secret is bound to the row it belongs to: a signing key to its public key,
// a shared key to its api key. A sealed value moved to another row does not open.
func secretContext(kind, owner string) string { return kind + "\x00" + owner }

func (s *Service) sealCompany(c *Company) {
	c.SigningKeyPEM = s.secrets.Seal(c.SigningKeyPEM, secretContext(SecretSigningKey, c.PublicKeyPEM))
}

func (s *Service) openCompany(c *Company) (err error) {
	c.SigningKeyPEM, err = s.secrets.Open(c.SigningKeyPEM, secretContext(SecretSigningKey, c.PublicKeyPEM))
	if err != nil {
		return fmt.Errorf("company %d signing key: %w", c.ID, err)
	}
	return nil
}

func (s *Service) sealAPIKey(k *APIKey) {
	k.SharedKey = s.secrets.Seal(k.SharedKey, secretContext(SecretSharedKey, k.Key))
}

func (s *Service) openAPIKey(k *APIKey) (err error) {
	k.SharedKey, err = s.secrets.Open(k.SharedKey, secretContext(SecretSharedKey, k.Key))
	if err != nil {
		return fmt.Errorf("api key %d shared key: %w", k.ID, err)
	}
	return nil
}

// SecretsReport is what CheckSecrets or SealSecrets found and did.
type SecretsReport struct {
	Sealed    int // sealed before, and open under the configured key
	NewSealed int // plaintext, sealed by SealSecrets
	Plaintext int // plaintext left as is
}

// CheckSecrets proves that every sealed secret opens under the configured key (a wrong
// or missing key fails here, not on some later request) and counts the plaintext ones,
// so the caller can warn. It changes nothing.
func (s *Service) CheckSecrets(ctx context.Context) (SecretsReport, error) {
	var rep SecretsReport
	err := s.store.Read(ctx, func(tx Tx) error {
		rep = SecretsReport{}
		return s.eachSecret(ctx, tx, &rep, nil)
	})
	return rep, err
}

// SealSecrets seals every plaintext secret with the configured master key, in one
// transaction, after proving the sealed ones open. Every instance serving the
// database must have the key before this runs: one without it cannot open what
// this seals.
func (s *Service) SealSecrets(ctx context.Context) (SecretsReport, error) {
	if !s.secrets.Enabled() {
		// Say that the database holds sealed secrets only when it does.
		if _, err := s.CheckSecrets(ctx); err != nil {
			return SecretsReport{}, err
		}
		return SecretsReport{}, secrets.ErrMasterKeyRequired
	}
	var rep SecretsReport
	err := s.store.Write(ctx, func(tx Tx) error {
		rep = SecretsReport{}
		return s.eachSecret(ctx, tx, &rep, func(sec StoredSecret) error {
			sec.Value = s.secrets.Seal(sec.Value, secretContext(sec.Kind, sec.Owner))
			if err := tx.SetSecret(ctx, sec); err != nil {
				return fmt.Errorf("seal %s %d: %w", sec.Kind, sec.ID, err)
			}
			rep.NewSealed++
			return nil
		})
	})
	return rep, err
}

// eachSecret opens every sealed secret and hands each plaintext one to seal (nil:
// only counted).
func (s *Service) eachSecret(ctx context.Context, tx Tx, rep *SecretsReport, seal func(StoredSecret) error) error {
	all, err := tx.Secrets(ctx)
	if err != nil {
		return fmt.Errorf("list secrets: %w", err)
	}
	for _, sec := range all {
		if secrets.IsSealed(sec.Value) {
			if _, err := s.secrets.Open(sec.Value, secretContext(sec.Kind, sec.Owner)); err != nil {
				return fmt.Errorf("%s %d: %w", sec.Kind, sec.ID, err)
			}
			rep.Sealed++
			continue
		}
		if seal == nil {
			rep.Plaintext++
			continue
		}
		if err := seal(sec); err != nil {
			return err
		}
	}
	return nil
}
