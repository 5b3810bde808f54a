package jsoncanon

import (
	"fmt"
	"strings"
	"testing"
)

func TestCanonicalizeKeyOrder(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"spec example", `{"b":1,"a":2,"10":3,"2":4}`, `{"2":4,"10":3,"b":1,"a":2}`},
		{"insertion order kept", `{"z":1,"y":2,"x":3}`, `{"z":1,"y":2,"x":3}`},
		{"largest array index", `{"a":0,"4294967294":1,"0":2}`, `{"0":2,"4294967294":1,"a":0}`},
		{"2^32-1 is not an index", `{"4294967295":1,"a":2,"1":3}`, `{"1":3,"4294967295":1,"a":2}`},
		{"non-canonical numerals are plain keys", `{"01":1,"-1":2,"1.0":3," 1":4,"1e2":5,"+1":6,"":7,"1":8}`,
			`{"1":8,"01":1,"-1":2,"1.0":3," 1":4,"1e2":5,"+1":6,"":7}`},
		{"numeric not lexical", `{"100":1,"20":2,"3":3}`, `{"3":3,"20":2,"100":1}`},
		{"escaped digits are still an index", `{"a":1,"\u0031\u0030":2}`, `{"10":2,"a":1}`},
		{"duplicate: first position, last value", `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{"duplicate index keys", `{"1":1,"0":2,"1":3}`, `{"0":2,"1":3}`},
		{"duplicate spelled with an escape", `{"a":1,"b":0,"\u0061":2}`, `{"a":2,"b":0}`},
		{"duplicate replaced by object", `{"a":{"x":1},"a":[1]}`, `{"a":[1]}`},
		{"nested objects reordered", `[{"b":{"9":0,"8":1},"1":null}]`, `[{"1":null,"b":{"8":1,"9":0}}]`},
		{"__proto__ is an ordinary key", `{"__proto__":1,"a":2}`, `{"__proto__":1,"a":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tt.in))
			if err != nil || string(got) != tt.want {
				t.Errorf("Canonicalize(%s)\n got %s, %v\nwant %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCanonicalizeManyKeysWithDuplicates(t *testing.T) {
	// More than 16 members takes the map-based duplicate detection.
	var in, want strings.Builder
	in.WriteString("{")
	want.WriteString(`{"3":"last3",`)
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&in, `"k%d":%d,`, i, i)
	}
	in.WriteString(`"3":"first3","k5":"again","3":"last3"}`)
	for i := 0; i < 40; i++ {
		if i == 5 {
			want.WriteString(`"k5":"again",`)
			continue
		}
		fmt.Fprintf(&want, `"k%d":%d,`, i, i)
	}
	w := strings.TrimSuffix(want.String(), ",") + "}"
	got, err := Canonicalize([]byte(in.String()))
	if err != nil || string(got) != w {
		t.Errorf("got  %s, %v\nwant %s", got, err, w)
	}
}

func TestMarshalKeyOrder(t *testing.T) {
	type indexed struct {
		B   int `json:"b"`
		Ten int `json:"10"`
		A   int `json:"a"`
		Two int `json:"2"`
	}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"map: indices first, then sorted", map[string]int{"b": 1, "a": 2, "10": 3, "2": 4, "01": 5, "4294967295": 6},
			`{"2":4,"10":3,"01":5,"4294967295":6,"a":2,"b":1}`},
		{"map[string]any fast path", map[string]any{"b": 1, "a": 2, "10": 3, "2": 4},
			`{"2":4,"10":3,"a":2,"b":1}`},
		{"int keys ordered numerically", map[int]string{10: "a", 2: "b", -1: "c"}, `{"2":"b","10":"a","-1":"c"}`},
		{"colliding invalid UTF-8 keys deduplicated", map[string]int{"\xff": 1, "\xfe": 2}, "{\"\ufffd\":1}"},
		{"struct field names follow JS order", indexed{1, 2, 3, 4}, `{"2":4,"10":2,"b":1,"a":3}`},
		{"Object keeps insertion order", Object{{"z", 1}, {"a", 2}, {"m", 3}}, `{"z":1,"a":2,"m":3}`},
		{"Object indices first", Object{{"z", 1}, {"7", 2}, {"a", 3}, {"0", 4}}, `{"0":4,"7":2,"z":1,"a":3}`},
		{"Object duplicates: first position, last value", Object{{"a", 1}, {"b", 2}, {"a", 3}}, `{"a":3,"b":2}`},
		{"nil Object", Object(nil), `{}`},
		{"Object in map in slice", []any{map[string]any{"x": Object{{"b", 1}, {"1", 2}}}}, `[{"x":{"1":2,"b":1}}]`},
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
