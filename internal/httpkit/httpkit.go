// Package httpkit holds what both HTTP APIs share: the one table from wire code to
// HTTP status, panic recovery, request bodies (size limits, Content-Type) and error
// logging.
package httpkit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"

	"github.com/licensor/licensor/internal/licensing"
)

// statuses maps every wire code licensor produces to its HTTP status. Codes not
// listed are 400: the License API documents client errors as 400.
var statuses = map[string]int{
	licensing.ENotFound:         http.StatusNotFound,
	licensing.EMethodNotAllowed: http.StatusMethodNotAllowed,
	licensing.ERequestTooLarge:  http.StatusRequestEntityTooLarge,
	licensing.ERequestTimeout:   http.StatusRequestTimeout,
	licensing.EUnsupportedMedia: http.StatusUnsupportedMediaType,
	licensing.EUnauthorized:     http.StatusUnauthorized,
	licensing.EOrderIDExists:    http.StatusConflict,
	licensing.EConflict:         http.StatusConflict,
	licensing.ERateLimited:      http.StatusTooManyRequests,
	licensing.EInternal:         http.StatusInternalServerError,
}

// Status returns the HTTP status for a wire code.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusBadRequest
}

// AsError turns any error into an *licensing.Error. A foreign error becomes
// internal_error and is logged once here with its detail; the client sees no detail.
func AsError(log *slog.Logger, r *http.Request, err error) *licensing.Error {
	var e *licensing.Error
	if errors.As(err, &e) {
		return e
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return licensing.Errorf(licensing.ERequestTooLarge, "request body larger than %d bytes", mbe.Limit)
	}
	// The server's read timeout ran out while the body was still arriving: the
	// client's doing, not an internal error (and no error log a slow client can fill).
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return licensing.Errorf(licensing.ERequestTimeout, "request body not received in time")
	}
	// The client went away while the request waited (for a signing slot, a connection,
	// the writer): nobody reads this answer, and under overload an error line per such
	// request would drown the log.
	if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		log.Info("request ended before its answer", "method", r.Method, "path", r.URL.Path, "err", err)
		return licensing.Errorf(licensing.EInternal, "Internal server error")
	}
	log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	return licensing.Errorf(licensing.EInternal, "Internal server error")
}

// Recover answers a panic with an internal error written by onError instead of
// dropping the connection, and logs the stack.
func Recover(log *slog.Logger, next http.Handler, onError func(http.ResponseWriter, *http.Request, *licensing.Error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				onError(w, r, licensing.Errorf(licensing.EInternal, "Internal server error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// CheckContentType refuses a request body in a media type the API does not read with
// unsupported_media_type (415). accept gets the Content-Type's media type lower-cased,
// without its parameters (charset …) and surrounding space: "" when there is none.
func CheckContentType(r *http.Request, accept func(mediaType string) bool) error {
	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if accept(strings.ToLower(strings.TrimSpace(mt))) {
		return nil
	}
	return licensing.Errorf(licensing.EUnsupportedMedia, "Content-Type must be application/json")
}

// IsJSON accepts application/json only.
func IsJSON(mediaType string) bool { return mediaType == "application/json" }

// ReadBody reads a request body. A body that cannot be read is the client's fault, not
// an internal error: one over the MaxBytesReader limit stays *http.MaxBytesError and a
// read timeout stays a deadline error (AsError maps both); any other failure — a body
// cut short of its Content-Length, broken chunked framing — is invalid_json.
func ReadBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err == nil {
		return b, nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, err
	}
	return nil, licensing.Errorf(licensing.EInvalidJSON, "request body could not be read completely: %v", err)
}

type schemeKey struct{}

// WithScheme records the scheme the client used, as a trusted proxy said it.
func WithScheme(r *http.Request, scheme string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), schemeKey{}, scheme))
}

// Scheme is the scheme the client used: a trusted proxy's word (WithScheme), else the
// connection's. (Never r.URL.Scheme, which a request line in absolute form sets.)
func Scheme(r *http.Request) string {
	if s, ok := r.Context().Value(schemeKey{}).(string); ok {
		return s
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
