package main

import "testing"

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
		{"sqlite:a.db?x=1", "full", "sqlite:a.db?x=1&synchronous=full", false},
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
