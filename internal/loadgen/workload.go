package loadgen

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/licensor/licensor/client"
)

// Device is one seeded license activated on one hardware id.
type Device struct {
	Index      int
	LicenseKey string
	HardwareID string
	product    string
	prefix     []byte // `{"hardware_id":…,"product":…,"license_key":…` for JSON bodies
}

func newDevice(i int, product, key, hw string) Device {
	d := Device{Index: i, LicenseKey: key, HardwareID: hw, product: product}
	b, _ := json.Marshal(client.Identity{Product: product, HardwareID: hw, LicenseKey: key})
	d.prefix = b[:len(b)-1] // drop the closing brace
	return d
}

func (d *Device) identity() client.Identity {
	return client.Identity{Product: d.product, HardwareID: d.HardwareID, LicenseKey: d.LicenseKey}
}

// Request is one License API call a workload wants sent.
type Request struct {
	Method   string
	Endpoint string     // e.g. "track_device_variables", relative to /api/v4/
	Query    url.Values // GET parameters (nil: none)
	Body     []byte     // JSON body (nil: none)
}

// Workload decides what each request of a run is and how a sampled answer is
// checked beyond its LicenseSignature header. Implementations must be safe for
// concurrent use: every worker calls them.
type Workload interface {
	// Name is the --workload value.
	Name() string
	// ActivationVars are sent with each device's activation, so a run starts from
	// a known state (nil: none).
	ActivationVars(d *Device) client.Vars
	// Request returns the request with sequence number seq for device d; seq is
	// unique across the run (all workers).
	Request(d *Device, seq uint64) Request
	// VerifyBody checks what a 200 body signs itself (e.g. the v1 license_signature)
	// on sampled answers; the LicenseSignature header is already verified. Errors
	// wrapping client.ErrLicenseSignature* count as bad_signature.
	VerifyBody(c *client.Client, d *Device, body []byte) error
}

// WorkloadOptions parameterise the built-in workloads.
type WorkloadOptions struct {
	Variables int // variables per track_device_variables request
}

// workloads are the built-in workloads by name. A new workload is one entry here.
var workloads = map[string]func(WorkloadOptions) Workload{
	"track-changing": func(o WorkloadOptions) Workload {
		return &trackWorkload{name: "track-changing", vars: o.Variables, changing: true}
	},
	"track-steady": func(o WorkloadOptions) Workload { return &trackWorkload{name: "track-steady", vars: o.Variables} },
	"check":        func(WorkloadOptions) Workload { return checkWorkload{} },
}

// Workloads lists the names NewWorkload accepts.
func Workloads() []string {
	names := make([]string, 0, len(workloads))
	for n := range workloads {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NewWorkload returns the built-in workload called name.
func NewWorkload(name string, o WorkloadOptions) (Workload, error) {
	mk, ok := workloads[name]
	if !ok {
		return nil, fmt.Errorf("unknown workload %q (want one of %v)", name, Workloads())
	}
	return mk(o), nil
}

// variableCounter is implemented by workloads that send variables, for the report.
type variableCounter interface{ VariablesPerRequest() int }

// trackWorkload posts track_device_variables with vars variables named var0…;
// changing: every request carries values no request sent before (so every
// request writes), otherwise the values the device was activated with.
type trackWorkload struct {
	name     string
	vars     int
	changing bool
}

func (w *trackWorkload) Name() string { return w.name }

// VariablesPerRequest is the number of variables each request carries.
func (w *trackWorkload) VariablesPerRequest() int { return w.vars }

func (w *trackWorkload) ActivationVars(d *Device) client.Vars {
	vs := make(client.Vars, w.vars)
	for i := range vs {
		vs[i] = client.Var{Name: "var" + strconv.Itoa(i), Value: w.steadyValue(i)}
	}
	return vs
}

func (w *trackWorkload) steadyValue(i int) string { return "steady-" + strconv.Itoa(i) }

func (w *trackWorkload) Request(d *Device, seq uint64) Request {
	b := make([]byte, 0, len(d.prefix)+16+w.vars*24)
	b = append(b, d.prefix...)
	b = append(b, `,"variables":{`...)
	for i := range w.vars {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `"var`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `":"`...)
		if w.changing {
			b = strconv.AppendUint(b, seq, 10)
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(i), 10)
		} else {
			b = append(b, w.steadyValue(i)...)
		}
		b = append(b, '"')
	}
	b = append(b, "}}"...)
	return Request{Method: http.MethodPost, Endpoint: "track_device_variables", Body: b}
}

func (w *trackWorkload) VerifyBody(_ *client.Client, _ *Device, body []byte) error {
	var vs []client.TrackedVariable
	if err := json.Unmarshal(body, &vs); err != nil || vs == nil {
		return fmt.Errorf("%w: track_device_variables: want an array: %.100q", client.ErrUnexpectedResponse, body)
	}
	return nil
}

// checkWorkload sends check_license; sampled answers also have their v1
// license_signature verified.
type checkWorkload struct{}

func (checkWorkload) Name() string                       { return "check" }
func (checkWorkload) ActivationVars(*Device) client.Vars { return nil }

func (checkWorkload) Request(d *Device, _ uint64) Request {
	return Request{Method: http.MethodGet, Endpoint: "check_license", Query: d.identity().Query()}
}

func (checkWorkload) VerifyBody(c *client.Client, d *Device, body []byte) error {
	var l struct {
		LicenseSignature string  `json:"license_signature"`
		ValidityPeriod   *string `json:"validity_period"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return fmt.Errorf("%w: check_license: %v", client.ErrUnexpectedResponse, err)
	}
	return c.VerifyLicenseSignature(l.LicenseSignature, d.HardwareID, d.LicenseKey, "", l.ValidityPeriod)
}
