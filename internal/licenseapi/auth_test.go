package licenseapi

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

func TestParseAuthorization(t *testing.T) {
	ok := authParams{"hmac-sha256", "date", "c2ln", "key-1"}
	tests := []struct {
		name, header string
		want         authParams
		code         string
	}{
		{"node order", `algorithm="hmac-sha256",headers="date",signature="c2ln",apikey="key-1"`, ok, ""},
		{"python apiKey", `algorithm="hmac-sha256",headers="date",signature="c2ln",apiKey="key-1"`, ok, ""},
		{"any order and spaces", ` apikey="key-1" , signature = "c2ln",headers="date",  algorithm="hmac-sha256" `, ok, ""},
		{"upper-case names", `ALGORITHM="hmac-sha256",HEADERS="date",SIGNATURE="c2ln",APIKEY="key-1"`, ok, ""},
		{"missing apikey", `algorithm="hmac-sha256",headers="date",signature="c2ln"`, authParams{}, licensing.EAuthMissingParams},
		{"missing signature", `algorithm="hmac-sha256",headers="date",apikey="key-1"`, authParams{}, licensing.EAuthMissingParams},
		{"empty value", `algorithm="hmac-sha256",headers="date",signature="",apikey="key-1"`, authParams{}, licensing.EAuthMissingParams},
		{"not hmac", `algorithm="rsa-sha256",headers="date",signature="c2ln",apikey="key-1"`, authParams{}, licensing.EHMACRequired},
		{"other headers", `algorithm="hmac-sha256",headers="date host",signature="c2ln",apikey="key-1"`, authParams{}, licensing.EAuthInvalidHeader},
		{"bearer", `Bearer abc`, authParams{}, licensing.EAuthInvalidHeader},
		{"unquoted", `algorithm=hmac-sha256,headers="date",signature="c2ln",apikey="key-1"`, authParams{}, licensing.EAuthInvalidHeader},
		{"unterminated quote", `algorithm="hmac-sha256,headers="date"`, authParams{}, licensing.EAuthInvalidHeader},
		{"junk between pairs", `algorithm="hmac-sha256" x headers="date"`, authParams{}, licensing.EAuthInvalidHeader},
		{"empty", ``, authParams{}, licensing.EAuthMissingParams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAuthorization(tt.header)
			if tt.code != "" {
				if err == nil || err.Code != tt.code {
					t.Fatalf("err = %v, want code %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The worked example of the API-key authorization page, recomputed with
// `printf 'licenseSpring\ndate: %s' "$DATE" | openssl dgst -sha256 -hmac "$KEY" -binary | base64`.
func TestSignDateDocExample(t *testing.T) {
	got := base64.StdEncoding.EncodeToString(signDate("kw4qSnpSwXzgiv5yxYpZZmFEd9QAeiKTQ6OuyMja", "Tue, 07 Jun 2011 20:51:35 GMT"))
	if want := "UDysfR6MndUZReo07Y9r+vErn8vSxrnQ5ulit18iJ/Q="; got != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
}

// The remembered MAC is the one signDate computes, for the key and the Date asked,
// whatever was asked before.
func TestDateMACs(t *testing.T) {
	const d1, d2 = "Fri, 27 Nov 2026 10:00:00 GMT", "Fri, 27 Nov 2026 10:00:01 GMT"
	k1 := licensing.APIKey{ID: 1, SharedKey: "shared-1"}
	k2 := licensing.APIKey{ID: 2, SharedKey: "shared-2"}
	other := licensing.APIKey{ID: 1, SharedKey: "another"} // the same id with another key
	var c dateMACs
	for i, ask := range []struct {
		key  licensing.APIKey
		date string
	}{{k1, d1}, {k1, d1}, {k2, d1}, {k1, d2}, {k1, d1}, {other, d1}, {k1, d1}, {k2, d1}} {
		if got, want := c.of(ask.key, ask.date), signDate(ask.key.SharedKey, ask.date); !bytes.Equal(got, want) {
			t.Errorf("ask %d (key %d %q, %s): got the MAC of something else", i, ask.key.ID, ask.key.SharedKey, ask.date)
		}
	}
}
