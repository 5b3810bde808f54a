package manageapi

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// decodeValue decodes raw, a valid JSON value, into v, the destination at path, and
// builds the path itself, one object member or array index at a time: a type error
// names its field as every other management error does (items[0].licenses[1].key,
// customer.email), whichever Go toolchain built the server. encoding/json's
// UnmarshalTypeError.Field is not read: Go 1.26 leaves array indices out of it
// (items.licenses.key) where 1.27 writes them (items.0.licenses.1.key), and 1.27 spells
// a member as sent (Product_Name) where 1.26 gives the field's own name.
//
// Objects are split into members by encoding/json itself (decodeObject), so which member
// fills which field (case-insensitive matching, the last of duplicates) stays its rule;
// arrays are split into elements; everything else is decoded by encoding/json whole.
func decodeValue(path string, raw json.RawMessage, v reflect.Value) error {
	t := v.Type()
	switch {
	case decodesItself(t):
	case t.Kind() == reflect.Pointer:
		if rawType(raw) == "null" {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return decodeValue(path, raw, v.Elem())
	case t.Kind() == reflect.Struct:
		return decodeObject(path, raw, v)
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8: // []byte is a base64 string
		return decodeArray(path, raw, v)
	}
	if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
		// raw is valid JSON: what fails is its type (or an integer's range).
		return typeError(path, t, raw)
	}
	return nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodesItself reports whether encoding/json decodes a t by its own method.
func decodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(jsonUnmarshaler) || p.Implements(textUnmarshaler)
}

// decodeObject decodes a JSON object into the struct v. encoding/json first matches the
// object's members to v's fields, decoding each as raw JSON into the twin of v's type;
// each member found is then decoded into its field, with the field's JSON name on the
// path.
func decodeObject(path string, raw json.RawMessage, v reflect.Value) error {
	switch rawType(raw) {
	case "null":
		return nil // as encoding/json: the struct is left as it is
	case "an object":
	default:
		return typeError(path, v.Type(), raw)
	}
	tw := twinOf(v.Type())
	members := reflect.New(tw.typ)
	if err := json.Unmarshal(raw, members.Interface()); err != nil {
		return fmt.Errorf("decoding %s's members: %w", v.Type(), err) // cannot happen: raw is an object
	}
	for i, f := range tw.fields {
		member := members.Elem().Field(i).Interface().(json.RawMessage)
		if member == nil {
			continue // absent
		}
		if err := decodeValue(joinPath(path, f.name), member, v.Field(f.index)); err != nil {
			return err
		}
	}
	return nil
}

// decodeArray decodes a JSON array into the slice v, element by element, each with its
// index on the path.
func decodeArray(path string, raw json.RawMessage, v reflect.Value) error {
	switch rawType(raw) {
	case "null":
		v.SetZero()
		return nil
	case "an array":
	default:
		return typeError(path, v.Type(), raw)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return fmt.Errorf("decoding %s's elements: %w", v.Type(), err) // cannot happen: raw is an array
	}
	s := reflect.MakeSlice(v.Type(), len(elems), len(elems))
	for i, e := range elems {
		if err := decodeValue(fmt.Sprintf("%s[%d]", path, i), e, s.Index(i)); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

func joinPath(path, member string) string {
	if path == "" {
		return member
	}
	return path + "." + member
}

// twin is a struct type with one json.RawMessage field per field of a request type that
// encoding/json decodes, under the same JSON name; fields are those fields, in the same
// order.
type twin struct {
	typ    reflect.Type
	fields []twinField
}

// twinField is a field of a request type that encoding/json decodes: its index and JSON
// name.
type twinField struct {
	index int
	name  string
}

var twins sync.Map // reflect.Type → twin

// twinOf returns t's twin. Request types are plain structs: an embedded field or a tag
// option other than omitempty would change how encoding/json matches members, and is
// refused (a programming error that every test of the endpoint meets).
func twinOf(t reflect.Type) twin {
	if tw, ok := twins.Load(t); ok {
		return tw.(twin)
	}
	var sf []reflect.StructField
	var tw twin
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue // encoding/json ignores it
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous || opts != "" && opts != "omitempty" {
			panic(fmt.Sprintf("manageapi: decode does not handle field %s of %s (embedded, or tag %q)", f.Name, t, tag))
		}
		if name == "" {
			name = f.Name
		}
		sf = append(sf, reflect.StructField{
			Name: f.Name,
			Type: reflect.TypeFor[json.RawMessage](),
			Tag:  reflect.StructTag(fmt.Sprintf("json:%q", name)),
		})
		tw.fields = append(tw.fields, twinField{i, name})
	}
	tw.typ = reflect.StructOf(sf)
	twins.Store(t, tw)
	return tw
}
