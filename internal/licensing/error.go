package licensing

import (
	"errors"
	"fmt"
)

// Error is the one error type of licensor. Its Code is the wire code clients see
// (reference §5); the HTTP layers map codes to statuses in one table each.
type Error struct {
	Code    string
	Message string
	// Field names the offending request field, when there is one (management API bodies).
	Field string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Wire codes. Only codes licensor actually produces are listed.
const (
	ENotFound          = "not_found"
	EMethodNotAllowed  = "method_not_allowed"
	EValidation        = "validation_error"
	EMissingHeaders    = "missing_headers"
	EMissingParameters = "missing_parameters"
	EInvalidJSON       = "invalid_json"
	ERequestTooLarge   = "request_too_large"
	ERequestTimeout    = "request_timeout"
	EUnsupportedMedia  = "unsupported_media_type"
	ELicenseKeyReq     = "license_key_required"
	EDateHeaderDiff    = "date_header_diff"
	EAuthInvalidHeader = "authorization_invalid_headers"
	EAuthMissingParams = "authorization_missing_params"
	EHMACRequired      = "hmac_required"
	ESignatureMismatch = "signature_mismatch"
	EInvalidAPIKey     = "invalid_api_key"
	ERevokedAPIKey     = "revoked_api_key"
	EReadOnlyAPIKey    = "read_only_api_key"
	EUnknownProduct    = "unknown_product"
	ELicenseNotFound   = "license_not_found"
	ELicenseNotEnabled = "license_not_enabled"
	ELicenseNotActive  = "license_not_active"
	ELicenseExpired    = "license_expired"
	EDeviceNotFound    = "device_not_found"
	EBlacklisted       = "blacklisted"
	EMaxActivations    = "license_activated_max_times"
	EOrderIDExists     = "order_id_exists"
	EConflict          = "conflict"
	EUnauthorized      = "unauthorized"
	ERateLimited       = "rate_limited"
	EInternal          = "internal_error"
)

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns a validation error that names the offending field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EValidation, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the wire code of err, or EInternal for any foreign error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrNoRows is what a Store returns when a looked-up row does not exist.
var ErrNoRows = errors.New("licensing: no rows")

// ErrDuplicate is what a Store returns when a unique constraint rejects a write.
var ErrDuplicate = errors.New("licensing: duplicate")
