package httpkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

// TestAsErrorLogLevels: a failure is logged as an internal error unless it is the
// request's own context ending (the client went away), which is logged at info.
func TestAsErrorLogLevels(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name      string
		ctx       context.Context
		err       error
		wantLevel string
	}{
		{"store failure", context.Background(), errors.New("disk on fire"), "level=ERROR"},
		{"client gone", cancelled, fmt.Errorf("sign: %w", context.Canceled), "level=INFO"},
		{"someone else's cancellation", context.Background(), context.Canceled, "level=ERROR"},
	} {
		var logs bytes.Buffer
		r := httptest.NewRequest("GET", "/api/v4/check_license", nil).WithContext(tc.ctx)
		e := AsError(slog.New(slog.NewTextHandler(&logs, nil)), r, tc.err)
		if e.Code != licensing.EInternal {
			t.Errorf("%s: code %s", tc.name, e.Code)
		}
		if !strings.Contains(logs.String(), tc.wantLevel) {
			t.Errorf("%s: logged %q, want %s", tc.name, logs.String(), tc.wantLevel)
		}
	}
}
