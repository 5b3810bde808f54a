package licensing

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// VarInput is one variable as a client sent it, its value already turned into the
// string JavaScript's String(v) gives.
type VarInput struct {
	Name  string
	Value string
}

// ValidateVariables checks the per-request limits. It runs with the other body checks,
// before any lookup.
func (s *Service) ValidateVariables(vars []VarInput) error {
	if len(vars) > s.limits.MaxVariablesPerCall {
		return FieldError("variables", "too many variables in one request: %d (at most %d)", len(vars), s.limits.MaxVariablesPerCall)
	}
	for _, v := range vars {
		n := utf8.RuneCountInString(v.Name)
		if n == 0 {
			return FieldError("variables", "variable name must not be empty")
		}
		if n > s.limits.MaxVariableName {
			return FieldError("variables", "variable name longer than %d characters", s.limits.MaxVariableName)
		}
		if utf8.RuneCountInString(v.Value) > s.limits.MaxVariableValue {
			return FieldError("variables", "value of variable %q longer than %d characters", v.Name, s.limits.MaxVariableValue)
		}
	}
	return nil
}

// TrackVariables upserts the device's variables by name and returns them in the order
// sent. Unchanged values are not written and keep their created_at.
func (s *Service) TrackVariables(ctx context.Context, companyID int64, id Identity, vars []VarInput) ([]Variable, error) {
	r, err := s.Track(ctx, companyID, id, vars)
	return r.Variables, err
}

// TrackResult is what Track stored and whether anything changed.
type TrackResult struct {
	Variables []Variable // the variables sent, as stored, in the order sent
	Changed   bool       // a value was written (the answer is new)
}

// Track is TrackVariables, also saying whether anything changed.
func (s *Service) Track(ctx context.Context, companyID int64, id Identity, vars []VarInput) (TrackResult, error) {
	out, changed, err := s.track(ctx, companyID, id, vars)
	return TrackResult{out, changed}, err
}

// newTrackWriteFirst decides whether track goes straight to its write transaction: it
// does while at least three quarters of tracks changed a value (events: tracks; hits:
// tracks that wrote). Heartbeats mostly re-send unchanged values, which a read
// transaction answers without the writer; where values keep changing, that read is
// only repeated by the write.
func newTrackWriteFirst() *adaptiveSwitch { return &adaptiveSwitch{num: 3, den: 4} }

func (s *Service) track(ctx context.Context, companyID int64, id Identity, vars []VarInput) ([]Variable, bool, error) {
	if err := s.ValidateVariables(vars); err != nil {
		return nil, false, err
	}
	write := s.trackReadFirst
	if s.writeFirst.event() {
		write = s.trackWriteFirst
	}
	out, changed, err := write(ctx, companyID, id, vars)
	if err != nil {
		return nil, false, err
	}
	if changed {
		s.writeFirst.hit()
	}
	return out, changed, nil
}

// trackWriteFirst is track in one write transaction.
func (s *Service) trackWriteFirst(ctx context.Context, companyID int64, id Identity, vars []VarInput) (out []Variable, changed bool, err error) {
	err = s.store.writeDevice(ctx, companyID, id, func(tx Tx, _ resolved, d Device) (err error) {
		out, changed, err = s.storeVariables(ctx, tx, d.ID, vars)
		return err
	})
	return out, changed, err
}

// trackReadFirst answers unchanged values from a read (one statement where it can
// be). Changes are written in a short write transaction that re-checks only the state
// of the license and device found there; changed is false when another request wrote
// the same values first.
func (s *Service) trackReadFirst(ctx context.Context, companyID int64, id Identity, vars []VarInput) (out []Variable, changed bool, err error) {
	r, d, existing, err := s.deviceVariables(ctx, companyID, id)
	if err != nil {
		return nil, false, err
	}
	if out, changed = mergeVariables(d.ID, existing, vars, s.Now()); !changed {
		return out, false, nil
	}
	err = s.store.Write(ctx, func(tx Tx) error {
		if _, _, err := s.relock(ctx, tx, companyID, r.License.ID, d.ID); err != nil {
			return err
		}
		out, changed, err = s.storeVariables(ctx, tx, d.ID, vars)
		return err
	})
	return out, changed, err
}

// storeVariables writes vars to a device inside a write transaction and returns them,
// as stored, in the order sent, and whether anything was written.
func (s *Service) storeVariables(ctx context.Context, tx Tx, deviceID int64, vars []VarInput) ([]Variable, bool, error) {
	existing, err := tx.Variables(ctx, deviceID)
	if err != nil {
		return nil, false, fmt.Errorf("variables: %w", err)
	}
	out, changed := mergeVariables(deviceID, existing, vars, s.Now())
	if !changed {
		return out, false, nil
	}
	ids := make(map[string]int64, len(existing))
	for _, v := range existing {
		ids[v.Name] = v.ID
	}
	var writes []Variable
	added := 0
	for _, v := range out {
		if v.ID == 0 {
			// A new value of an existing variable carries its row's id, so the store
			// can rewrite that row directly.
			id, ok := ids[v.Name]
			if !ok {
				added++
			}
			v.ID = id
			writes = append(writes, v)
		}
	}
	if len(existing)+added > s.limits.MaxVariablesPerDevice {
		return nil, false, FieldError("variables", "a device may hold at most %d variables", s.limits.MaxVariablesPerDevice)
	}
	if err := tx.UpsertVariables(ctx, deviceID, writes); err != nil {
		return nil, false, fmt.Errorf("upsert variables: %w", err)
	}
	byName := make(map[string]Variable, len(writes))
	for _, w := range writes {
		byName[w.Name] = w
	}
	for i, v := range out {
		if w, ok := byName[v.Name]; ok {
			out[i] = w
		}
	}
	return out, true, nil
}

// mergeVariables returns, in request order (a repeated name once, at its first place
// with its last value, as JSON.parse would), each sent variable as it will be after the
// write: unchanged ones as stored (with their ID), changed or new ones with ID 0 and
// CreatedAt now. changed reports whether anything needs writing.
func mergeVariables(deviceID int64, existing []Variable, vars []VarInput, now time.Time) ([]Variable, bool) {
	cur := make(map[string]Variable, len(existing))
	for _, v := range existing {
		cur[v.Name] = v
	}
	out := make([]Variable, 0, len(vars))
	at := make(map[string]int, len(vars)) // a name sent twice: its first place, last value
	for _, in := range vars {
		v, ok := cur[in.Name]
		if !ok || v.Value != in.Value {
			v = Variable{DeviceID: deviceID, Name: in.Name, Value: in.Value, CreatedAt: now}
		}
		if i, seen := at[in.Name]; seen {
			out[i] = v
			continue
		}
		at[in.Name] = len(out)
		out = append(out, v)
	}
	for _, v := range out {
		if v.ID == 0 {
			return out, true
		}
	}
	return out, false
}

// deviceVariables is deviceScoped plus the device's variables (ordered by id), from
// one statement outside any transaction where keyedRead can answer, else from a read
// transaction.
func (s *Service) deviceVariables(ctx context.Context, companyID int64, id Identity) (r resolved, d Device, vars []Variable, err error) {
	var ld LicenseDevice
	var ok bool
	err = s.store.ReadSingle(ctx, func(tx Tx) (err error) {
		r, ld, ok, err = s.keyedRead(ctx, tx, companyID, id, keyedWant{g: pendingAPIKey(ctx), vars: true})
		return err
	})
	if ok {
		return r, ld.Device, ld.Variables, err
	}
	err = s.store.Read(ctx, func(tx Tx) error {
		if r, d, err = s.stepwiseDevice(ctx, tx, companyID, id, false); err != nil {
			return err
		}
		if vars, err = tx.Variables(ctx, d.ID); err != nil {
			return fmt.Errorf("variables: %w", err)
		}
		return nil
	})
	return r, d, vars, err
}

// GetVariables returns every variable of the identity's active device, ordered by id.
func (s *Service) GetVariables(ctx context.Context, companyID int64, id Identity) ([]Variable, error) {
	_, _, vars, err := s.deviceVariables(ctx, companyID, id)
	if err != nil {
		return nil, err
	}
	return vars, nil
}
