package httpkit

import (
	"net/http/httptest"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

func TestCheckContentType(t *testing.T) {
	tests := []struct {
		name   string
		header []string // Content-Type values; nil: absent
		seen   string   // the media type accept is given
		jsonOK bool     // IsJSON accepts it
	}{
		{"absent", nil, "", false},
		{"empty", []string{""}, "", false},
		{"application/json", []string{"application/json"}, "application/json", true},
		{"upper case", []string{"APPLICATION/JSON"}, "application/json", true},
		{"charset", []string{"application/json; charset=utf-8"}, "application/json", true},
		{"charset without space, mixed case", []string{"Application/Json;Charset=UTF-8"}, "application/json", true},
		{"surrounding space", []string{"  application/json  ; charset=utf-8"}, "application/json", true},
		{"two headers, the first counts", []string{"application/json", "text/plain"}, "application/json", true},
		{"text/plain", []string{"text/plain"}, "text/plain", false},
		{"form", []string{"application/x-www-form-urlencoded"}, "application/x-www-form-urlencoded", false},
		{"multipart", []string{"multipart/form-data; boundary=b"}, "multipart/form-data", false},
		{"+json suffix", []string{"application/vnd.api+json"}, "application/vnd.api+json", false},
		{"jsonx", []string{"application/jsonx"}, "application/jsonx", false},
		{"parameters only", []string{"; charset=utf-8"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			if tt.header != nil {
				r.Header["Content-Type"] = tt.header
			}
			var seen string
			if err := CheckContentType(r, func(mt string) bool { seen = mt; return true }); err != nil || seen != tt.seen {
				t.Errorf("accept saw %q (%v), want %q", seen, err, tt.seen)
			}
			err := CheckContentType(r, IsJSON)
			if tt.jsonOK {
				if err != nil {
					t.Errorf("IsJSON refused: %v", err)
				}
				return
			}
			if licensing.ErrorCode(err) != licensing.EUnsupportedMedia || Status(licensing.ErrorCode(err)) != 415 {
				t.Errorf("got %v, want unsupported_media_type (415)", err)
			}
		})
	}
}
