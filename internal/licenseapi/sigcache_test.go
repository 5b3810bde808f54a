package licenseapi

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func sigKey(i int) [32]byte {
	var k [32]byte
	copy(k[:], strconv.Itoa(i))
	return k
}

func TestSigCache(t *testing.T) {
	type op struct {
		add  bool
		key  int
		sig  string // add: what to keep; get: what to find ("": nothing)
		keep []int  // after the op, most recent first
	}
	long := strings.Repeat("s", maxCachedSignature+1)
	for _, tc := range []struct {
		name string
		size int
		ops  []op
	}{
		{"empty", 2, []op{{key: 1}}},
		{"kept and found", 2, []op{{add: true, key: 1, sig: "a", keep: []int{1}}, {key: 1, sig: "a", keep: []int{1}}, {key: 2}}},
		{"least recent goes", 2, []op{
			{add: true, key: 1, sig: "a", keep: []int{1}},
			{add: true, key: 2, sig: "b", keep: []int{2, 1}},
			{add: true, key: 3, sig: "c", keep: []int{3, 2}},
			{key: 1},
		}},
		{"a get makes it the most recent", 2, []op{
			{add: true, key: 1, sig: "a"},
			{add: true, key: 2, sig: "b", keep: []int{2, 1}},
			{key: 1, sig: "a", keep: []int{1, 2}},
			{add: true, key: 3, sig: "c", keep: []int{3, 1}},
			{key: 2},
		}},
		{"adding a kept key replaces it", 2, []op{
			{add: true, key: 1, sig: "a"},
			{add: true, key: 2, sig: "b"},
			{add: true, key: 1, sig: "a2", keep: []int{1, 2}},
			{key: 1, sig: "a2"},
		}},
		{"size one", 1, []op{
			{add: true, key: 1, sig: "a", keep: []int{1}},
			{add: true, key: 2, sig: "b", keep: []int{2}},
			{key: 1},
			{key: 2, sig: "b"},
		}},
		{"too long to keep", 2, []op{{add: true, key: 1, sig: long, keep: []int{}}, {key: 1}}},
		{"longest kept", 2, []op{{add: true, key: 1, sig: long[1:], keep: []int{1}}, {key: 1, sig: long[1:]}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSigCache(tc.size)
			for i, o := range tc.ops {
				if o.add {
					c.add(sigKey(o.key), o.sig)
				} else if got, ok := c.get(sigKey(o.key)); got != o.sig || ok != (o.sig != "") {
					t.Fatalf("op %d: get %d = %q, %v; want %q", i, o.key, got, ok, o.sig)
				}
				if o.keep != nil {
					if got := sigOrder(c); !slices.Equal(got, o.keep) {
						t.Fatalf("op %d: kept %v, want %v", i, got, o.keep)
					}
				}
			}
		})
	}
}

// sigOrder lists the cache's keys, most recent first, checking the links both ways.
func sigOrder(c *sigCache) []int {
	var fwd, back []int
	for i := c.entries[0].next; i != 0; i = c.entries[i].next {
		k, _ := strconv.Atoi(strings.TrimRight(string(c.entries[i].key[:]), "\x00"))
		fwd = append(fwd, k)
	}
	for i := c.entries[0].prev; i != 0; i = c.entries[i].prev {
		k, _ := strconv.Atoi(strings.TrimRight(string(c.entries[i].key[:]), "\x00"))
		back = append(back, k)
	}
	slices.Reverse(back)
	if !slices.Equal(fwd, back) || len(fwd) != len(c.index) {
		return []int{-1} // broken links or index
	}
	return fwd
}

// TestSigCacheMatchesAModel drives the cache and a plain LRU model with the same random
// operations.
func TestSigCacheMatchesAModel(t *testing.T) {
	const size = 16
	c := newSigCache(size)
	var model []int // most recent first
	vals := map[int]string{}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 20000 {
		k := r.IntN(40)
		if r.IntN(2) == 0 {
			v := strconv.Itoa(n)
			c.add(sigKey(k), v)
			model = slices.DeleteFunc(model, func(x int) bool { return x == k })
			model = append([]int{k}, model...)
			if len(model) > size {
				delete(vals, model[size])
				model = model[:size]
			}
			vals[k] = v
		} else {
			got, ok := c.get(sigKey(k))
			want, wok := vals[k]
			if got != want || ok != wok {
				t.Fatalf("op %d: get %d = %q, %v; want %q, %v", n, k, got, ok, want, wok)
			}
			if ok {
				model = slices.DeleteFunc(model, func(x int) bool { return x == k })
				model = append([]int{k}, model...)
			}
		}
		if got := sigOrder(c); !slices.Equal(got, model) {
			t.Fatalf("op %d: order %v, want %v", n, got, model)
		}
	}
	if len(c.entries) != size+1 {
		t.Fatalf("%d entries allocated for a cache of %d", len(c.entries)-1, size)
	}
}

// TestSigCacheHoldsNoPointers: the point of sigCache is that the collector has nothing
// to walk in it.
func TestSigCacheHoldsNoPointers(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[sigEntry](), reflect.TypeFor[[32]byte](), reflect.TypeFor[int32]()} {
		if hasPointers(typ) {
			t.Errorf("%v holds pointers", typ)
		}
	}
	if k, v := reflect.TypeOf(newSigCache(1).index).Key(), reflect.TypeOf(newSigCache(1).index).Elem(); hasPointers(k) || hasPointers(v) {
		t.Errorf("the index maps %v to %v: it holds pointers", k, v)
	}
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Array:
		return hasPointers(t.Elem())
	case reflect.Struct:
		for f := range t.Fields() {
			if hasPointers(f.Type) {
				return true
			}
		}
		return false
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	}
	return true
}

// TestSigCacheConcurrent: gets and adds from many goroutines (run with -race) leave the
// links and the index consistent, and every hit is a value added under its key.
func TestSigCacheConcurrent(t *testing.T) {
	c := newSigCache(64)
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 5000 {
				k := r.IntN(200)
				if r.IntN(3) == 0 {
					c.add(sigKey(k), "v"+strconv.Itoa(k))
				} else if v, ok := c.get(sigKey(k)); ok && v != "v"+strconv.Itoa(k) {
					t.Errorf("key %d holds %q", k, v)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	if got := sigOrder(c); len(got) != 64 || got[0] == -1 {
		t.Fatalf("after concurrent use: %d entries in order %v", len(c.index), got)
	}
}
