// Package client is a Go client of the License API v4 as served by licensor (and
// any other server speaking the same wire protocol).
//
// Every request is authenticated with the api key + shared key HMAC scheme, every
// successful JSON response is checked against the pinned public key (the
// LicenseSignature header over the raw body bytes), and license objects are also
// checked for their in-body v1 license_signature. A response that fails either
// check is an error: its data must not be trusted.
package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/licensor/licensor/internal/signing"
)

// Errors returned when a response cannot be trusted or is not what the protocol
// promises. Test with errors.Is; the returned errors wrap these with detail.
var (
	// ErrResponseSignatureMissing: a 200 JSON response carried no LicenseSignature header.
	ErrResponseSignatureMissing = errors.New("client: LicenseSignature header missing")
	// ErrResponseSignatureInvalid: the LicenseSignature header does not verify over the body.
	ErrResponseSignatureInvalid = errors.New("client: LicenseSignature header does not verify")
	// ErrLicenseSignatureMissing: a license object carried no license_signature.
	ErrLicenseSignatureMissing = errors.New("client: license_signature missing")
	// ErrLicenseSignatureInvalid: the in-body v1 license_signature does not verify.
	ErrLicenseSignatureInvalid = errors.New("client: license_signature does not verify")
	// ErrMalformedError: a non-2xx response whose body is not {"status","code","message"}.
	ErrMalformedError = errors.New("client: error response is not {status, code, message}")
	// ErrUnexpectedResponse: a 2xx response whose body is not what the endpoint returns.
	ErrUnexpectedResponse = errors.New("client: unexpected response body")
)

// APIError is an error answer of the License API.
type APIError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("license api: %d %s: %s", e.Status, e.Code, e.Message)
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the *http.Client used for requests.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithClock sets the clock that dates requests (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// Client talks to one License API with one api key. It is safe for concurrent use.
type Client struct {
	base      string // ends without "/"; requests go to base + "/" + endpoint
	apiKey    string
	sharedKey string
	pub       crypto.PublicKey
	hc        *http.Client
	now       func() time.Time

	// auth caches the headers of the current second: HMAC is cheap, but a load
	// generator sends thousands of requests per second with the same Date.
	auth atomic.Pointer[authCache]
}

type authCache struct {
	date, authorization string
}

var defaultHTTPClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 256
	return &http.Client{Transport: t, Timeout: 60 * time.Second}
}()

// New returns a client of the License API at baseURL. baseURL is either the API
// base (".../api/v4") or the server root, in which case "/api/v4" is appended.
// publicKeyPEM is the server's SPKI PEM public key (RSA, or ECDSA P-256).
func New(baseURL, apiKey, sharedKey string, publicKeyPEM []byte, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("client: invalid base URL %q", baseURL)
	}
	base := strings.TrimRight(baseURL, "/")
	if !strings.HasSuffix(base, "/api/v4") {
		base += "/api/v4"
	}
	if apiKey == "" || sharedKey == "" {
		return nil, errors.New("client: api key and shared key are required")
	}
	pub, err := ParsePublicKey(publicKeyPEM)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, apiKey: apiKey, sharedKey: sharedKey, pub: pub, hc: defaultHTTPClient, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// ParsePublicKey parses a PEM public key: SPKI ("PUBLIC KEY") holding RSA or ECDSA
// P-256, or PKCS#1 ("RSA PUBLIC KEY").
func ParsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("client: public key is not PEM")
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("client: unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("client: parse public key: %w", err)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return k, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("client: only ECDSA P-256 keys are supported")
		}
		return k, nil
	default:
		return nil, fmt.Errorf("client: unsupported public key type %T", pub)
	}
}

// VerifySignature checks a base64 signature made with SHA-256 over msg:
// RSA PKCS#1 v1.5 for RSA keys, ASN.1 DER for ECDSA keys.
func VerifySignature(pub crypto.PublicKey, msg []byte, sigB64 string) error {
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return fmt.Errorf("signature is not base64: %w", err)
	}
	sum := sha256.Sum256(msg)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, sum[:], sig) {
			return errors.New("ecdsa verification failed")
		}
		return nil
	default:
		return fmt.Errorf("unsupported public key type %T", pub)
	}
}

// Sign returns the Authorization signature for a Date header value:
// base64(HMAC-SHA256(sharedKey, "licenseSpring\ndate: " + dateHeader)).
func Sign(sharedKey, dateHeader string) string {
	m := hmac.New(sha256.New, []byte(sharedKey))
	m.Write([]byte("licenseSpring\ndate: "))
	m.Write([]byte(dateHeader))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// AuthHeaders returns the Date and Authorization header values for a request made at date.
func (c *Client) AuthHeaders(date time.Time) (dateHeader, authorization string) {
	dateHeader = date.UTC().Format(http.TimeFormat)
	if a := c.auth.Load(); a != nil && a.date == dateHeader {
		return a.date, a.authorization
	}
	authorization = `algorithm="hmac-sha256",headers="date",signature="` + Sign(c.sharedKey, dateHeader) + `",apikey="` + c.apiKey + `"`
	c.auth.Store(&authCache{date: dateHeader, authorization: authorization})
	return dateHeader, authorization
}

// PublicKey returns the pinned public key.
func (c *Client) PublicKey() crypto.PublicKey { return c.pub }

// BaseURL returns the API base the client sends to (ending in /api/v4).
func (c *Client) BaseURL() string { return c.base }

// Response is a raw License API answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Signature returns the LicenseSignature header.
func (r *Response) Signature() string { return r.Header.Get("LicenseSignature") }

// maxBody bounds how much of a response is read.
const maxBody = 64 << 20

// maxPresize bounds the buffer readBody sizes from a Content-Length before any of the
// body has come (License API answers are a few KB).
const maxPresize = 64 << 10

// Do sends one authenticated request and returns the answer whatever its status.
// GET-like requests carry query; body (nil for none) is sent as JSON — []byte,
// json.RawMessage and string bodies are sent verbatim, anything else is marshalled
// (without HTML escaping). Do verifies nothing; see VerifyResponse and ErrorOf.
func (c *Client) Do(ctx context.Context, method, endpoint string, query url.Values, body any) (*Response, error) {
	u := c.base + "/" + strings.TrimLeft(endpoint, "/")
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			rd = bytes.NewReader(b)
		case json.RawMessage:
			rd = bytes.NewReader(b)
		case string:
			rd = strings.NewReader(b)
		default:
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(body); err != nil {
				return nil, fmt.Errorf("client: encode %s body: %w", endpoint, err)
			}
			rd = bytes.NewReader(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	date, auth := c.AuthHeaders(c.now())
	req.Header.Set("Date", date)
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, endpoint, err)
	}
	defer resp.Body.Close()
	b, err := readBody(resp)
	if err != nil {
		return nil, fmt.Errorf("client: read %s response: %w", endpoint, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// readBody reads a response's body, up to maxBody bytes, into a buffer sized to its
// Content-Length where the server gave one (io.ReadAll would grow one step by step),
// up to maxPresize: a header is no promise of a body, and memory grows with what comes.
func readBody(resp *http.Response) ([]byte, error) {
	n := int64(0)
	if cl := resp.ContentLength; cl > 0 {
		n = min(cl, maxPresize)
	}
	buf := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead)) // ReadFrom keeps MinRead free
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, maxBody))
	return buf.Bytes(), err
}

// VerifyResponse checks the LicenseSignature header of r over its raw body bytes.
func (c *Client) VerifyResponse(r *Response) error {
	sig := r.Signature()
	if sig == "" {
		return ErrResponseSignatureMissing
	}
	if err := VerifySignature(c.pub, r.Body, sig); err != nil {
		return fmt.Errorf("%w: %v", ErrResponseSignatureInvalid, err)
	}
	return nil
}

// LicenseSigningString is the message of the v1 license_signature:
// lowercase(hardware_id + "#" + id + "#" + validity) where id is the username
// up to its first "|" (user-based) or the license key, and validity is the
// validity_period as received ("" when null). It is lowercased as JavaScript's
// toLowerCase and Python's str.lower() do (İ becomes "i̇", a word's final Σ ς).
func LicenseSigningString(hardwareID, licenseKey, username, validity string) string {
	return signing.V1Message(hardwareID, licenseKey, username, validity)
}

// VerifyLicenseSignature checks a v1 license_signature.
func (c *Client) VerifyLicenseSignature(sig, hardwareID, licenseKey, username string, validity *string) error {
	if sig == "" {
		return ErrLicenseSignatureMissing
	}
	v := ""
	if validity != nil {
		v = *validity
	}
	if err := VerifySignature(c.pub, []byte(LicenseSigningString(hardwareID, licenseKey, username, v)), sig); err != nil {
		return fmt.Errorf("%w: %v", ErrLicenseSignatureInvalid, err)
	}
	return nil
}

// ErrorOf returns nil for a 2xx response, an *APIError for a well-formed error
// answer and an error wrapping ErrMalformedError otherwise.
func ErrorOf(r *Response) error {
	if r.Status >= 200 && r.Status < 300 {
		return nil
	}
	e, err := ParseAPIError(r.Body)
	if err != nil {
		return fmt.Errorf("%w: HTTP %d: %v; body %.200q", ErrMalformedError, r.Status, err, r.Body)
	}
	if e.Status != r.Status {
		return fmt.Errorf("%w: HTTP %d but body status %d; body %.200q", ErrMalformedError, r.Status, e.Status, r.Body)
	}
	return e
}

// ParseAPIError parses an error body that must be exactly {"status","code","message"}
// with an integer status ≥ 400 and a non-empty code.
func ParseAPIError(body []byte) (*APIError, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if len(m) != 3 {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		return nil, fmt.Errorf("want exactly keys status, code, message; got %q", keys)
	}
	var e APIError
	if err := json.Unmarshal(m["status"], &e.Status); err != nil || m["status"] == nil {
		return nil, fmt.Errorf("status is not an integer")
	}
	if err := json.Unmarshal(m["code"], &e.Code); err != nil || m["code"] == nil || string(m["code"]) == "null" || e.Code == "" {
		return nil, fmt.Errorf("code is not a non-empty string")
	}
	if err := json.Unmarshal(m["message"], &e.Message); err != nil || m["message"] == nil || string(m["message"]) == "null" {
		return nil, fmt.Errorf("message is not a string")
	}
	if e.Status < 400 {
		return nil, fmt.Errorf("status %d < 400", e.Status)
	}
	return &e, nil
}

// call sends a request, turns error answers into errors and verifies the
// LicenseSignature header of the 200 answer.
func (c *Client) call(ctx context.Context, method, endpoint string, query url.Values, body any) (*Response, error) {
	r, err := c.Do(ctx, method, endpoint, query, body)
	if err != nil {
		return nil, err
	}
	if err := ErrorOf(r); err != nil {
		return r, err
	}
	if r.Status != http.StatusOK {
		return r, fmt.Errorf("%w: %s: HTTP %d", ErrUnexpectedResponse, endpoint, r.Status)
	}
	if err := c.VerifyResponse(r); err != nil {
		return r, fmt.Errorf("%s: %w", endpoint, err)
	}
	return r, nil
}
