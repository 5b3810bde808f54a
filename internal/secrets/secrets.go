// Package secrets seals secrets at rest (License API shared keys, private signing keys)
// with AES-256-GCM under a key derived from the operator's master key.
//
// A sealed value is text, "sealed:v1:" followed by base64(nonce ‖ ciphertext ‖ tag), so
// it fits the same column as the plaintext it replaces. Each value is bound to a context
// string (additional authenticated data): a sealed value copied into another row does
// not open.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// prefix marks a sealed value; anything else is plaintext (a database written before a
// master key was configured).
const prefix = "sealed:v1:"

// MinMasterKeyLen is the shortest master key accepted, in bytes.
const MinMasterKeyLen = 32

// ErrNoMasterKey is returned when a sealed value is opened without a master key.
var ErrNoMasterKey = errors.New("the database holds encrypted secrets but no master key is configured: set LICENSOR_MASTER_KEY or LICENSOR_MASTER_KEY_FILE")

// ErrMasterKeyRequired is returned when secrets are to be sealed without a master key.
var ErrMasterKeyRequired = errors.New("sealing secrets needs a master key: set LICENSOR_MASTER_KEY or LICENSOR_MASTER_KEY_FILE")

// ErrWrongMasterKey is returned when a sealed value does not open under the key.
var ErrWrongMasterKey = errors.New("a secret in the database does not decrypt with the configured master key (wrong LICENSOR_MASTER_KEY?)")

// Box seals and opens secrets. A nil *Box is valid: it stores plaintext and refuses to
// open sealed values.
type Box struct {
	aead cipher.AEAD
}

// New derives the sealing key from master (at least MinMasterKeyLen bytes, for example
// `openssl rand -base64 32`) with HKDF-SHA256.
func New(master string) (*Box, error) {
	master = strings.TrimSpace(master)
	if len(master) < MinMasterKeyLen {
		return nil, fmt.Errorf("master key is %d bytes; it must be at least %d (generate one with `openssl rand -base64 32`)", len(master), MinMasterKeyLen)
	}
	key, err := hkdf.Key(sha256.New, []byte(master), nil, "licensor secrets v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// FromEnv returns the Box for the master key in LICENSOR_MASTER_KEY or in the file
// named by file or LICENSOR_MASTER_KEY_FILE, or nil when none is set; both a key and a
// file is an error.
func FromEnv(file string) (*Box, error) {
	if file == "" {
		file = os.Getenv("LICENSOR_MASTER_KEY_FILE")
	}
	if file != "" && os.Getenv("LICENSOR_MASTER_KEY") != "" {
		return nil, errors.New("both LICENSOR_MASTER_KEY and LICENSOR_MASTER_KEY_FILE are set; set one")
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("master key file: %w", err)
		}
		return New(string(b))
	}
	if k := os.Getenv("LICENSOR_MASTER_KEY"); k != "" {
		return New(k)
	}
	return nil, nil
}

// Enabled reports whether b seals (a master key is configured).
func (b *Box) Enabled() bool { return b != nil }

// IsSealed reports whether a stored value is sealed.
func IsSealed(stored string) bool { return strings.HasPrefix(stored, prefix) }

// Seal returns plain sealed under context; with a nil Box it returns plain unchanged.
func (b *Box) Seal(plain, context string) string {
	if b == nil {
		return plain
	}
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	out := b.aead.Seal(nonce, nonce, []byte(plain), []byte(context))
	return prefix + base64.StdEncoding.EncodeToString(out)
}

// Open returns the plaintext of a stored value: a plaintext value as is, a sealed one
// opened under context.
func (b *Box) Open(stored, context string) (string, error) {
	enc, ok := strings.CutPrefix(stored, prefix)
	if !ok {
		return stored, nil
	}
	if b == nil {
		return "", ErrNoMasterKey
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	n := b.aead.NonceSize()
	if err != nil || len(raw) < n+b.aead.Overhead() {
		return "", ErrWrongMasterKey
	}
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], []byte(context))
	if err != nil {
		return "", ErrWrongMasterKey
	}
	return string(plain), nil
}
