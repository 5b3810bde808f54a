package manageapi

import (
	"net/http/httptest"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

// A limit above 100 is read as 100, however many digits it has; one that is not a
// positive integer, and an offset outside 0…maxOffset, are refused naming the parameter.
func TestPage(t *testing.T) {
	tests := []struct {
		query string
		want  licensing.Page
		field string // refused naming it
	}{
		{"", licensing.Page{Limit: 20}, ""},
		{"limit=1&offset=3", licensing.Page{Limit: 1, Offset: 3}, ""},
		{"limit=100", licensing.Page{Limit: 100}, ""},
		{"limit=101", licensing.Page{Limit: 100}, ""},
		{"limit=9223372036854775807", licensing.Page{Limit: 100}, ""},
		{"limit=9223372036854775808", licensing.Page{Limit: 100}, ""},
		{"limit=99999999999999999999999999999999", licensing.Page{Limit: 100}, ""},
		{"limit=0", licensing.Page{}, "limit"},
		{"limit=-1", licensing.Page{}, "limit"},
		{"limit=-99999999999999999999", licensing.Page{}, "limit"},
		{"limit=1e3", licensing.Page{}, "limit"},
		{"limit=x", licensing.Page{}, "limit"},
		{"offset=1099511627776", licensing.Page{Limit: 20, Offset: maxOffset}, ""},
		{"offset=1099511627777", licensing.Page{}, "offset"},
		{"offset=99999999999999999999", licensing.Page{}, "offset"},
		{"offset=-1", licensing.Page{}, "offset"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, err := page(httptest.NewRequest("GET", "/api/v1/licenses/?"+tt.query, nil))
			if tt.field != "" {
				e, ok := err.(*licensing.Error)
				if !ok || e.Code != licensing.EValidation || e.Field != tt.field {
					t.Fatalf("page = %+v, %v; want a validation error naming %s", got, err, tt.field)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("page = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
