package loadgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/licensor/licensor/client"
)

// Device is one seeded license activated on one hardware id. Make it with
// newDevice, which fills in the request parts made once (prefix, query).
type Device struct {
	Index      int
	LicenseKey string
	HardwareID string
	product    string
	prefix     []byte // `{"hardware_id":…,"product":…,"license_key":…` for JSON bodies
	query      string // the identity as GET parameters, encoded
}

func newDevice(i int, product, key, hw string) Device {
	d := Device{Index: i, LicenseKey: key, HardwareID: hw, product: product}
	b, _ := json.Marshal(client.Identity{Product: product, HardwareID: hw, LicenseKey: key})
	d.prefix = b[:len(b)-1] // drop the closing brace
	d.query = d.identity().Query().Encode()
	return d
}

func (d *Device) identity() client.Identity {
	return client.Identity{Product: d.product, HardwareID: d.HardwareID, LicenseKey: d.LicenseKey}
}

// identityBody is the device's identity as a JSON object (activate and deactivate bodies).
func (d *Device) identityBody() []byte {
	b := make([]byte, 0, len(d.prefix)+1)
	return append(append(b, d.prefix...), '}')
}

// Request is one License API call a workload wants sent.
type Request struct {
	Method   string
	Endpoint string // e.g. "track_device_variables", relative to /api/v4/
	Query    string // GET parameters, encoded ("": none)
	Body     []byte // JSON body (nil: none)
	// Op names what the request does ("check", "deactivate", …); results are also
	// broken down by it.
	Op string
	// Unsigned: a 200 answer carries no LicenseSignature (deactivate_license answers
	// a bare string). Such answers are not signature samples; Verify checks every one.
	Unsigned bool
	// Verify checks what a 200 body says beyond its LicenseSignature header (e.g. the
	// v1 license_signature) on sampled answers (nil: nothing). Errors wrapping
	// client.ErrLicenseSignature* count as bad_signature.
	Verify func(c *client.Client, d *Device, body []byte) error
}

// Workload decides what each request of a run is. A run gives every worker a
// Session of its own over its share of the devices.
type Workload interface {
	// Name is the --workload value.
	Name() string
	// ActivationVars are sent with each device's activation, so a run starts from
	// a known state (nil: none).
	ActivationVars(d *Device) client.Vars
	// OwnDevices is how many devices each worker needs that no other worker
	// touches: workloads that change a device's activation state keep it per
	// worker. 0: when there are fewer devices than workers, workers share them.
	OwnDevices() int
	// NewSession returns the request stream of worker over devs (its own when
	// OwnDevices() > 0, all of them activated); seed seeds any randomness.
	NewSession(worker int, devs []*Device, seed uint64) Session
}

// Session is one worker's stream of requests; only that worker's goroutine uses it.
type Session interface {
	// Next returns the next request and the device it is about; seq is unique
	// across the run (all workers).
	Next(seq uint64) (*Device, Request)
	// Answered reports how the request Next returned last ended: the error code,
	// "" for success.
	Answered(code string)
}

// WorkloadOptions parameterise the built-in workloads.
type WorkloadOptions struct {
	Variables int // variables per track_device_variables request
}

// workloads are the built-in workloads by name. A new workload is one entry here.
var workloads = map[string]func(WorkloadOptions) Workload{
	"track-changing": func(o WorkloadOptions) Workload {
		t := trackOp{op: "track-changing", prefix: "var", vars: o.Variables, changing: true}
		return &simpleWorkload{name: "track-changing", vars: o.Variables, activation: steadyVars(o.Variables), build: t.request}
	},
	"track-steady": func(o WorkloadOptions) Workload {
		t := trackOp{op: "track-steady", prefix: "var", vars: o.Variables}
		return &simpleWorkload{name: "track-steady", vars: o.Variables, activation: steadyVars(o.Variables), build: t.request}
	},
	"check": func(WorkloadOptions) Workload { return &simpleWorkload{name: "check", build: checkRequest} },
	"get-variables": func(o WorkloadOptions) Workload {
		g := getVariablesOp{vars: o.Variables}
		g.verify = g.verifyBody
		return &simpleWorkload{name: "get-variables", activation: steadyVars(o.Variables), exact: true, build: g.request}
	},
	"activate-churn": func(WorkloadOptions) Workload { return churnWorkload{} },
	"mixed":          func(o WorkloadOptions) Workload { return newMixed(o) },
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
	if o.Variables < 1 {
		o.Variables = DefaultVariables
	}
	return mk(o), nil
}

// variableCounter is implemented by workloads that send variables, for the report.
type variableCounter interface{ VariablesPerRequest() int }

// steadyVars returns n variables var0… with the values track-steady sends, so
// that steady tracking never changes a value.
func steadyVars(n int) func(*Device) client.Vars {
	return func(*Device) client.Vars {
		vs := make(client.Vars, n)
		for i := range vs {
			name, value := SteadyVariable(i)
			vs[i] = client.Var{Name: name, Value: value}
		}
		return vs
	}
}

func steadyValue(i int) string { return "steady-" + strconv.Itoa(i) }

// simpleWorkload sends one kind of request, going round the worker's devices.
type simpleWorkload struct {
	name       string
	vars       int                       // variables per request (for the report; 0: none)
	activation func(*Device) client.Vars // nil: activate without variables
	exact      bool                      // a device must hold exactly the activation variables
	build      func(*Device, uint64) Request
}

func (w *simpleWorkload) Name() string    { return w.name }
func (w *simpleWorkload) OwnDevices() int { return 0 }

// ExactVariables reports whether each device must hold exactly its activation
// variables (a pre-seeded fleet with more fails the run's checks).
func (w *simpleWorkload) ExactVariables() bool { return w.exact }

// VariablesPerRequest is the number of variables each request carries.
func (w *simpleWorkload) VariablesPerRequest() int { return w.vars }

func (w *simpleWorkload) ActivationVars(d *Device) client.Vars {
	if w.activation == nil {
		return nil
	}
	return w.activation(d)
}

func (w *simpleWorkload) NewSession(_ int, devs []*Device, _ uint64) Session {
	return &roundRobin{devs: devs, build: w.build}
}

// roundRobin goes round its devices with one kind of request.
type roundRobin struct {
	devs  []*Device
	n     int
	build func(*Device, uint64) Request
}

func (s *roundRobin) next() *Device {
	d := s.devs[s.n%len(s.devs)]
	s.n++
	return d
}

func (s *roundRobin) Next(seq uint64) (*Device, Request) {
	d := s.next()
	return d, s.build(d, seq)
}

func (s *roundRobin) Answered(string) {}

// trackOp posts track_device_variables with vars variables named prefix0…;
// changing: every request carries values no request sent before (so every
// request writes), otherwise the steady values (which the device was activated
// with when prefix is "var").
type trackOp struct {
	op       string
	prefix   string
	vars     int
	changing bool
}

func (t trackOp) request(d *Device, seq uint64) Request {
	b := make([]byte, 0, len(d.prefix)+16+t.vars*24)
	b = append(b, d.prefix...)
	b = append(b, `,"variables":{`...)
	for i := range t.vars {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, t.prefix...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `":"`...)
		if t.changing {
			b = strconv.AppendUint(b, seq, 10)
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(i), 10)
		} else {
			b = append(b, steadyValue(i)...)
		}
		b = append(b, '"')
	}
	b = append(b, "}}"...)
	return Request{Method: http.MethodPost, Endpoint: "track_device_variables", Body: b, Op: t.op, Verify: verifyTracked}
}

func verifyTracked(_ *client.Client, _ *Device, body []byte) error {
	var vs []client.TrackedVariable
	if err := json.Unmarshal(body, &vs); err != nil || vs == nil {
		return fmt.Errorf("%w: track_device_variables: want an array: %.100q", client.ErrUnexpectedResponse, body)
	}
	return nil
}

// checkRequest is check_license; sampled answers also have their v1
// license_signature verified.
func checkRequest(d *Device, _ uint64) Request {
	return Request{Method: http.MethodGet, Endpoint: "check_license", Query: d.query, Op: "check", Verify: verifyLicense}
}

// verifyLicense checks the v1 license_signature of a license object (check and
// activate answers).
func verifyLicense(c *client.Client, d *Device, body []byte) error {
	var l struct {
		LicenseSignature string  `json:"license_signature"`
		ValidityPeriod   *string `json:"validity_period"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return fmt.Errorf("%w: license object: %v", client.ErrUnexpectedResponse, err)
	}
	return c.VerifyLicenseSignature(l.LicenseSignature, d.HardwareID, d.LicenseKey, "", l.ValidityPeriod)
}

// getVariablesOp is get_device_variables on a device activated with the steady
// variables; sampled answers must list exactly those.
type getVariablesOp struct {
	vars   int
	verify func(*client.Client, *Device, []byte) error // verifyBody, bound once
}

func (g *getVariablesOp) request(d *Device, _ uint64) Request {
	return Request{Method: http.MethodGet, Endpoint: "get_device_variables", Query: d.query, Op: "get-variables", Verify: g.verify}
}

func (g *getVariablesOp) verifyBody(_ *client.Client, _ *Device, body []byte) error {
	var vs []client.DeviceVariable
	if err := json.Unmarshal(body, &vs); err != nil || vs == nil {
		return fmt.Errorf("%w: get_device_variables: want an array: %.100q", client.ErrUnexpectedResponse, body)
	}
	if len(vs) != g.vars {
		return fmt.Errorf("%w: get_device_variables: %d variables, want %d", client.ErrUnexpectedResponse, len(vs), g.vars)
	}
	for _, v := range vs {
		i, err := strconv.Atoi(strings.TrimPrefix(v.Variable, "var"))
		if err != nil || !strings.HasPrefix(v.Variable, "var") || v.Value != steadyValue(i) {
			return fmt.Errorf("%w: get_device_variables: unexpected variable %q = %q", client.ErrUnexpectedResponse, v.Variable, v.Value)
		}
	}
	return nil
}

// churnWorkload alternately deactivates and re-activates each of a worker's
// devices (licenses of one activation, so every activation takes the seat the
// deactivation freed).
type churnWorkload struct{}

func (churnWorkload) Name() string                       { return "activate-churn" }
func (churnWorkload) ActivationVars(*Device) client.Vars { return nil }
func (churnWorkload) OwnDevices() int                    { return 1 }

func (churnWorkload) NewSession(_ int, devs []*Device, _ uint64) Session { return newChurn(devs) }

// churn is a worker's view of which of its devices are active. It starts with
// all of them active (as seeded) and believes the server: a success flips the
// device, and a deactivation answered device_not_found (e.g. after a timeout
// whose deactivation went through) means the device is already inactive. A
// re-activation of an active device succeeds, so a timed-out activation heals too.
type churn struct {
	devs   []*Device
	active []bool
	n      int
	last   int // index of the device of the request in flight
	lastOn bool
}

func newChurn(devs []*Device) *churn {
	c := &churn{devs: devs, active: make([]bool, len(devs))}
	for i := range c.active {
		c.active[i] = true
	}
	return c
}

func (c *churn) Next(uint64) (*Device, Request) {
	i := c.n % len(c.devs)
	c.n++
	d := c.devs[i]
	c.last, c.lastOn = i, !c.active[i]
	if c.lastOn {
		return d, Request{Method: http.MethodPost, Endpoint: "activate_license", Body: d.identityBody(), Op: "activate", Verify: verifyLicense}
	}
	return d, Request{Method: http.MethodPost, Endpoint: "deactivate_license", Body: d.identityBody(), Op: "deactivate",
		Unsigned: true, Verify: verifyDeactivated}
}

func (c *churn) Answered(code string) {
	switch {
	case code == "":
		c.active[c.last] = c.lastOn
	case !c.lastOn && code == "device_not_found":
		c.active[c.last] = false
	}
}

func verifyDeactivated(_ *client.Client, _ *Device, body []byte) error {
	if b := strings.TrimSpace(string(body)); b != client.Deactivated && b != `"`+client.Deactivated+`"` {
		return fmt.Errorf("%w: deactivate_license: %.100q", client.ErrUnexpectedResponse, body)
	}
	return nil
}

// mixedShare is one kind of request of the mixed workload and its share of the
// requests, in percent.
type mixedShare struct {
	op      string
	percent int
}

// mixedShares is the mix: mostly checks, some tracking, a little churn.
var mixedShares = []mixedShare{
	{"check", 70},
	{"track-steady", 20},
	{"track-changing", 5},
	{"activate-churn", 5},
}

// mixedWorkload picks each request's kind at random (seeded, per worker) by
// mixedShares. Each worker's devices are split: about a tenth (at least one)
// only ever churn, the rest are only ever checked and tracked, so no request
// meets a device another kind of request deactivated. Changing values go to
// variables of their own (chg0…), so steady tracking stays steady.
type mixedWorkload struct {
	vars     int
	steady   trackOp
	changing trackOp
}

func newMixed(o WorkloadOptions) *mixedWorkload {
	return &mixedWorkload{
		vars:     o.Variables,
		steady:   trackOp{op: "track-steady", prefix: "var", vars: o.Variables},
		changing: trackOp{op: "track-changing", prefix: "chg", vars: o.Variables, changing: true},
	}
}

func (w *mixedWorkload) Name() string    { return "mixed" }
func (w *mixedWorkload) OwnDevices() int { return 2 } // one to churn, one for the rest

// VariablesPerRequest is the number of variables each track request carries.
func (w *mixedWorkload) VariablesPerRequest() int { return w.vars }

func (w *mixedWorkload) ActivationVars(d *Device) client.Vars { return steadyVars(w.vars)(d) }

func (w *mixedWorkload) NewSession(worker int, devs []*Device, seed uint64) Session {
	nChurn := max(1, len(devs)/10)
	return &mixedSession{
		w:     w,
		rng:   rand.New(rand.NewPCG(seed, uint64(worker))),
		plain: roundRobin{devs: devs[nChurn:]},
		churn: newChurn(devs[:nChurn]),
	}
}

type mixedSession struct {
	w         *mixedWorkload
	rng       *rand.Rand
	plain     roundRobin // checked and tracked devices
	churn     *churn     // churned devices
	lastChurn bool
}

func (s *mixedSession) Next(seq uint64) (*Device, Request) {
	r := s.rng.IntN(100)
	op := mixedShares[len(mixedShares)-1].op
	for _, m := range mixedShares {
		if r < m.percent {
			op = m.op
			break
		}
		r -= m.percent
	}
	s.lastChurn = op == "activate-churn"
	if s.lastChurn {
		return s.churn.Next(seq)
	}
	d := s.plain.next()
	switch op {
	case "check":
		return d, checkRequest(d, seq)
	case "track-steady":
		return d, s.w.steady.request(d, seq)
	default:
		return d, s.w.changing.request(d, seq)
	}
}

func (s *mixedSession) Answered(code string) {
	if s.lastChurn {
		s.churn.Answered(code)
	}
}
