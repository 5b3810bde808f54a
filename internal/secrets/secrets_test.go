package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const master = "0123456789abcdef0123456789abcdef"

func TestSealOpen(t *testing.T) {
	b, err := New(master)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(master + "x")
	s1 := b.Seal("shared-secret", "api_key:k1")
	s2 := b.Seal("shared-secret", "api_key:k1")
	if !IsSealed(s1) || strings.Contains(s1, "shared-secret") {
		t.Fatalf("sealed value %q", s1)
	}
	if s1 == s2 {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	tests := []struct {
		name    string
		box     *Box
		stored  string
		context string
		want    string
		err     error
	}{
		{"round trip", b, s1, "api_key:k1", "shared-secret", nil},
		{"plaintext passes through", b, "legacy", "api_key:k1", "legacy", nil},
		{"plaintext without a key", nil, "legacy", "x", "legacy", nil},
		{"other row's context", b, s1, "api_key:k2", "", ErrWrongMasterKey},
		{"other master key", other, s1, "api_key:k1", "", ErrWrongMasterKey},
		{"no master key", nil, s1, "api_key:k1", "", ErrNoMasterKey},
		{"truncated", b, s1[:len(s1)-8], "api_key:k1", "", ErrWrongMasterKey},
		{"not base64", b, prefix + "!!!", "api_key:k1", "", ErrWrongMasterKey},
		{"empty sealed", b, prefix, "api_key:k1", "", ErrWrongMasterKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.box.Open(tt.stored, tt.context)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("Open = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
	var nilBox *Box
	if got := nilBox.Seal("p", "c"); got != "p" || nilBox.Enabled() {
		t.Fatalf("nil box sealed to %q", got)
	}
}

func TestNewRejectsShortKeys(t *testing.T) {
	for _, k := range []string{"", "short", strings.Repeat("a", MinMasterKeyLen-1), "  " + strings.Repeat("a", 20) + "  "} {
		if _, err := New(k); err == nil {
			t.Errorf("New(%q) accepted a short key", k)
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("LICENSOR_MASTER_KEY", "")
	t.Setenv("LICENSOR_MASTER_KEY_FILE", "")
	if b, err := FromEnv(""); b != nil || err != nil {
		t.Fatalf("no configuration: %v, %v", b, err)
	}
	t.Setenv("LICENSOR_MASTER_KEY", master)
	b, err := FromEnv("")
	if err != nil || b == nil {
		t.Fatalf("env key: %v, %v", b, err)
	}
	file := filepath.Join(t.TempDir(), "key")
	os.WriteFile(file, []byte(master+"\n"), 0o600)
	if _, err := FromEnv(file); err == nil {
		t.Fatal("a key and a key file both set: accepted")
	}
	t.Setenv("LICENSOR_MASTER_KEY", "")
	fb, err := FromEnv(file)
	if err != nil || fb == nil {
		t.Fatalf("key file: %v", err)
	}
	// The file's trailing newline is not part of the key: both boxes agree.
	if got, err := fb.Open(b.Seal("v", "c"), "c"); err != nil || got != "v" {
		t.Fatalf("file and env keys differ: %q, %v", got, err)
	}
	if _, err := FromEnv(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing key file accepted")
	}
}
