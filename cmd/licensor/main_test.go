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
