package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"
)

// variablesJSONSeeds: what SQLite's json_group_array and PostgreSQL's json_agg write,
// and the inputs the quick decoder must leave to encoding/json.
var variablesJSONSeeds = []struct {
	in    string
	quick bool // decodeVariables reads it itself
}{
	{`[]`, true},
	{`[{"i":1,"n":"os","v":"linux","c":1700000000000}]`, true},
	{`[{"i":1,"n":"a","v":"","c":0},{"i":2,"n":"b","v":"é 😀 ✓","c":253402300799999}]`, true},
	{`[{"i" : 1, "n" : "a", "v" : "x", "c" : 5}, ` + "\n" + ` {"i" : 2, "n" : "b", "v" : "y", "c" : 6}]`, true},
	{`[{"c":5,"v":"x","n":"a","i":-1}]`, true},
	{`[{"i":9223372036854775807,"n":"a","v":"x","c":-9223372036854775808}]`, true},
	{`[{"i":1,"n":"q\"uote","v":"x","c":5}]`, false},
	{`[{"i":1,"n":"a","v":"back\\slash \u0001 \ud83d\ude00","c":5}]`, false},
	{`[{"i":1,"n":"a","v":"x","c":5,"c":6}]`, false},
	{`[{"i":1,"n":"a","v":"x"}]`, false},
	{`[{"i":1,"n":"a","v":"x","c":5,"z":1}]`, false},
	{`[{"i":1.0,"n":"a","v":"x","c":5}]`, false},
	{`[{"i":01,"n":"a","v":"x","c":5}]`, false},
	{`[{"i":1e3,"n":"a","v":"x","c":5}]`, false},
	{`[{"i":9223372036854775808,"n":"a","v":"x","c":5}]`, false},
	{`[{"i":1,"n":null,"v":"x","c":5}]`, false},
	{`[{"i":1,"n":"a","v":"x","c":5},]`, false},
	{"[{\"i\":1,\"n\":\"\xff\",\"v\":\"x\",\"c\":5}]", false},
	{"[{\"i\":1,\"n\":\"tab\there\",\"v\":\"x\",\"c\":5}]", false},
	{`[{"i":1,"n":"a","v":"x","c":5}] x`, false},
	{`null`, false},
	{``, false},
	{`[{"i":-,"n":"a","v":"x","c":5}]`, false},
}

func TestDecodeVariables(t *testing.T) {
	for _, c := range variablesJSONSeeds {
		_, ok := decodeVariables([]byte(c.in))
		if ok != c.quick {
			t.Errorf("%q: quick %v, want %v", c.in, ok, c.quick)
		}
		checkDecodeVariables(t, []byte(c.in))
	}
}

// checkDecodeVariables: where decodeVariables reads b, encoding/json reads the same
// rows from it; and variablesFromJSON answers as encoding/json alone would.
func checkDecodeVariables(t *testing.T, b []byte) {
	t.Helper()
	var want []variableJSON
	wantErr := json.Unmarshal(b, &want)
	if got, ok := decodeVariables(b); ok {
		if wantErr != nil {
			t.Fatalf("%q: quick decoder read %+v, encoding/json refuses it: %v", b, got, wantErr)
		}
		if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("%q: quick decoder %+v, encoding/json %+v", b, got, want)
		}
	}
	vs, err := variablesFromJSON(7, b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: variablesFromJSON error %v, encoding/json %v", b, err, wantErr)
	}
	if err == nil && len(vs) != len(want) {
		t.Fatalf("%q: %d variables, encoding/json %d", b, len(vs), len(want))
	}
	for i := range vs {
		w := want[i]
		if vs[i].ID != w.I || vs[i].Name != w.N || vs[i].Value != w.V || vs[i].CreatedAt != fromMS(w.C) || vs[i].DeviceID != 7 {
			t.Fatalf("%q: variable %d %+v, encoding/json %+v", b, i, vs[i], w)
		}
	}
}

func FuzzDecodeVariables(f *testing.F) {
	for _, c := range variablesJSONSeeds {
		f.Add([]byte(c.in))
	}
	f.Fuzz(checkDecodeVariables)
}
