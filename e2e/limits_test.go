package e2e

import (
	"strings"
	"testing"
)

// The variable limits and the body limit are flags of `serve`.
func TestLimitFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, c, err := initDB(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{dir: dir, db: db, creds: c, args: []string{
		"--max-variable-name", "4", "--max-variable-value", "3", "--max-variables-per-request", "2",
		"--max-variables-per-device", "3", "--max-body", "2048"}}
	if err := s.serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop() })
	f := newFixture(t, s, "license-key")
	id := f.keyID(f.keyLicense(1), "hw-limits")
	f.activate(id)

	tests := []struct {
		name string
		nv   []any
		code string
	}{
		{"name at limit", []any{"abcd", "1"}, ""},
		{"name over limit", []any{"abcde", "1"}, "validation_error"},
		{"value over limit", []any{"a", "1234"}, "validation_error"},
		{"too many in one request", []any{"a", "1", "b", "2", "c", "3"}, "validation_error"},
		{"fills the device", []any{"b", "1", "c", "2"}, ""},
		{"one more than the device holds", []any{"d", "1"}, "validation_error"},
	}
	for _, tt := range tests {
		_, err := f.c.TrackDeviceVariables(ctx(), trackReq(id, tt.nv...))
		if tt.code == "" {
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			continue
		}
		wantAPIErr(t, tt.name, err, 400, tt.code)
	}
	r, err := f.c.Do(ctx(), "POST", "track_device_variables", nil, []byte(`{"hardware_id":"`+strings.Repeat("x", 4096)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	wantRespErr(t, "body over --max-body", r, 413, "request_too_large")
}
