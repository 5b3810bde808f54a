package storetest

import (
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

var variableTests = []test{
	{"Upsert", testUpsertVariables},
	{"SameNameTwiceInOneCall", testUpsertSameNameTwice},
	{"ByID", testUpsertVariablesByID},
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

// testUpsertVariablesByID: a variable that comes with its row's id is written to that
// row; an id that is not the row of that device and name (another device's, another
// name's, a deleted or made-up one) changes nothing of that row and the variable is
// written by (device, name) as without an id; a name twice keeps its last value
// whichever entries carry ids.
func testUpsertVariablesByID(t *testing.T, e *env) {
	tn := e.tenant("a")
	dev := tn.Device.ID
	other := e.device(tn.Company.ID, tn.License.ID, "hw-other", true, false)
	stored := func(deviceID int64) (vs []licensing.Variable) {
		t.Helper()
		e.read(func(tx licensing.Tx) (err error) { vs, err = tx.Variables(e.ctx, deviceID); return err })
		return vs
	}
	first := []licensing.Variable{{Name: "a", Value: "1", CreatedAt: at(1)}, {Name: "b", Value: "1", CreatedAt: at(1)}}
	e.write(func(tx licensing.Tx) error { return tx.UpsertVariables(e.ctx, dev, first) })
	theirs := []licensing.Variable{{Name: "a", Value: "theirs", CreatedAt: at(1)}}
	e.write(func(tx licensing.Tx) error { return tx.UpsertVariables(e.ctx, other.ID, theirs) })

	byID := []licensing.Variable{{ID: first[0].ID, Name: "a", Value: "2", CreatedAt: at(2)}}
	e.write(func(tx licensing.Tx) error { return tx.UpsertVariables(e.ctx, dev, byID) })
	if byID[0].ID != first[0].ID || byID[0].DeviceID != dev {
		t.Errorf("by id: %s, want id %d on device %d", show(byID[0]), first[0].ID, dev)
	}
	equal(t, "by id", stored(dev), []licensing.Variable{byID[0], first[1]})

	for _, tc := range []struct {
		name string
		id   int64
	}{
		{"another device's row", theirs[0].ID},
		{"another name's row", first[1].ID},
		{"no such row", theirs[0].ID + 1000},
	} {
		vs := []licensing.Variable{{ID: tc.id, Name: "a", Value: tc.name, CreatedAt: at(3)}}
		e.write(func(tx licensing.Tx) error { return tx.UpsertVariables(e.ctx, dev, vs) })
		if vs[0].ID != first[0].ID {
			t.Errorf("%s: id %d, want a's row %d", tc.name, vs[0].ID, first[0].ID)
		}
		got := stored(dev)
		if len(got) != 2 || got[0].Value != tc.name || got[1].Value != "1" {
			t.Errorf("%s: stored %s", tc.name, show(got))
		}
		equal(t, tc.name+": other device", stored(other.ID), theirs)
	}

	// Several at once (SQLite: one statement): every one by its row's id; then with one
	// whose id is another device's row, which is written by (device, name) as above
	// while the others still go by id.
	for _, tc := range []struct {
		name string
		bID  int64
	}{{"several by id", first[1].ID}, {"several, one id wrong", theirs[0].ID}} {
		vs := []licensing.Variable{
			{ID: first[0].ID, Name: "a", Value: tc.name + " a", CreatedAt: at(3)},
			{ID: tc.bID, Name: "b", Value: tc.name + " b", CreatedAt: at(3)},
		}
		e.write(func(tx licensing.Tx) error { return tx.UpsertVariables(e.ctx, dev, vs) })
		if vs[0].ID != first[0].ID || vs[1].ID != first[1].ID {
			t.Errorf("%s: ids %s, want %d and %d", tc.name, show(vs), first[0].ID, first[1].ID)
		}
		got := stored(dev)
		if len(got) != 2 || got[0].Value != tc.name+" a" || got[1].Value != tc.name+" b" {
			t.Errorf("%s: stored %s", tc.name, show(got))
		}
		equal(t, tc.name+": other device", stored(other.ID), theirs)
	}

	// A new name with a made-up id is inserted; a name twice ends with its last value.
	vs := []licensing.Variable{
		{ID: first[1].ID, Name: "b", Value: "first", CreatedAt: at(4)},
		{ID: first[0].ID + 1000, Name: "c", Value: "new", CreatedAt: at(4)},
		{Name: "b", Value: "last", CreatedAt: at(5)},
	}
	e.write(func(tx licensing.Tx) error { return tx.UpsertVariables(e.ctx, dev, vs) })
	if vs[0].ID != first[1].ID || vs[2].ID != first[1].ID || vs[1].ID == first[0].ID+1000 || vs[1].ID == 0 {
		t.Errorf("ids %s", show(vs))
	}
	got := stored(dev)
	if len(got) != 3 || got[1].Value != "last" || got[2].Name != "c" || got[2].ID != vs[1].ID {
		t.Errorf("name twice: stored %s", show(got))
	}
	vs = []licensing.Variable{
		{Name: "b", Value: "first", CreatedAt: at(6)},
		{ID: first[1].ID, Name: "b", Value: "last by id", CreatedAt: at(7)},
	}
	e.write(func(tx licensing.Tx) error { return tx.UpsertVariables(e.ctx, dev, vs) })
	if got := stored(dev); got[1].Value != "last by id" || !got[1].CreatedAt.Equal(at(7)) || vs[0].ID != first[1].ID {
		t.Errorf("name twice, last by id: stored %s, ids %s", show(got), show(vs))
	}
}
