package licenseapi_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

// TestReactivationKeepsDeviceInfo: re-activating a known hardware_id replaces the
// device fields the request sent (an empty string is a value) and keeps those it left
// out or sent as null, as an SDK sends only what the app passes (reference §8.1). A
// request with a field of the wrong type is refused and writes nothing.
func TestReactivationKeepsDeviceInfo(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.CreateOrder(ctx, f.creds.CompanyID, licensing.OrderInput{Items: []licensing.OrderItem{{ProductCode: "app",
		Licenses: []licensing.LicenseInput{{Key: "KEY-INFO", AllowUnlimitedActivations: true}}}}}); err != nil {
		t.Fatal(err)
	}
	const full = `"os_ver":"Linux 6.1","hostname":"box","ip":"10.0.0.7","mac_address":"00:11:22:33:44:55","app_ver":"1.0",` +
		`"sdk_ver":"node 1","is_vm":true,"vm_info":"kvm"`
	stored := licensing.DeviceInfo{OSVer: "Linux 6.1", Hostname: "box", IP: "10.0.0.7", MACAddress: "00:11:22:33:44:55", AppVer: "1.0",
		SDKVer: "node 1", IsVM: true, VMInfo: "kvm"}
	with := func(change func(*licensing.DeviceInfo)) licensing.DeviceInfo {
		d := stored
		change(&d)
		return d
	}
	cases := []struct {
		name       string
		first      string // the device fields of the first activation
		deactivate bool   // between the two activations
		again      string // the device fields of the re-activation
		code       string // the re-activation's error
		want       licensing.DeviceInfo
	}{
		{"nothing sent keeps everything", full, false, ``, "", stored},
		{"sent fields replace, the rest stay", full, false, `"app_ver":"2.0","sdk_ver":"node 2"`, "",
			with(func(d *licensing.DeviceInfo) { d.AppVer, d.SDKVer = "2.0", "node 2" })},
		{"an empty string is a value", full, false, `"hostname":"","mac_address":""`, "",
			with(func(d *licensing.DeviceInfo) { d.Hostname, d.MACAddress = "", "" })},
		{"null is not sent", full, false, `"os_ver":null,"vm_info":null,"is_vm":null,"ip":"10.0.0.8"`, "",
			with(func(d *licensing.DeviceInfo) { d.IP = "10.0.0.8" })},
		{"is_vm false replaces, vm_info left out stays", full, false, `"is_vm":false`, "",
			with(func(d *licensing.DeviceInfo) { d.IsVM = false })},
		{"every field sent replaces every field", full, false,
			`"os_ver":"Windows 11","hostname":"pc","ip":"::1","mac_address":"aa","app_ver":"3","sdk_ver":"py","is_vm":false,"vm_info":""`, "",
			licensing.DeviceInfo{OSVer: "Windows 11", Hostname: "pc", IP: "::1", MACAddress: "aa", AppVer: "3", SDKVer: "py"}},
		{"after a deactivation too", full, true, `"app_ver":"2.0"`, "",
			with(func(d *licensing.DeviceInfo) { d.AppVer = "2.0" })},
		{"a new device stores what was sent", `"hostname":"box","app_ver":"1.0"`, false, `"os_ver":"Linux 6.1"`, "",
			licensing.DeviceInfo{OSVer: "Linux 6.1", Hostname: "box", AppVer: "1.0"}},
		{"a wrong type writes nothing", full, false, `"app_ver":"2.0","os_ver":1`, licensing.EValidation, stored},
		{"a wrong is_vm writes nothing", full, false, `"app_ver":"2.0","is_vm":"yes"`, licensing.EValidation, stored},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := func(fields string) string {
				b := fmt.Sprintf(`{"hardware_id":"hw-info-%d","product":"app","license_key":"KEY-INFO"`, i)
				if fields != "" {
					b += "," + fields
				}
				return b + "}"
			}
			if w := f.do("POST", "/api/v4/activate_license", body(tc.first), nil); w.Code != 200 {
				t.Fatalf("first activation: %d %s", w.Code, w.Body)
			}
			if tc.deactivate {
				if w := f.do("POST", "/api/v4/deactivate_license", body(""), nil); w.Code != 200 {
					t.Fatalf("deactivation: %d %s", w.Code, w.Body)
				}
			}
			before := device(t, f, fmt.Sprintf("hw-info-%d", i))
			w := f.do("POST", "/api/v4/activate_license", body(tc.again), nil)
			if tc.code == "" && w.Code != 200 {
				t.Fatalf("re-activation: %d %s", w.Code, w.Body)
			}
			if tc.code != "" {
				if w.Code == 200 || errorOf(t, w) != tc.code {
					t.Fatalf("re-activation: %d %s, want %s", w.Code, w.Body, tc.code)
				}
			}
			after := device(t, f, fmt.Sprintf("hw-info-%d", i))
			if after.Info != tc.want {
				t.Errorf("stored device info\n%+v, want\n%+v", after.Info, tc.want)
			}
			if tc.code != "" && !reflect.DeepEqual(after, before) {
				t.Errorf("refused re-activation changed the device:\n%+v\n%+v", before, after)
			}
			if after.ExternalIP == "" {
				t.Errorf("external_ip not recorded")
			}
		})
	}
}

// device reads the device of KEY-INFO for hw.
func device(t *testing.T, f *fixture, hw string) licensing.Device {
	t.Helper()
	ds, _, err := f.svc.ListDevices(context.Background(), f.creds.CompanyID, licensing.DeviceFilter{HardwareID: hw})
	if err != nil || len(ds) != 1 {
		t.Fatalf("devices for %s: %v %+v", hw, err, ds)
	}
	return ds[0]
}
