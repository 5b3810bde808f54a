package jsoncanon

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"
)

type textColor int

func (c textColor) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("color-%d", int(c))), nil }

type jsonWeird struct{}

// MarshalJSON returns non-canonical JSON on purpose: Marshal must canonicalize it.
func (jsonWeird) MarshalJSON() ([]byte, error) {
	return []byte(` { "b" : 1.0 , "1" : "\u00e9\/" , "b" : 2 } `), nil
}

type ptrMarshaler struct{ N int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"ptr":%d}`, p.N)), nil
}

type ptrText struct{ S string }

func (p *ptrText) MarshalText() ([]byte, error) { return []byte("text:" + p.S), nil }

type ptrZeroer struct{ V int }

func (p *ptrZeroer) IsZero() bool { return p.V == 42 }

type tagWinsA struct {
	Title string `json:"Name"`
}
type tagWinsB struct {
	Name string
}
type tagWins struct {
	tagWinsA
	tagWinsB
}

type badMarshaler struct{}

func (badMarshaler) MarshalJSON() ([]byte, error) { return []byte(`{"a":`), nil }

type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("boom") }

type zeroer struct{ V int }

func (z zeroer) IsZero() bool { return z.V < 0 }

type Embedded struct {
	E1 string `json:"e1"`
	E2 int    `json:"e2,omitempty"`
}

type embeddedPtr struct {
	P string `json:"p"`
}

type outer struct {
	Name string `json:"name"`
	Embedded
	*embeddedPtr
	E1     string `json:"e1"` // shallower field wins over Embedded.E1
	hidden int
	Skip   int `json:"-"`
	Dash   int `json:"-,"`
	Plain  int
}

type conflictA struct {
	X int // untagged at the same depth as conflictB.X: both dropped
}
type conflictB struct {
	X int
}
type conflicting struct {
	conflictA
	conflictB
	Y int `json:"y"`
}

type node struct {
	Name     string  `json:"name"`
	Children []*node `json:"children"`
}

type cyclic struct {
	Next *cyclic `json:"next"`
}

func TestMarshal(t *testing.T) {
	num := 3
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, `null`},
		{"bools", []bool{true, false}, `[true,false]`},
		{"nil slice is []", []string(nil), `[]`},
		{"empty slice", []int{}, `[]`},
		{"nil map is {}", map[string]int(nil), `{}`},
		{"nil map[string]any is {}", map[string]any(nil), `{}`},
		{"nil pointer is null", (*int)(nil), `null`},
		{"pointer", &num, `3`},
		{"array", [3]int{1, 2, 3}, `[1,2,3]`},
		{"byte array is numbers", [2]byte{1, 2}, `[1,2]`},
		{"[]any mixed", []any{1, "a", nil, true, 2.5, []any{}, map[string]any{}}, `[1,"a",null,true,2.5,[],{}]`},
		{"nested", map[string]any{"a": []any{map[string]any{"b": []int{1}}}}, `{"a":[{"b":[1]}]}`},
		{"interface field nil", struct {
			V any `json:"v"`
		}{}, `{"v":null}`},
		{"interface field value", struct {
			V any `json:"v"`
		}{V: []string{"x"}}, `{"v":["x"]}`},
		{"struct tags and visibility", outer{Name: "n", Embedded: Embedded{E1: "deep", E2: 0}, E1: "top", hidden: 1, Skip: 2, Dash: 3, Plain: 4},
			`{"name":"n","e1":"top","-":3,"Plain":4}`},
		{"embedded pointer set", outer{embeddedPtr: &embeddedPtr{P: "x"}, Embedded: Embedded{E2: 5}},
			`{"name":"","e2":5,"p":"x","e1":"","-":0,"Plain":0}`},
		{"conflicting embedded names dropped", conflicting{conflictA{1}, conflictB{2}, 3}, `{"y":3}`},
		{"recursive type", &node{Name: "root", Children: []*node{{Name: "leaf"}}},
			`{"name":"root","children":[{"name":"leaf","children":[]}]}`},
		{"json.Marshaler canonicalized", jsonWeird{}, `{"1":"é/","b":2}`},
		{"pointer marshaler on addressable field", &struct {
			P ptrMarshaler `json:"p"`
		}{ptrMarshaler{7}}, `{"p":{"ptr":7}}`},
		{"pointer marshaler not addressable", struct {
			P ptrMarshaler `json:"p"`
		}{ptrMarshaler{7}}, `{"p":{"N":7}}`},
		{"nil marshaler pointer", struct {
			P *ptrMarshaler `json:"p"`
		}{}, `{"p":null}`},
		{"TextMarshaler", textColor(2), `"color-2"`},
		{"pointer TextMarshaler on addressable field", &struct {
			T ptrText `json:"t"`
		}{ptrText{"x"}}, `{"t":"text:x"}`},
		{"pointer TextMarshaler in slice element", []ptrText{{"y"}}, `["text:y"]`},
		{"tagged field dominates untagged at same depth", tagWins{tagWinsA{"a"}, tagWinsB{"b"}}, `{"Name":"a"}`},
		{"uint map keys", map[uint8]bool{200: true, 7: false}, `{"7":false,"200":true}`},
		{"TextMarshaler map key", map[textColor]int{3: 1, 1: 2}, `{"color-1":2,"color-3":1}`},
		{"netip.Addr", netip.MustParseAddr("10.0.0.1"), `"10.0.0.1"`},
		{"time.Time via MarshalJSON", time.Date(2026, 6, 18, 0, 0, 0, 0, time.UTC), `"2026-06-18T00:00:00Z"`},
		{"RawMessage canonicalized", json.RawMessage(` {"b":1,"a":[1.0, -0]} `), `{"b":1,"a":[1,0]}`},
		{"nil RawMessage", json.RawMessage(nil), `null`},
		{"RawMessage field", struct {
			R json.RawMessage `json:"r"`
		}{json.RawMessage(`{"2":2,"1":1}`)}, `{"r":{"1":1,"2":2}}`},
		{"json.Number", []json.Number{"1.0", "1e21", "-0", "12345678901234567890", ""}, `[1,1e+21,0,12345678901234567000,0]`},
		{"string option", struct {
			I int     `json:"i,string"`
			F float64 `json:"f,string"`
			B bool    `json:"b,string"`
			S string  `json:"s,string"`
			P *int    `json:"p,string"`
			N *int    `json:"n,string"`
		}{1, 1.5, true, `a"b`, &num, nil}, `{"i":"1","f":"1.5","b":"true","s":"\"a\\\"b\"","p":"3","n":null}`},
		{"html and separators raw", map[string]string{"k": "<a href='x'>&\u2028"}, "{\"k\":\"<a href='x'>&\u2028\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err != nil || string(got) != tt.want {
				t.Errorf("Marshal(%#v)\n got %s, %v\nwant %s", tt.in, got, err, tt.want)
			}
		})
	}
}

type omitInner struct {
	A int `json:"a"`
}

type omitAll struct {
	S   string         `json:"s,omitempty"`
	I   int            `json:"i,omitempty"`
	U   uint           `json:"u,omitempty"`
	F   float64        `json:"f,omitempty"`
	B   bool           `json:"b,omitempty"`
	P   *int           `json:"p,omitempty"`
	If  any            `json:"if,omitempty"`
	Sl  []int          `json:"sl,omitempty"`
	M   map[string]int `json:"m,omitempty"`
	Ar  [0]int         `json:"ar,omitempty"`
	St  omitInner      `json:"st,omitempty"` // omitempty never omits a struct
	Z   omitInner      `json:"z,omitzero"`
	T   time.Time      `json:"t,omitzero"`
	ZM  zeroer         `json:"zm,omitzero"`
	Opt *omitInner     `json:"opt,omitzero"`
	PZ  ptrZeroer      `json:"pz,omitzero"`
}

func omitEverything() omitAll { return omitAll{ZM: zeroer{-1}, PZ: ptrZeroer{42}} }

func TestMarshalOmit(t *testing.T) {
	type omit = omitAll
	type inner = omitInner
	zero := 0
	tests := []struct {
		name string
		in   omit
		want string
	}{
		{"all empty", omit{ZM: zeroer{-1}}, `{"st":{"a":0},"pz":{"V":0}}`},
		{"non-empty", omit{S: "x", I: -1, U: 1, F: 0.5, B: true, P: &zero, If: 0, Sl: []int{0}, M: map[string]int{"": 0},
			Z: inner{1}, T: time.Unix(0, 0).UTC(), ZM: zeroer{0}, Opt: &inner{}, PZ: ptrZeroer{42}},
			`{"s":"x","i":-1,"u":1,"f":0.5,"b":true,"p":0,"if":0,"sl":[0],"m":{"":0},"st":{"a":0},"z":{"a":1},"t":"1970-01-01T00:00:00Z","zm":{"V":0},"opt":{"a":0}}`},
		{"empty non-nil slice and map omitted", omit{Sl: []int{}, M: map[string]int{}, ZM: zeroer{-5}, PZ: ptrZeroer{42}}, `{"st":{"a":0}}`},
		{"omitzero uses IsZero method", omit{ZM: zeroer{0}, PZ: ptrZeroer{42}}, `{"st":{"a":0},"zm":{"V":0}}`},
		{"omitzero pointer-receiver IsZero", omit{ZM: zeroer{-1}, PZ: ptrZeroer{1}}, `{"st":{"a":0},"pz":{"V":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err != nil || string(got) != tt.want {
				t.Errorf("\n got %s, %v\nwant %s", got, err, tt.want)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	loop := &cyclic{}
	loop.Next = loop
	loopMap := map[string]any{}
	loopMap["self"] = loopMap
	type withNaN struct {
		Items []map[string]float64 `json:"items"`
	}
	tests := []struct {
		name    string
		in      any
		target  error
		message string // substring of the error text
	}{
		{"NaN", math.NaN(), ErrUnsupportedValue, "NaN"},
		{"+Inf in map", map[string]any{"x": math.Inf(1)}, ErrUnsupportedValue, `["x"]`},
		{"path to bad value", withNaN{Items: []map[string]float64{{}, {"v": math.NaN()}}}, ErrUnsupportedValue, `.items[1]["v"]`},
		{"int beyond 2^53", []any{int64(1) << 60}, ErrUnsupportedValue, "2^53"},
		{"byte slice", []byte("abc"), ErrUnsupportedType, "[]uint8"},
		{"byte slice field", struct{ B []byte }{}, ErrUnsupportedType, ".B"},
		{"channel", make(chan int), ErrUnsupportedType, "chan int"},
		{"func", func() {}, ErrUnsupportedType, "func()"},
		{"complex", complex(1, 2), ErrUnsupportedType, "complex128"},
		{"unsupported map key", map[[2]int]int{{1, 2}: 3}, ErrUnsupportedType, "map"},
		{"pointer cycle", loop, ErrUnsupportedValue, "cycle"},
		{"map cycle", loopMap, ErrUnsupportedValue, "cycle"},
		{"invalid RawMessage", json.RawMessage(`{"a":`), new(SyntaxError), "offset"},
		{"RawMessage overflow", json.RawMessage(`1e999`), ErrUnsupportedValue, "overflow"},
		{"invalid json.Number", json.Number("0x10"), ErrUnsupportedValue, "json.Number"},
		{"json.Number overflow", json.Number("1e999"), ErrUnsupportedValue, "overflow"},
		{"MarshalJSON returns bad JSON", badMarshaler{}, new(SyntaxError), "badMarshaler"},
		{"MarshalJSON fails", []any{failingMarshaler{}}, nil, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err == nil {
				t.Fatalf("Marshal = %s; want an error", got)
			}
			if got != nil {
				t.Errorf("Marshal returned %q with the error; want nil", got)
			}
			switch target := tt.target.(type) {
			case nil:
			case *SyntaxError:
				if !errors.As(err, &target) {
					t.Errorf("error %v; want a *SyntaxError", err)
				}
			default:
				if !errors.Is(err, target) {
					t.Errorf("error %v; want %v", err, target)
				}
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not mention %q", err, tt.message)
			}
		})
	}
}

func TestAppendMarshal(t *testing.T) {
	dst := []byte("x=")
	out, err := AppendMarshal(dst, map[string]int{"b": 1, "1": 2})
	if err != nil || string(out) != `x={"1":2,"b":1}` {
		t.Fatalf("got %q, %v", out, err)
	}
	out, err = AppendMarshal(dst, []any{1, math.NaN()})
	if err == nil || string(out) != "x=" {
		t.Fatalf("got %q, %v; want dst unchanged and an error", out, err)
	}
}

func TestMarshalConcurrent(t *testing.T) {
	// Run with -race: the type cache and the pooled state are shared.
	type item struct {
		ID   int            `json:"id"`
		Tags map[string]any `json:"tags"`
	}
	want := `{"id":1,"tags":{"0":[],"a":{"2":2,"b":1}}}`
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				b, err := Marshal(&item{ID: 1, Tags: map[string]any{"a": Object{{"b", 1}, {"2", 2}}, "0": []int(nil)}})
				if err == nil && string(b) != want {
					err = fmt.Errorf("got %s", b)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestMarshalAgreesWithEncodingJSON: apart from the documented differences (nil slices and
// maps, []byte) Marshal(v) is encoding/json's output, canonicalized — the same field
// selection, tag, embedding, omitempty/omitzero and marshaler rules.
func TestMarshalAgreesWithEncodingJSON(t *testing.T) {
	type indexed struct {
		B   string  `json:"b"`
		Ten float64 `json:"10"`
		Two *int    `json:"2,omitempty"`
		S   int     `json:"s,string"`
	}
	two := 2
	values := []any{
		outer{Name: "n<&>", Embedded: Embedded{E1: "deep", E2: 9}, E1: "top", Plain: 4},
		outer{embeddedPtr: &embeddedPtr{P: "\u2028x"}},
		conflicting{conflictA{1}, conflictB{2}, 3},
		tagWins{tagWinsA{"a"}, tagWinsB{"b"}},
		omitEverything(),
		&node{Name: "root", Children: []*node{{Name: "leaf", Children: []*node{}}}},
		indexed{B: "x", Ten: 1e21, Two: &two, S: 5},
		indexed{Ten: -1e-7},
		map[string]any{"z": 1.5, "a": []any{"é", nil, true}, "m": map[string]int{"b": 1, "a": 2}},
		map[int]float32{3: 0.1, -1: 1e10},
		struct {
			T time.Time         `json:"t"`
			A netip.Addr        `json:"a"`
			R json.RawMessage   `json:"r"`
			N json.Number       `json:"n"`
			C map[textColor]int `json:"c"`
			P *ptrMarshaler     `json:"p"`
			W jsonWeird         `json:"w"`
		}{time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), netip.MustParseAddr("::1"), json.RawMessage(`{"b":1,"a":2}`),
			"1.50", map[textColor]int{1: 1}, &ptrMarshaler{3}, jsonWeird{}},
	}
	for i, v := range values {
		std, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("value %d: encoding/json: %v", i, err)
		}
		want, err := Canonicalize(std)
		if err != nil {
			t.Fatalf("value %d: Canonicalize(%s): %v", i, std, err)
		}
		got, err := Marshal(v)
		if err != nil || string(got) != string(want) {
			t.Errorf("value %d:\n got %s, %v\nwant %s (encoding/json: %s)", i, got, err, want, std)
		}
	}
}
