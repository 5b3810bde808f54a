// Package signing makes and parses the per-company response-signing keys and signs
// License API responses (RSA-SHA256 PKCS#1 v1.5, reference §6).
package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
)

// Algorithms a company's signing key may use.
const (
	RSA2048   = "rsa-2048"
	ECDSAP256 = "ecdsa-p256"
)

// Signer signs response bytes with one company's private key.
type Signer struct {
	key crypto.Signer
}

// Generate makes a new key pair and returns the PKCS#8 private key PEM and SPKI public key PEM.
func Generate(alg string) (privatePEM, publicPEM string, err error) {
	var key crypto.Signer
	switch alg {
	case "", RSA2048:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case ECDSAP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return "", "", fmt.Errorf("unknown signing key algorithm %q (want %s or %s)", alg, RSA2048, ECDSAP256)
	}
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("marshal private key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return "", "", fmt.Errorf("marshal public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})), nil
}

// Parse reads a PKCS#8 private key PEM.
func Parse(privatePEM string) (*Signer, error) {
	block, _ := pem.Decode([]byte(privatePEM))
	if block == nil {
		return nil, errors.New("signing key: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		k.Precompute()
		return &Signer{key: k}, nil
	case *ecdsa.PrivateKey:
		return &Signer{key: k}, nil
	}
	return nil, fmt.Errorf("signing key: unsupported type %T", k)
}

// Sign returns the base64 SHA-256 signature of msg.
func (s *Signer) Sign(msg []byte) (string, error) {
	sum := sha256.Sum256(msg)
	sig, err := s.key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Verify checks a base64 signature of msg against a SPKI public key PEM.
func Verify(publicPEM string, msg []byte, sigB64 string) error {
	block, _ := pem.Decode([]byte(publicPEM))
	if block == nil {
		return errors.New("public key: no PEM block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("public key: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	sum := sha256.Sum256(msg)
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, sum[:], sig) {
			return errors.New("ecdsa: verification error")
		}
		return nil
	}
	return fmt.Errorf("public key: unsupported type %T", pub)
}
