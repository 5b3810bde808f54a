package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sqlite:licensor-data/licensor.db", "sqlite:licensor-data/licensor.db"},
		{"postgres://u:secret@h:5432/db", "postgres://u:xxxxx@h:5432/db"},
		{"postgres://u@h/db?password=hunter2&sslmode=disable", "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{"postgres://h/db", "postgres://h/db"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWithDurability(t *testing.T) {
	tests := []struct {
		url, mode, want string
		err             bool
	}{
		{"sqlite:a.db", "", "sqlite:a.db", false},
		{"sqlite:a.db", "full", "sqlite:a.db?synchronous=full", false},
		{"sqlite:a.db", "normal", "sqlite:a.db?synchronous=normal", false},
		{"sqlite:a.db?synchronous=full", "full", "sqlite:a.db?synchronous=full", false},
		{"sqlite:a.db?synchronous=normal", "full", "", true},
		{"sqlite:a.db?max_batch=1", "full", "sqlite:a.db?max_batch=1&synchronous=full", false},
		{"sqlite:a.db?x=1", "full", "", true}, // an unknown option is refused
		{"postgres://h/db", "full", "postgres://h/db", false},
		{"sqlite:a.db", "paranoid", "", true},
	}
	for _, tt := range tests {
		got, err := withDurability(tt.url, tt.mode)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("withDurability(%q, %q) = %q, %v; want %q, error %v", tt.url, tt.mode, got, err, tt.want, tt.err)
		}
	}
}

// No command takes positional arguments: one given is refused before the database is
// opened, so nothing is created or changed (`company create --name My Company` would
// have created "My").
func TestPositionalArgumentsRefused(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "l.db")
	tests := [][]string{
		{"serve", "--db", db, "--addr", "no-port", "extra"}, // without the check: a listen error, not a server
		{"init", "--db", db, "--json", "extra"},
		{"company", "create", "--db", db, "--name", "My", "Company"},
		{"public-key", "--db", db, "2"},
		{"migrate", "--db", db, "now"},
		{"seal-secrets", "--db", db, "all"},
		{"copy", "--from", db, "--to", "sqlite:" + filepath.Join(dir, "to.db"), "extra"},
		{"seed", "--db", db, "--product", "p", "--devices", "1", "extra"},
		{"bench", "--target", "http://127.0.0.1:1", "--fleet", "p", "--api-key", "a", "--shared-key", "s", "--public-key", "k", "extra"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args[:1], " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), "unexpected arguments") {
				t.Fatalf("run(%q) = %v, want unexpected arguments", args, err)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q", stdout.String())
			}
		})
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("files made by refused commands: %v, %v", entries, err)
	}
}
