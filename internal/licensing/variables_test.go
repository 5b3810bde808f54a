package licensing_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/internal/licensing"
)

func vin(kv ...string) []licensing.VarInput {
	out := make([]licensing.VarInput, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, licensing.VarInput{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// numbered returns n variables v<from>…v<from+n-1> with value val.
func numbered(from, n int, val string) []licensing.VarInput {
	out := make([]licensing.VarInput, n)
	for i := range out {
		out[i] = licensing.VarInput{Name: fmt.Sprint("v", from+i), Value: val}
	}
	return out
}

func TestDeactivate(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	l := e.keyLicense(p.ShortCode, "DEAC-TIVA-TE00-0001", 1)
	id := keyID(p.ShortCode, "DEAC-TIVA-TE00-0001", "hw")
	st := e.activate(id, vin("keep", "1", "change", "old")...)

	e.clock.Advance(time.Minute)
	at := e.clock.Now()
	wantCode(t, e.svc.Deactivate(e.ctx, e.cid, id, vin("change", "new", "added", "x")), "")

	got := e.lic(l.ID)
	if got.TimesActivated != 0 {
		t.Errorf("times_activated %d, want 0", got.TimesActivated)
	}
	d := e.device(l.ID, "hw")
	if d.ID != st.Device.ID || d.Active || d.TimeDeactivated == nil || !d.TimeDeactivated.Equal(at) {
		t.Errorf("device %d active=%v time_deactivated=%v, want %d false %v", d.ID, d.Active, d.TimeDeactivated, st.Device.ID, at)
	}
	want := map[string]string{"keep": "1", "change": "new", "added": "x"}
	if vs := e.vars(d.ID); !maps.Equal(vs, want) {
		t.Errorf("variables %v, want %v", vs, want)
	}
	// The freed seat is usable by another device.
	e.activate(keyID(p.ShortCode, "DEAC-TIVA-TE00-0001", "hw-2"))
}

func TestTrackVariables(t *testing.T) {
	e := newEnv(t)
	p := e.product(licensing.AuthLicenseKey)
	l := e.keyLicense(p.ShortCode, "TRAC-KVAR-IABL-ES01", 1)
	id := keyID(p.ShortCode, "TRAC-KVAR-IABL-ES01", "hw")
	dev := e.activate(id).Device.ID
	t1 := e.clock.Now()

	out, err := e.svc.TrackVariables(e.ctx, e.cid, id, vin("b", "1", "a", "1", "c", "1"))
	wantCode(t, err, "")
	if got := names(out); fmt.Sprint(got) != "[b a c]" {
		t.Fatalf("answer order %v, want request order [b a c]", got)
	}
	ids := map[string]int64{}
	for _, v := range out {
		if v.ID == 0 || v.DeviceID != dev || !v.CreatedAt.Equal(t1) || v.Value != "1" {
			t.Errorf("answer %+v, want id set, device %d, created_at %v, value 1", v, dev, t1)
		}
		ids[v.Name] = v.ID
	}

	// Upsert: a changes, c is re-sent unchanged, d is new, b is not sent.
	e.clock.Advance(time.Second)
	t2 := e.clock.Now()
	out, err = e.svc.TrackVariables(e.ctx, e.cid, id, vin("d", "4", "c", "1", "a", "2"))
	wantCode(t, err, "")
	wantOut := []struct {
		name, value string
		at          time.Time
	}{{"d", "4", t2}, {"c", "1", t1}, {"a", "2", t2}}
	if len(out) != len(wantOut) {
		t.Fatalf("answer %+v, want %d variables", out, len(wantOut))
	}
	for i, w := range wantOut {
		if v := out[i]; v.Name != w.name || v.Value != w.value || !v.CreatedAt.Equal(w.at) {
			t.Errorf("answer[%d] = %s=%s at %v, want %s=%s at %v", i, v.Name, v.Value, v.CreatedAt, w.name, w.value, w.at)
		}
	}

	// Only unchanged values: answered without a write, still as stored.
	e.clock.Advance(time.Second)
	out, err = e.svc.TrackVariables(e.ctx, e.cid, id, vin("a", "2", "b", "1"))
	wantCode(t, err, "")
	if len(out) != 2 || !out[0].CreatedAt.Equal(t2) || !out[1].CreatedAt.Equal(t1) || out[0].ID != ids["a"] || out[1].ID != ids["b"] {
		t.Errorf("unchanged answer %+v, want a at %v and b at %v with their ids", out, t2, t1)
	}

	all, err := e.svc.GetVariables(e.ctx, e.cid, id)
	wantCode(t, err, "")
	want := []struct {
		name, value string
		at          time.Time
	}{{"b", "1", t1}, {"a", "2", t2}, {"c", "1", t1}, {"d", "4", t2}}
	if len(all) != len(want) {
		t.Fatalf("stored %+v, want %d variables", all, len(want))
	}
	for i, w := range want {
		v := all[i]
		if v.Name != w.name || v.Value != w.value || !v.CreatedAt.Equal(w.at) {
			t.Errorf("stored[%d] = %s=%s at %v, want %s=%s at %v (ordered by id)", i, v.Name, v.Value, v.CreatedAt, w.name, w.value, w.at)
		}
		if id, ok := ids[v.Name]; ok && id != v.ID {
			t.Errorf("%s changed id %d → %d on update", v.Name, id, v.ID)
		}
	}
	if got := e.lic(l.ID).TimesActivated; got != 1 {
		t.Errorf("times_activated %d, want 1", got)
	}

	// Times are kept to the millisecond, and the answer shows what was stored.
	e.clock.Advance(1500*time.Microsecond + 7)
	out, err = e.svc.TrackVariables(e.ctx, e.cid, id, vin("ms", "1"))
	wantCode(t, err, "")
	all, err = e.svc.GetVariables(e.ctx, e.cid, id)
	wantCode(t, err, "")
	if last := all[len(all)-1]; last.Name != "ms" || !last.CreatedAt.Equal(out[0].CreatedAt) || out[0].CreatedAt.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("answered created_at %v, stored %v: want the same, whole milliseconds", out[0].CreatedAt, last.CreatedAt)
	}
}

// TestVariableLimits sends limit-breaking variables through every call that stores
// variables and checks the refusal wrote nothing.
func TestVariableLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	type limCase struct {
		name string
		pre  []licensing.VarInput // stored at activation
		send []licensing.VarInput
		want string
	}
	var (
		defaults = []limCase{
			{"empty name", nil, vin("", "x"), licensing.EValidation},
			{"name of 255 characters", nil, vin(long(255), "x"), ""},
			{"name of 255 two-byte characters", nil, vin(strings.Repeat("é", 255), "x"), ""},
			{"name of 256 characters", nil, vin(long(256), "x"), licensing.EValidation},
			{"bad name after a good one", nil, vin("ok", "x", long(256), "x"), licensing.EValidation},
			{"empty value", nil, vin("a", ""), ""},
			{"value of 4096 characters", nil, vin("a", long(4096)), ""},
			{"value of 4097 characters", nil, vin("a", long(4097)), licensing.EValidation},
			{"value of 4097 characters, existing name", vin("a", "1"), vin("a", long(4097)), licensing.EValidation},
			{"100 variables in one call", nil, numbered(0, 100, "x"), ""},
			{"101 variables in one call", nil, numbered(0, 101, "x"), licensing.EValidation},
			{"101 unchanged variables in one call", numbered(0, 100, "x"), append(numbered(0, 100, "x"), numbered(100, 1, "x")...), licensing.EValidation},
		}
		small = []limCase{ // MaxVariablesPerDevice 5
			{"up to the device limit", numbered(0, 4, "x"), numbered(4, 1, "x"), ""},
			{"over the device limit", numbered(0, 4, "x"), numbered(4, 2, "x"), licensing.EValidation},
			{"over the device limit in one call", nil, numbered(0, 6, "x"), licensing.EValidation},
			{"change plus one too many", numbered(0, 5, "x"), append(numbered(0, 1, "changed"), numbered(5, 1, "x")...), licensing.EValidation},
			{"changes on a full device", numbered(0, 5, "x"), numbered(0, 5, "changed"), ""},
			{"unchanged on a full device", numbered(0, 5, "x"), numbered(0, 5, "x"), ""},
		}
	)
	ops := []struct {
		name string
		call func(e *env, id licensing.Identity, vars []licensing.VarInput) error
	}{
		{"TrackVariables", func(e *env, id licensing.Identity, vars []licensing.VarInput) error {
			_, err := e.svc.TrackVariables(e.ctx, e.cid, id, vars)
			return err
		}},
		{"Activate", func(e *env, id licensing.Identity, vars []licensing.VarInput) error {
			_, err := e.svc.Activate(e.ctx, e.cid, licensing.ActivateRequest{Identity: id, Variables: vars})
			return err
		}},
		{"Deactivate", func(e *env, id licensing.Identity, vars []licensing.VarInput) error {
			return e.svc.Deactivate(e.ctx, e.cid, id, vars)
		}},
	}
	for _, set := range []struct {
		name   string
		limits licensing.Limits
		cases  []limCase
	}{
		{"defaults", licensing.Limits{}, defaults},
		{"small device limit", licensing.Limits{MaxVariablesPerDevice: 5}, small},
	} {
		t.Run(set.name, func(t *testing.T) {
			e := newEnv(t, licensing.WithLimits(set.limits))
			p := e.product(licensing.AuthLicenseKey)
			for _, tc := range set.cases {
				for _, op := range ops {
					t.Run(tc.name+"/"+op.name, func(t *testing.T) {
						t.Parallel()
						e := e.with(t)
						k := e.uniq("K")
						l := e.keyLicense(p.ShortCode, k, 1)
						id := keyID(p.ShortCode, k, "hw")
						dev := e.activate(id, tc.pre...).Device.ID
						before := e.vars(dev)
						wantCode(t, op.call(e, id, tc.send), tc.want)
						after := e.vars(dev)
						if tc.want != "" {
							if !maps.Equal(before, after) {
								t.Errorf("refused call changed the variables: %d → %d", len(before), len(after))
							}
							if d := e.device(l.ID, "hw"); !d.Active || e.lic(l.ID).TimesActivated != 1 {
								t.Errorf("refused call changed the device or seats")
							}
							return
						}
						for _, v := range tc.send {
							if got, ok := after[v.Name]; !ok || got != v.Value {
								t.Errorf("variable %.20q = %.20q (stored %v), want %.20q", v.Name, got, ok, v.Value)
							}
						}
					})
				}
			}
		})
	}

	// The device limit at the default (1000) holds too.
	t.Run("1000 per device by default", func(t *testing.T) {
		e := newEnv(t)
		p := e.product(licensing.AuthLicenseKey)
		e.keyLicense(p.ShortCode, "THOU-SAND-VARS-0001", 1)
		id := keyID(p.ShortCode, "THOU-SAND-VARS-0001", "hw")
		dev := e.activate(id).Device.ID
		for i := 0; i < 1000; i += 100 {
			_, err := e.svc.TrackVariables(e.ctx, e.cid, id, numbered(i, 100, "x"))
			wantCode(t, err, "")
		}
		_, err := e.svc.TrackVariables(e.ctx, e.cid, id, numbered(1000, 1, "x"))
		wantCode(t, err, licensing.EValidation)
		_, err = e.svc.TrackVariables(e.ctx, e.cid, id, numbered(0, 1, "y"))
		wantCode(t, err, "")
		if n := len(e.vars(dev)); n != 1000 {
			t.Errorf("%d variables stored, want 1000", n)
		}
	})
}

// A name sent twice in one call is one variable: its first place, its last value, one
// slot of the device's limit.
func TestTrackVariablesRepeatedName(t *testing.T) {
	e := newEnv(t, licensing.WithLimits(licensing.Limits{MaxVariablesPerDevice: 2}))
	p := e.product(licensing.AuthLicenseKey)
	e.keyLicense(p.ShortCode, "K-REP", 1)
	id := keyID(p.ShortCode, "K-REP", "hw-rep")
	d := e.activate(id, licensing.VarInput{Name: "a", Value: "1"}).Device
	out, err := e.svc.TrackVariables(e.ctx, e.cid, id,
		[]licensing.VarInput{{Name: "b", Value: "x"}, {Name: "a", Value: "1"}, {Name: "b", Value: "y"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Name != "b" || out[0].Value != "y" || out[1].Name != "a" {
		t.Fatalf("got %+v", out)
	}
	if got := e.vars(d.ID); len(got) != 2 || got["b"] != "y" {
		t.Fatalf("stored %v", got)
	}
}
