package jsoncanon

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// field is one encoded struct field, resolved once per type.
type field struct {
	name      string
	nameBytes []byte // `"name":`, escaped once
	tagged    bool
	index     []int        // path through embedded structs
	typ       reflect.Type // declared type, one unnamed pointer dereferenced (for options)
	arrayIdx  int64        // array index of name, or -1

	omitEmpty bool
	omitZero  bool
	isZero    func(reflect.Value) bool // custom IsZero for omitzero, or nil
	quoted    bool

	enc encoderFunc
}

type isZeroer interface{ IsZero() bool }

var isZeroerType = reflect.TypeFor[isZeroer]()

func newStructEncoder(t reflect.Type) encoderFunc {
	fields := typeFields(t)
	for i := range fields {
		f := &fields[i]
		f.enc = typeEncoder(typeByIndex(t, f.index))
	}
	return func(st *state, dst []byte, v reflect.Value) ([]byte, error) {
		if err := st.enter(); err != nil {
			return dst, err
		}
		dst = append(dst, '{')
		first := true
	fieldLoop:
		for i := range fields {
			f := &fields[i]
			fv := v
			for _, x := range f.index {
				if fv.Kind() == reflect.Pointer {
					if fv.IsNil() {
						continue fieldLoop // field of a nil embedded pointer
					}
					fv = fv.Elem()
				}
				fv = fv.Field(x)
			}
			if f.omitEmpty && isEmptyValue(fv) ||
				f.omitZero && (f.isZero == nil && fv.IsZero() || f.isZero != nil && f.isZero(fv)) {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, f.nameBytes...)
			start := len(dst)
			var err error
			if dst, err = f.enc(st, dst, fv); err != nil {
				return dst, withPath(err, "."+f.name)
			}
			if f.quoted {
				dst = quote(dst, start, f.typ.Kind() == reflect.String)
			}
		}
		st.depth--
		return append(dst, '}'), nil
	}
}

// quote applies the ",string" option to the value encoded at dst[start:].
func quote(dst []byte, start int, isString bool) []byte {
	if string(dst[start:]) == "null" {
		return dst // nil pointer stays null, as in encoding/json
	}
	if isString {
		return appendString(dst[:start], string(dst[start:]))
	}
	dst = append(dst, 0)
	copy(dst[start+1:], dst[start:])
	dst[start] = '"'
	return append(dst, '"')
}

func typeByIndex(t reflect.Type, index []int) reflect.Type {
	for _, i := range index {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		t = t.Field(i).Type
	}
	return t
}

// typeFields returns the fields encoding/json would encode for t (same visibility, tag and
// embedding rules), ordered the way JavaScript re-serialises them: array-index names first
// ascending, then declaration order.
func typeFields(t reflect.Type) []field {
	current := []field{}
	next := []field{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []field

	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := 0; i < f.typ.NumField(); i++ {
				sf := f.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !isValidTag(name) {
					name = ""
				}
				index := make([]int, len(f.index)+1)
				copy(index, f.index)
				index[len(f.index)] = i

				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					nf := field{
						name:      name,
						tagged:    name != "",
						index:     index,
						typ:       ft,
						omitEmpty: hasOption(opts, "omitempty"),
						omitZero:  hasOption(opts, "omitzero"),
						quoted:    hasOption(opts, "string") && quotable(ft),
					}
					if nf.name == "" {
						nf.name = sf.Name
					}
					if nf.omitZero {
						nf.isZero = zeroFunc(sf.Type)
					}
					fields = append(fields, nf)
					if count[f.typ] > 1 {
						// The same embedded type twice at this depth: add a duplicate so
						// the dominance rule below drops the name, as encoding/json does.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, field{name: ft.Name(), index: index, typ: ft})
				}
			}
		}
	}

	// Resolve name conflicts: shallowest wins, then tagged; a tie removes the name.
	slices.SortFunc(fields, func(a, b field) int {
		return cmp.Or(
			strings.Compare(a.name, b.name),
			cmp.Compare(len(a.index), len(b.index)),
			boolFirst(a.tagged, b.tagged),
			slices.Compare(a.index, b.index),
		)
	})
	out := fields[:0]
	for i, adv := 0, 0; i < len(fields); i += adv {
		for adv = 1; i+adv < len(fields) && fields[i+adv].name == fields[i].name; adv++ {
		}
		group := fields[i : i+adv]
		if len(group) > 1 && len(group[0].index) == len(group[1].index) && group[0].tagged == group[1].tagged {
			continue
		}
		out = append(out, group[0])
	}
	fields = out

	for i := range fields {
		f := &fields[i]
		f.arrayIdx = -1
		if n, ok := arrayIndex(f.name); ok {
			f.arrayIdx = int64(n)
		}
		f.nameBytes = append(appendString(nil, f.name), ':')
	}
	slices.SortFunc(fields, func(a, b field) int {
		switch {
		case a.arrayIdx >= 0 && b.arrayIdx >= 0:
			return cmp.Compare(a.arrayIdx, b.arrayIdx)
		case a.arrayIdx >= 0:
			return -1
		case b.arrayIdx >= 0:
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	return fields
}

func boolFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

// quotable reports whether the ",string" option applies to t, as in encoding/json
// (marshalers ignore it).
func quotable(t reflect.Type) bool {
	if t.Implements(marshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(marshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return false
}

// zeroFunc returns the IsZero-method test omitzero uses for t, or nil for reflect's IsZero.
func zeroFunc(t reflect.Type) func(reflect.Value) bool {
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || (v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil()) ||
				v.Interface().(isZeroer).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || v.Interface().(isZeroer).IsZero()
		}
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				v2 := reflect.New(v.Type()).Elem()
				v2.Set(v)
				v = v2
			}
			return v.Addr().Interface().(isZeroer).IsZero()
		}
	}
	return nil
}

// isValidTag is encoding/json's rule for usable tag names.
func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
