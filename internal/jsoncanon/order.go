package jsoncanon

import (
	"bytes"
	"cmp"
	"hash/maphash"
	"slices"
)

// arrayIndex reports whether key is a canonical array index ("0".."4294967294"), the keys
// JavaScript enumerates first, in ascending numeric order, whatever their insertion order.
func arrayIndex(key string) (uint32, bool) {
	n := len(key)
	if n == 0 || n > 10 || key[0] < '0' || key[0] > '9' || (key[0] == '0' && n > 1) {
		return 0, false
	}
	var v uint64
	for i := 0; i < n; i++ {
		c := key[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > 4294967294 {
		return 0, false
	}
	return uint32(v), true
}

// member locates one encoded `"key":value` pair inside the output buffer: the key (with
// quotes) is buf[k0:k1], the colon is buf[k1], the value ends at v1.
type member struct {
	k0, k1, v1 int
	idx        int64 // array index of the key, or -1
}

func newMember(buf []byte, k0, k1, v1 int) member {
	m := member{k0: k0, k1: k1, v1: v1, idx: -1}
	// An array-index key has no escapes, so its encoded form is the key in quotes.
	if k1-k0 <= 12 {
		if i, ok := arrayIndex(string(buf[k0+1 : k1-1])); ok {
			m.idx = int64(i)
		}
	}
	return m
}

// orderer rewrites an already encoded object into JavaScript order. Its buffers are reused
// between objects; it is never re-entered while it runs.
type orderer struct {
	tmp   []byte
	order []int
	last  []int
	seen  map[uint64]int // key hash -> first member with that hash
	seed  maphash.Seed
}

// fix puts the members ms, encoded in buf after the '{' at buf[open], into JavaScript order:
// array-index keys first ascending, then the rest in their current order; a duplicate key
// keeps its first position and takes its last value. Members must be separated by single
// commas. It returns buf with the object's content rewritten (the '}' not yet appended).
func (o *orderer) fix(buf []byte, open int, ms []member) []byte {
	hasIdx := false
	for i := range ms {
		if ms[i].idx >= 0 {
			hasIdx = true
			break
		}
	}
	if !hasIdx && len(ms) < 2 {
		return buf
	}
	o.order = o.order[:0]
	o.last = slices.Grow(o.last[:0], len(ms))[:len(ms)]
	switch {
	case len(ms) <= 16:
	members:
		for i := range ms {
			key := buf[ms[i].k0:ms[i].k1]
			for _, j := range o.order {
				if bytes.Equal(buf[ms[j].k0:ms[j].k1], key) {
					o.last[j] = i
					continue members
				}
			}
			o.order = append(o.order, i)
			o.last[i] = i
		}
	default:
		// Hash the keys rather than keep them in a map[string]int: no allocation per key.
		if o.seen == nil {
			o.seen = make(map[uint64]int)
			o.seed = maphash.MakeSeed()
		}
		clear(o.seen)
	hashed:
		for i := range ms {
			key := buf[ms[i].k0:ms[i].k1]
			h := maphash.Bytes(o.seed, key)
			if j, ok := o.seen[h]; ok {
				if bytes.Equal(buf[ms[j].k0:ms[j].k1], key) {
					o.last[j] = i
					continue
				}
				for _, j := range o.order { // hash collision: compare for real
					if bytes.Equal(buf[ms[j].k0:ms[j].k1], key) {
						o.last[j] = i
						continue hashed
					}
				}
			} else {
				o.seen[h] = i
			}
			o.order = append(o.order, i)
			o.last[i] = i
		}
	}
	if !hasIdx && len(o.order) == len(ms) {
		return buf // no duplicates after all
	}
	if hasIdx {
		slices.SortStableFunc(o.order, func(a, b int) int {
			ia, ib := ms[a].idx, ms[b].idx
			switch {
			case ia >= 0 && ib >= 0:
				return cmp.Compare(ia, ib)
			case ia >= 0:
				return -1
			case ib >= 0:
				return 1
			}
			return 0
		})
	}
	base := open + 1
	o.tmp = append(o.tmp[:0], buf[base:]...)
	buf = buf[:base]
	for n, i := range o.order {
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, o.tmp[ms[i].k0-base:ms[i].k1-base+1]...) // key and colon
		v := ms[o.last[i]]
		buf = append(buf, o.tmp[v.k1+1-base:v.v1-base]...)
	}
	return buf
}
