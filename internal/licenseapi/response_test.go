package licenseapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

// TestLicenseBodyUserTotalActivations: the user object reports the state's count of
// the user's active devices; a key-based body has no user object.
func TestLicenseBodyUserTotalActivations(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	user := &licensing.LicenseUser{ID: 7, Email: "alice@example.com"}
	cases := []struct {
		name  string
		user  *licensing.LicenseUser
		count int64
		want  string // the user object as encoded; "" none
	}{
		{"no active device", user, 0, `{"id":7,"email":"alice@example.com","first_name":"","last_name":"","phone_number":"","is_initial_password":false,"max_activations":5,"allow_unlimited_activations":false,"total_activations":0}`},
		{"one active device", user, 1, `{"id":7,"email":"alice@example.com","first_name":"","last_name":"","phone_number":"","is_initial_password":false,"max_activations":5,"allow_unlimited_activations":false,"total_activations":1}`},
		{"two active devices", user, 2, `{"id":7,"email":"alice@example.com","first_name":"","last_name":"","phone_number":"","is_initial_password":false,"max_activations":5,"allow_unlimited_activations":false,"total_activations":2}`},
		{"key-based", nil, 0, ""},
	}
	for _, tc := range cases {
		st := licensing.LicenseState{License: licensing.License{ID: 3, LicenseKey: "K", MaxActivations: 5}, User: tc.user, UserActivations: tc.count}
		raw, err := json.Marshal(newLicenseBody(1, st, now))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, ok := fields["user"]
		if tc.want == "" {
			if ok || strings.Contains(string(raw), "total_activations") {
				t.Errorf("%s: body has a user: %s", tc.name, raw)
			}
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%s: user %s, want %s", tc.name, got, tc.want)
		}
	}
}
