package jsoncanon

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Object is an ordered JSON object for callers that need insertion order. Marshal emits it
// in JavaScript order: array-index keys ("0".."4294967294") first ascending, then the rest in
// insertion order; a repeated key keeps its first position and its last value.
type Object []Member

// Member is one key/value pair of an Object.
type Member struct {
	Key   string
	Value any
}

// Marshal encodes v as JavaScript-canonical JSON: compact, no trailing newline.
func Marshal(v any) ([]byte, error) {
	st := getState()
	defer putState(st)
	buf, err := st.appendAny(st.buf[:0], v)
	st.buf = buf
	if err != nil {
		return nil, err
	}
	return slices.Clone(buf), nil
}

// AppendMarshal appends the encoding of v to dst. On error dst is returned unchanged in
// length.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	st := getState()
	defer putState(st)
	out, err := st.appendAny(dst, v)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// appendAny encodes common dynamic types without reflection, the rest through the
// per-type encoder cache.
func (st *state) appendAny(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, x), nil
	case bool:
		return appendBool(dst, x), nil
	case float64:
		return appendFloatChecked(dst, x, 64)
	case int:
		return appendInt(dst, int64(x))
	case int64:
		return appendInt(dst, x)
	case json.Number:
		return appendNumberString(dst, x)
	case json.RawMessage:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return st.canonicalize(dst, x)
	case map[string]any:
		return st.appendStringMap(dst, x)
	case []any:
		return st.appendSlice(dst, x)
	case Object:
		return st.appendObject(dst, x)
	}
	rv := reflect.ValueOf(v)
	return typeEncoder(rv.Type())(st, dst, rv)
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// appendNumberString encodes a json.Number as the number JavaScript would read from it.
func appendNumberString(dst []byte, n json.Number) ([]byte, error) {
	if n == "" {
		return append(dst, '0'), nil // as encoding/json
	}
	p := parser{data: []byte(n)}
	out, err := p.number(dst)
	var syntaxErr *SyntaxError
	if errors.As(err, &syntaxErr) || (err == nil && p.pos != len(n)) {
		return dst, fmt.Errorf("%w: invalid json.Number %q", ErrUnsupportedValue, string(n))
	}
	return out, err
}

func (st *state) enter() error {
	st.depth++
	if st.depth > maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d (reference cycle?)", ErrUnsupportedValue, maxDepth)
	}
	return nil
}

func (st *state) appendSlice(dst []byte, s []any) ([]byte, error) {
	if err := st.enter(); err != nil {
		return dst, err
	}
	dst = append(dst, '[')
	for i, e := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = st.appendAny(dst, e); err != nil {
			return dst, withPath(err, "["+strconv.Itoa(i)+"]")
		}
	}
	st.depth--
	return append(dst, ']'), nil
}

func (st *state) appendObject(dst []byte, o Object) ([]byte, error) {
	if err := st.enter(); err != nil {
		return dst, err
	}
	open := len(dst)
	dst = append(dst, '{')
	base := len(st.members)
	defer func() { st.members = st.members[:base] }()
	for i := range o {
		if i > 0 {
			dst = append(dst, ',')
		}
		k0 := len(dst)
		dst = appendString(dst, o[i].Key)
		k1 := len(dst)
		dst = append(dst, ':')
		var err error
		if dst, err = st.appendAny(dst, o[i].Value); err != nil {
			return dst, withPath(err, "["+strconv.Quote(o[i].Key)+"]")
		}
		st.members = append(st.members, newMember(dst, k0, k1, len(dst)))
	}
	dst = st.ord.fix(dst, open, st.members[base:])
	st.depth--
	return append(dst, '}'), nil
}

func (st *state) appendStringMap(dst []byte, m map[string]any) ([]byte, error) {
	if err := st.enter(); err != nil {
		return dst, err
	}
	kbase := len(st.keys)
	for k := range m {
		st.keys = append(st.keys, k)
	}
	defer func() { st.keys = st.keys[:kbase] }()
	keys := st.keys[kbase:]
	slices.Sort(keys)
	open := len(dst)
	dst = append(dst, '{')
	base := len(st.members)
	defer func() { st.members = st.members[:base] }()
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		k0 := len(dst)
		dst = appendString(dst, k)
		k1 := len(dst)
		dst = append(dst, ':')
		var err error
		if dst, err = st.appendAny(dst, m[k]); err != nil {
			return dst, withPath(err, "["+strconv.Quote(k)+"]")
		}
		st.members = append(st.members, newMember(dst, k0, k1, len(dst)))
	}
	// Distinct Go keys can only collide once invalid UTF-8 became U+FFFD; checking costs
	// little next to the map iteration and keeps the output free of duplicate keys.
	dst = st.ord.fix(dst, open, st.members[base:])
	st.depth--
	return append(dst, '}'), nil
}

// encoderFunc appends the encoding of v, whose type it was built for.
type encoderFunc func(st *state, dst []byte, v reflect.Value) ([]byte, error)

var encoderCache sync.Map // reflect.Type -> encoderFunc

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	objectType        = reflect.TypeFor[Object]()
	mapStringAnyType  = reflect.TypeFor[map[string]any]()
	sliceAnyType      = reflect.TypeFor[[]any]()
	numberType        = reflect.TypeFor[json.Number]()
)

// typeEncoder returns the cached encoder for t, building it once. A recursive type gets an
// indirect encoder that waits for the real one, as in encoding/json.
func typeEncoder(t reflect.Type) encoderFunc {
	if fi, ok := encoderCache.Load(t); ok {
		return fi.(encoderFunc)
	}
	var (
		wg sync.WaitGroup
		f  encoderFunc
	)
	wg.Add(1)
	fi, loaded := encoderCache.LoadOrStore(t, encoderFunc(func(st *state, dst []byte, v reflect.Value) ([]byte, error) {
		wg.Wait()
		return f(st, dst, v)
	}))
	if loaded {
		return fi.(encoderFunc)
	}
	f = newTypeEncoder(t, true)
	wg.Done()
	encoderCache.Store(t, f)
	return f
}

func newTypeEncoder(t reflect.Type, allowAddr bool) encoderFunc {
	// A pointer-receiver marshaler is used when the value is addressable (a field of a
	// struct reached through a pointer, a slice element), as encoding/json does.
	if t.Kind() != reflect.Pointer && allowAddr {
		pt := reflect.PointerTo(t)
		if pt.Implements(marshalerType) && !t.Implements(marshalerType) {
			return condAddrEncoder(addrMarshalerEncoder, newTypeEncoder(t, false))
		}
		if pt.Implements(textMarshalerType) && !t.Implements(textMarshalerType) && !t.Implements(marshalerType) {
			return condAddrEncoder(addrTextMarshalerEncoder, newTypeEncoder(t, false))
		}
	}
	if t.Implements(marshalerType) {
		return marshalerEncoder
	}
	if t.Implements(textMarshalerType) {
		return textMarshalerEncoder
	}
	switch t {
	case mapStringAnyType: // user metadata: skip the reflective map walk
		return func(st *state, dst []byte, v reflect.Value) ([]byte, error) {
			return st.appendStringMap(dst, v.Interface().(map[string]any))
		}
	case sliceAnyType:
		return func(st *state, dst []byte, v reflect.Value) ([]byte, error) {
			return st.appendSlice(dst, v.Interface().([]any))
		}
	case objectType:
		return func(st *state, dst []byte, v reflect.Value) ([]byte, error) {
			return st.appendObject(dst, v.Interface().(Object))
		}
	case numberType:
		return func(_ *state, dst []byte, v reflect.Value) ([]byte, error) {
			return appendNumberString(dst, json.Number(v.String()))
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(_ *state, dst []byte, v reflect.Value) ([]byte, error) {
			return appendBool(dst, v.Bool()), nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(_ *state, dst []byte, v reflect.Value) ([]byte, error) {
			return appendInt(dst, v.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(_ *state, dst []byte, v reflect.Value) ([]byte, error) {
			return appendUint(dst, v.Uint())
		}
	case reflect.Float32:
		return func(_ *state, dst []byte, v reflect.Value) ([]byte, error) {
			return appendFloatChecked(dst, v.Float(), 32)
		}
	case reflect.Float64:
		return func(_ *state, dst []byte, v reflect.Value) ([]byte, error) {
			return appendFloatChecked(dst, v.Float(), 64)
		}
	case reflect.String:
		return func(_ *state, dst []byte, v reflect.Value) ([]byte, error) {
			return appendString(dst, v.String()), nil
		}
	case reflect.Interface:
		return func(st *state, dst []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return append(dst, "null"...), nil
			}
			return st.appendAny(dst, v.Interface())
		}
	case reflect.Struct:
		return newStructEncoder(t)
	case reflect.Map:
		return newMapEncoder(t)
	case reflect.Slice:
		return newSliceEncoder(t)
	case reflect.Array:
		return newArrayEncoder(t)
	case reflect.Pointer:
		return newPtrEncoder(t)
	}
	return unsupportedTypeEncoder(t, "")
}

func unsupportedTypeEncoder(t reflect.Type, why string) encoderFunc {
	err := fmt.Errorf("%w: %v%s", ErrUnsupportedType, t, why)
	return func(_ *state, dst []byte, _ reflect.Value) ([]byte, error) {
		return dst, err
	}
}

func condAddrEncoder(canAddr, elseEnc encoderFunc) encoderFunc {
	return func(st *state, dst []byte, v reflect.Value) ([]byte, error) {
		if v.CanAddr() {
			return canAddr(st, dst, v)
		}
		return elseEnc(st, dst, v)
	}
}

func marshalerEncoder(st *state, dst []byte, v reflect.Value) ([]byte, error) {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return append(dst, "null"...), nil
	}
	return st.callMarshaler(dst, v.Interface().(json.Marshaler), v.Type())
}

func addrMarshalerEncoder(st *state, dst []byte, v reflect.Value) ([]byte, error) {
	return st.callMarshaler(dst, v.Addr().Interface().(json.Marshaler), v.Type())
}

func (st *state) callMarshaler(dst []byte, m json.Marshaler, t reflect.Type) ([]byte, error) {
	b, err := m.MarshalJSON()
	if err != nil {
		return dst, fmt.Errorf("jsoncanon: MarshalJSON of %v: %w", t, err)
	}
	out, err := st.canonicalize(dst, b)
	if err != nil {
		return dst, fmt.Errorf("jsoncanon: MarshalJSON of %v returned bad JSON: %w", t, err)
	}
	return out, nil
}

func textMarshalerEncoder(_ *state, dst []byte, v reflect.Value) ([]byte, error) {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return append(dst, "null"...), nil
	}
	return callTextMarshaler(dst, v.Interface().(encoding.TextMarshaler), v.Type())
}

func addrTextMarshalerEncoder(_ *state, dst []byte, v reflect.Value) ([]byte, error) {
	return callTextMarshaler(dst, v.Addr().Interface().(encoding.TextMarshaler), v.Type())
}

func callTextMarshaler(dst []byte, m encoding.TextMarshaler, t reflect.Type) ([]byte, error) {
	b, err := m.MarshalText()
	if err != nil {
		return dst, fmt.Errorf("jsoncanon: MarshalText of %v: %w", t, err)
	}
	return appendString(dst, string(b)), nil
}

func newPtrEncoder(t reflect.Type) encoderFunc {
	elem := typeEncoder(t.Elem())
	return func(st *state, dst []byte, v reflect.Value) ([]byte, error) {
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		if err := st.enter(); err != nil {
			return dst, err
		}
		dst, err := elem(st, dst, v.Elem())
		st.depth--
		return dst, err
	}
}

func newSliceEncoder(t reflect.Type) encoderFunc {
	et := t.Elem()
	if et.Kind() == reflect.Uint8 && !et.Implements(marshalerType) && !et.Implements(textMarshalerType) &&
		!reflect.PointerTo(et).Implements(marshalerType) && !reflect.PointerTo(et).Implements(textMarshalerType) {
		// encoding/json would base64 it; a string field or an explicit encoding is clearer.
		return unsupportedTypeEncoder(t, " (byte slices are not encoded; convert to string or base64 explicitly)")
	}
	return newArrayEncoder(t) // nil slice: Len() == 0, encodes as []
}

func newArrayEncoder(t reflect.Type) encoderFunc {
	elem := typeEncoder(t.Elem())
	return func(st *state, dst []byte, v reflect.Value) ([]byte, error) {
		if err := st.enter(); err != nil {
			return dst, err
		}
		dst = append(dst, '[')
		for i, n := 0, v.Len(); i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = elem(st, dst, v.Index(i)); err != nil {
				return dst, withPath(err, "["+strconv.Itoa(i)+"]")
			}
		}
		st.depth--
		return append(dst, ']'), nil
	}
}

func newMapEncoder(t reflect.Type) encoderFunc {
	kt := t.Key()
	switch kt.Kind() {
	case reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
	default:
		if !kt.Implements(textMarshalerType) {
			return unsupportedTypeEncoder(t, " (map key type)")
		}
	}
	elem := typeEncoder(t.Elem())
	return func(st *state, dst []byte, v reflect.Value) ([]byte, error) {
		if err := st.enter(); err != nil {
			return dst, err
		}
		type entry struct {
			key string
			val reflect.Value
		}
		entries := make([]entry, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			k, err := mapKeyString(it.Key())
			if err != nil {
				return dst, err
			}
			entries = append(entries, entry{k, it.Value()})
		}
		slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
		open := len(dst)
		dst = append(dst, '{')
		base := len(st.members)
		defer func() { st.members = st.members[:base] }()
		for i, e := range entries {
			if i > 0 {
				dst = append(dst, ',')
			}
			k0 := len(dst)
			dst = appendString(dst, e.key)
			k1 := len(dst)
			dst = append(dst, ':')
			var err error
			if dst, err = elem(st, dst, e.val); err != nil {
				return dst, withPath(err, "["+strconv.Quote(e.key)+"]")
			}
			st.members = append(st.members, newMember(dst, k0, k1, len(dst)))
		}
		// Distinct keys may collide (invalid UTF-8 → U+FFFD, TextMarshaler keys): dedupe.
		dst = st.ord.fix(dst, open, st.members[base:])
		st.depth--
		return append(dst, '}'), nil
	}
}

// mapKeyString resolves a map key to its JSON name like encoding/json.
func mapKeyString(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := tm.MarshalText()
		if err != nil {
			return "", fmt.Errorf("jsoncanon: MarshalText of map key %v: %w", k.Type(), err)
		}
		return string(b), nil
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	default:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
}

// isEmptyValue is encoding/json's omitempty test.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
