package licenseapi

import (
	"context"

	"github.com/licensor/licensor/internal/licensing"
)

// identity reads the common identity fields plus the extra required names.
func (q *request) identity(alsoRequired ...string) (licensing.Identity, error) {
	return q.params.identity(alsoRequired...)
}

func (h *Handler) activate(ctx context.Context, q *request) (any, error) {
	id, err := q.identity()
	if err != nil {
		return nil, err
	}
	info, omitted, err := q.params.deviceInfo()
	if err != nil {
		return nil, err
	}
	vars, err := q.params.variables()
	if err != nil {
		return nil, err
	}
	st, err := h.svc.Activate(ctx, q.key.CompanyID, licensing.ActivateRequest{Identity: id, Info: info, Omitted: omitted,
		ExternalIP: clientIP(q.r), Variables: vars})
	if err != nil {
		return nil, err
	}
	b := newLicenseBody(q.key.CompanyID, st, h.svc.Now())
	b.Request = ptr("activation")
	b.Active = ptr(true)
	b.HardwareID = ptr(id.HardwareID)
	if st.User != nil {
		b.Username = ptr(id.Username)
	}
	b.Variables = trackedVariables(st.Variables)
	return h.withV1(ctx, q, b, st, id)
}

func (h *Handler) deactivate(ctx context.Context, q *request) (any, error) {
	id, err := q.identity()
	if err != nil {
		return nil, err
	}
	vars, err := q.params.variables()
	if err != nil {
		return nil, err
	}
	if err := h.svc.Deactivate(ctx, q.key.CompanyID, id, vars); err != nil {
		return nil, err
	}
	return textResponse("license_deactivated"), nil
}

func (h *Handler) check(ctx context.Context, q *request) (any, error) {
	id, err := q.identity()
	if err != nil {
		return nil, err
	}
	st, err := h.svc.Check(ctx, q.key.CompanyID, id)
	if err != nil {
		return nil, err
	}
	b := newLicenseBody(q.key.CompanyID, st, h.svc.Now())
	b.LicenseActive = ptr(st.License.Active)
	b.LicenseEnabled = ptr(st.License.Enabled)
	b.IsBorrowed = ptr(false)
	b.BorrowedUntil = jsonNull
	if _, err := h.withV1(ctx, q, b, st, id); err != nil {
		return nil, err
	}
	return deviceAnswer{b, slot{device: st.Device.ID, kind: licensing.SlotCheck}}, nil
}

// withV1 adds the v1 license_signature to a license body.
func (h *Handler) withV1(ctx context.Context, q *request, b *licenseBody, st licensing.LicenseState, id licensing.Identity) (any, error) {
	var err error
	b.LicenseSignature, err = h.signer.signFor(ctx, q.key.CompanyID, slot{device: st.Device.ID, kind: licensing.SlotLicenseSignature},
		[]byte(v1SigningString(id.HardwareID, st, id.Username)))
	return b, err
}

func (h *Handler) track(ctx context.Context, q *request) (any, error) {
	id, err := q.identity("variables")
	if err != nil {
		return nil, err
	}
	vars, err := q.params.variables()
	if err != nil {
		return nil, err
	}
	res, err := h.svc.Track(ctx, q.key.CompanyID, id, vars)
	if err != nil {
		return nil, err
	}
	// A changed value makes a new answer: nothing to recall, only to remember.
	return deviceAnswer{trackedVariables(res.Variables), slot{device: deviceOf(res.Variables), kind: licensing.SlotTrack, fresh: res.Changed}}, nil
}

func (h *Handler) getVariables(ctx context.Context, q *request) (any, error) {
	id, err := q.identity()
	if err != nil {
		return nil, err
	}
	vs, err := h.svc.GetVariables(ctx, q.key.CompanyID, id)
	if err != nil {
		return nil, err
	}
	out := make([]storedVariable, len(vs))
	for i, v := range vs {
		out[i] = storedVariable{ID: v.ID, CreatedAt: iso(v.CreatedAt), Variable: v.Name, Value: v.Value, DeviceID: v.DeviceID}
	}
	return deviceAnswer{out, slot{device: deviceOf(vs), kind: licensing.SlotVariables}}, nil
}

// deviceAnswer is an answer about one device: its signature is remembered in the
// device's slot (see signer).
type deviceAnswer struct {
	body any
	slot slot
}

// deviceOf is the device the variables belong to (0: none, nothing is remembered).
func deviceOf(vs []licensing.Variable) int64 {
	if len(vs) == 0 {
		return 0
	}
	return vs[0].DeviceID
}

func trackedVariables(vs []licensing.Variable) []trackedVariable {
	out := make([]trackedVariable, len(vs))
	for i, v := range vs {
		out[i] = trackedVariable{Variable: v.Name, Value: v.Value, DeviceID: v.DeviceID, CreatedAt: v.CreatedAt.UnixMilli()}
	}
	return out
}
