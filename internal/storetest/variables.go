package storetest

import (
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

var variableTests = []test{
	{"Upsert", testUpsertVariables},
	{"SameNameTwiceInOneCall", testUpsertSameNameTwice},
}

func testUpsertVariables(t *testing.T, e *env) {
	tn := e.tenant("a")
	dev := tn.Device.ID
	other := e.device(tn.Company.ID, tn.License.ID, "hw-other", true, false)

	vars := func(deviceID int64) []licensing.Variable {
		t.Helper()
		var vs []licensing.Variable
		e.read(func(tx licensing.Tx) (err error) { vs, err = tx.Variables(e.ctx, deviceID); return err })
		return vs
	}

	// Inserted out of name order: Variables answers in id order, not name order.
	first := []licensing.Variable{
		{Name: "zeta", Value: "1", CreatedAt: at(1)},
		{Name: "alpha", Value: "", CreatedAt: at(2)},
		{Name: "名前 🚀", Value: unicodeName, CreatedAt: at(3)},
	}
	e.write(func(tx licensing.Tx) error { return tx.UpsertVariables(e.ctx, dev, first) })
	for i, v := range first {
		if v.ID == 0 || v.DeviceID != dev {
			t.Fatalf("UpsertVariables left variable %d as %s: want its id and device id set", i, show(v))
		}
		if i > 0 && v.ID <= first[i-1].ID {
			t.Errorf("ids not increasing in insertion order: %s", show(first))
		}
	}
	equal(t, "after insert", vars(dev), first)

	// Another device may use the same names.
	same := []licensing.Variable{{Name: "zeta", Value: "other device", CreatedAt: at(4)}}
	e.write(func(tx licensing.Tx) error { return tx.UpsertVariables(e.ctx, other.ID, same) })
	equal(t, "other device", vars(other.ID), same)

	// Update by (device, name) keeps the id and replaces value and created_at; a new
	// name in the same call is appended.
	second := []licensing.Variable{
		{Name: "alpha", Value: "now set", CreatedAt: at(10)},
		{Name: "beta", Value: "new", CreatedAt: at(11)},
		{Name: "zeta", Value: "", CreatedAt: at(12)},
	}
	e.write(func(tx licensing.Tx) error { return tx.UpsertVariables(e.ctx, dev, second) })
	if second[0].ID != first[1].ID || second[2].ID != first[0].ID {
		t.Errorf("update changed ids: alpha %d→%d, zeta %d→%d", first[1].ID, second[0].ID, first[0].ID, second[2].ID)
	}
	if second[1].ID <= first[2].ID {
		t.Errorf("new variable id %d not above existing ids %s", second[1].ID, show(first))
	}
	want := []licensing.Variable{second[2], second[0], first[2], second[1]}
	equal(t, "after update", vars(dev), want)
	equal(t, "other device after update", vars(other.ID), same)
}

// testUpsertSameNameTwice: a name repeated in one call ends as one row with the last
// value, and both entries get that row's id.
func testUpsertSameNameTwice(t *testing.T, e *env) {
	tn := e.tenant("a")
	vs := []licensing.Variable{{Name: "x", Value: "1", CreatedAt: at(1)}, {Name: "x", Value: "2", CreatedAt: at(2)}}
	e.write(func(tx licensing.Tx) error { return tx.UpsertVariables(e.ctx, tn.Device.ID, vs) })
	if vs[0].ID == 0 || vs[0].ID != vs[1].ID {
		t.Errorf("ids %d and %d, want one row's id twice", vs[0].ID, vs[1].ID)
	}
	var got []licensing.Variable
	e.read(func(tx licensing.Tx) (err error) { got, err = tx.Variables(e.ctx, tn.Device.ID); return err })
	equal(t, "stored", got, []licensing.Variable{vs[1]})
}
