package manageapi

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/licensor/licensor/internal/licensing"
)

// decodeTarget has each shape decodeValue walks: members, a nested object, arrays of
// objects and of scalars, pointers (to a scalar and to an object), raw JSON and a type
// that decodes itself.
type decodeTarget struct {
	Name  string `json:"name"`
	Inner struct {
		Email string `json:"email"`
	} `json:"inner"`
	Items []struct {
		Code  string   `json:"code"`
		Max   *int64   `json:"max,omitempty"`
		Flags []bool   `json:"flags"`
		Sub   *subject `json:"sub"`
	} `json:"items"`
	Raw     json.RawMessage `json:"raw"`
	When    optTime         `json:"when"`
	NoTag   string
	skipped string
	Ignored string `json:"-"`
}

type subject struct {
	N int `json:"n"`
}

// TestDecodeValueAsEncodingJSON: a body without type errors decodes exactly as
// json.Unmarshal decodes it, members matched by encoding/json's rules.
func TestDecodeValueAsEncodingJSON(t *testing.T) {
	for _, body := range []string{
		`{}`,
		`{"name":"a","inner":{"email":"e"},"items":[{"code":"c","max":3,"flags":[true,false],"sub":{"n":2}},{}],"raw":[1, {"x":null}],"when":"2030-01-01","NoTag":"t","skipped":"s","Ignored":"i","-":"d"}`,
		`{"NAME":"a","Inner":{"EMAIL":"e"},"ITEMS":[{"Code":"c","MAX":1}],"notag":"t"}`,
		`{"name":"first","name":"last","Name":"case-insensitive last"}`,
		`{"name":null,"inner":null,"items":null,"raw":null,"when":null}`,
		`{"items":[{"max":null,"flags":null,"sub":null}]}`,
		`{"items":[],"unknown":{"deep":[1,2,3]}}`,
	} {
		t.Run(body, func(t *testing.T) {
			var want, got decodeTarget
			if err := json.Unmarshal([]byte(body), &want); err != nil {
				t.Fatal(err)
			}
			if err := decodeValue("", []byte(body), reflect.ValueOf(&got).Elem()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decodeValue: %+v\njson.Unmarshal: %+v", got, want)
			}
		})
	}
}

// TestDecodeValuePaths: a type error names its field by the path decodeValue built —
// array indices in brackets, the field's JSON name however the member was spelled — and
// the JSON types expected and sent.
func TestDecodeValuePaths(t *testing.T) {
	for _, tt := range []struct {
		body, field, detail string
	}{
		{`{"name":5}`, "name", "name: expected a string, got a number"},
		{`{"NAME":true}`, "name", "name: expected a string, got a boolean"},
		{`{"inner":[]}`, "inner", "inner: expected an object, got an array"},
		{`{"Inner":{"Email":{}}}`, "inner.email", "inner.email: expected a string, got an object"},
		{`{"items":{}}`, "items", "items: expected an array, got an object"},
		{`{"items":[{},"x"]}`, "items[1]", "items[1]: expected an object, got a string"},
		{`{"items":[{},{},{"max":"3"}]}`, "items[2].max", "items[2].max: expected a number (an integer), got a string"},
		{`{"ITEMS":[{"MAX":1.5}]}`, "items[0].max", "items[0].max: expected a number (an integer), got a number with a fraction or out of range"},
		{`{"items":[{"max":9223372036854775808}]}`, "items[0].max", "items[0].max: expected a number (an integer), got a number with a fraction or out of range"},
		{`{"items":[{"flags":[true,null,1]}]}`, "items[0].flags[2]", "items[0].flags[2]: expected a boolean, got a number"},
		{`{"items":[{"sub":{"n":"1"}}]}`, "items[0].sub.n", "items[0].sub.n: expected a number (an integer), got a string"},
		{`{"items":[{"sub":7}]}`, "items[0].sub", "items[0].sub: expected an object, got a number"},
		{`{"notag":[]}`, "NoTag", "NoTag: expected a string, got an array"},
		// The last of duplicate members is the one decoded, as encoding/json decodes it.
		{`{"name":5,"name":"x","items":[{"code":"a","Code":false}]}`, "items[0].code", "items[0].code: expected a string, got a boolean"},
	} {
		t.Run(tt.body, func(t *testing.T) {
			var dst decodeTarget
			err := decodeValue("", []byte(tt.body), reflect.ValueOf(&dst).Elem())
			e, ok := err.(*licensing.Error)
			if !ok || e.Code != licensing.EValidation || e.Field != tt.field || e.Message != tt.detail {
				t.Errorf("error %#v\nwant field %q detail %q", err, tt.field, tt.detail)
			}
		})
	}
}
