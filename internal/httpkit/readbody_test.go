package httpkit

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/licensor/licensor/internal/licensing"
)

func TestReadBody(t *testing.T) {
	req := func(body io.Reader) *http.Request { return httptest.NewRequest("POST", "/", body) }

	b, err := ReadBody(req(strings.NewReader(`{"a":1}`)))
	if err != nil || string(b) != `{"a":1}` {
		t.Fatalf("whole body: %q, %v", b, err)
	}

	// Cut short or badly framed: the client's invalid_json.
	_, err = ReadBody(req(io.MultiReader(strings.NewReader(`{"a"`), iotest.ErrReader(io.ErrUnexpectedEOF))))
	if licensing.ErrorCode(err) != licensing.EInvalidJSON {
		t.Errorf("truncated body: %v, want invalid_json", err)
	}

	// Too large and too slow keep their own errors for AsError (413, 408).
	r := req(strings.NewReader(strings.Repeat("x", 100)))
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 10)
	_, err = ReadBody(r)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		t.Errorf("oversized body: %v, want *http.MaxBytesError", err)
	}
	_, err = ReadBody(req(iotest.ErrReader(os.ErrDeadlineExceeded)))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("timed-out body: %v, want os.ErrDeadlineExceeded", err)
	}
}
