package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// mgmtCases are the management API's bad inputs: every route, its path ids, query
// filters, bodies, methods and the Api-Key header.
func (m *badMatrix) mgmtCases() {
	mustJSON := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return b
	}

	// Routes with a path id, each with a request that would succeed for a good id.
	productBody := func(code string) []byte {
		return mustJSON(map[string]any{"product_name": "Bad input", "short_code": code, "authorization_method": "license-key"})
	}
	type idRoute struct {
		group, method, pattern string // pattern has one %s for the id
		good                   int64
		body                   []byte
	}
	idRoutes := []idRoute{
		{"mgmt_products", "GET", "/api/v1/products/%s/", m.pkID, nil},
		{"mgmt_licenses", "GET", "/api/v1/licenses/%s/", m.lkID, nil},
		{"mgmt_licenses", "PATCH", "/api/v1/licenses/%s/", m.lkID, []byte(`{"max_activations":7}`)},
		{"mgmt_licenses", "POST", "/api/v1/licenses/%s/enable/", m.lkID, nil},
		{"mgmt_licenses", "POST", "/api/v1/licenses/%s/disable/", m.lkID, nil},
		{"mgmt_licenses", "POST", "/api/v1/licenses/%s/reset/", m.lkID, nil},
		{"mgmt_devices", "GET", "/api/v1/devices/%s/", m.devID, nil},
		{"mgmt_devices", "POST", "/api/v1/devices/%s/blacklist/", m.devID, nil},
		{"mgmt_devices", "POST", "/api/v1/devices/%s/unblacklist/", m.devID, nil},
		{"mgmt_devices", "POST", "/api/v1/devices/%s/reset/", m.devID, nil},
		{"mgmt_api_keys", "POST", "/api/v1/api-keys/%s/revoke/", m.apiKeyID, nil},
	}
	badIDs := []struct{ name, id string }{
		{"zero", "0"}, {"negative", "-1"}, {"fraction", "1.5"}, {"exponent", "1e3"}, {"word", "abc"},
		{"overflow", "99999999999999999999"}, {"10000 digits", strings.Repeat("9", 10000)},
		{"unused", "9007199254740991"}, {"hex", "0x10"}, {"NUL", "%00"}, {"invalid UTF-8", "%ff%fe"},
		{"SQL", url.PathEscape("1 OR 1=1")}, {"SQL semicolon", url.PathEscape("1;DROP TABLE licenses")},
		{"encoded slash", "1%2F2"},
	}
	for _, r := range idRoutes {
		m.group = r.group
		for _, b := range badIDs {
			m.mg(fmt.Sprintf("%s %s id %s", r.method, r.pattern, b.name), 404, "not_found", r.method, fmt.Sprintf(r.pattern, b.id), r.body, nil)
		}
	}
	// Another company's objects are not found.
	m.group = "mgmt_cross_tenant"
	for _, r := range []struct {
		name, method, path string
		body               []byte
	}{
		{"product", "GET", fmt.Sprintf("/api/v1/products/%d/", m.otherPrID), nil},
		{"license", "GET", fmt.Sprintf("/api/v1/licenses/%d/", m.otherLicenseID), nil},
		{"patch license", "PATCH", fmt.Sprintf("/api/v1/licenses/%d/", m.otherLicenseID), []byte(`{"max_activations":9}`)},
		{"disable license", "POST", fmt.Sprintf("/api/v1/licenses/%d/disable/", m.otherLicenseID), nil},
		{"reset license", "POST", fmt.Sprintf("/api/v1/licenses/%d/reset/", m.otherLicenseID), nil},
		{"device", "GET", fmt.Sprintf("/api/v1/devices/%d/", m.otherDevID), nil},
		{"blacklist device", "POST", fmt.Sprintf("/api/v1/devices/%d/blacklist/", m.otherDevID), nil},
		{"reset device", "POST", fmt.Sprintf("/api/v1/devices/%d/reset/", m.otherDevID), nil},
		{"device variables", "GET", fmt.Sprintf("/api/v1/device-variables/?device=%d", m.otherDevID), nil},
	} {
		m.mg(r.name+" of another company", 404, "not_found", r.method, r.path, r.body, nil)
	}
	m.mg("order for another company's product", 400, "validation_error", "POST", "/api/v1/orders/create_order/",
		mustJSON(map[string]any{"items": []any{map[string]any{"product_code": m.otherProduct, "licenses": []any{map[string]any{}}}}}), nil)

	// Query filters and paging.
	paging := []struct{ name, query, field string }{
		{"limit zero", "limit=0", "limit"}, {"limit negative", "limit=-1", "limit"}, {"limit word", "limit=abc", "limit"},
		{"limit fraction", "limit=1.5", "limit"}, // a limit of any size above 100 reads as 100, as DRF's does
		{"limit NUL", "limit=%00", "limit"}, {"offset negative", "offset=-1", "offset"}, {"offset word", "offset=x", "offset"},
		{"offset huge", "offset=1099511627777", "offset"}, {"offset overflow", "offset=99999999999999999999", "offset"},
		{"offset exponent", "offset=1e3", "offset"},
	}
	for _, list := range []struct{ group, path string }{
		{"mgmt_products", "/api/v1/products/"}, {"mgmt_licenses", "/api/v1/licenses/"},
		{"mgmt_devices", "/api/v1/devices/"}, {"mgmt_device_variables", "/api/v1/device-variables/"},
		{"mgmt_audit_log", "/api/v1/audit-log/"}, {"mgmt_api_keys", "/api/v1/api-keys/"},
	} {
		m.group = list.group
		for _, p := range paging {
			query := p.query
			if list.group == "mgmt_device_variables" {
				query += fmt.Sprintf("&device=%d", m.devID)
			}
			m.mg("list "+p.name, 400, "validation_error", "GET", list.path+"?"+query, nil, nil)
		}
	}
	m.group = "mgmt_licenses"
	for _, f := range []string{"license_key", "product_short_code"} {
		m.mg(f+" invalid UTF-8", 400, "validation_error", "GET", "/api/v1/licenses/?"+f+"=%ff%fe", nil, nil)
		m.mg(f+" NUL", 400, "validation_error", "GET", "/api/v1/licenses/?"+f+"=a%00", nil, nil)
		m.mg(f+" 10000 characters", 400, "validation_error", "GET", "/api/v1/licenses/?"+f+"="+long10k, nil, nil)
	}
	m.group = "mgmt_devices"
	for _, v := range []struct{ name, query string }{
		{"license zero", "license=0"}, {"license negative", "license=-5"}, {"license word", "license=abc"},
		{"license fraction", "license=1.5"}, {"license overflow", "license=99999999999999999999"},
		{"license SQL", "license=" + url.QueryEscape("1 OR 1=1")}, {"blacklisted maybe", "blacklisted=maybe"},
		{"blacklisted 2", "blacklisted=2"}, {"hardware_id invalid UTF-8", "hardware_id=%ff"},
		{"hardware_id NUL", "hardware_id=%00"}, {"hardware_id 10000 characters", "hardware_id=" + long10k},
	} {
		m.mg("list "+v.name, 400, "validation_error", "GET", "/api/v1/devices/?"+v.query, nil, nil)
	}
	m.group = "mgmt_device_variables"
	for _, v := range []struct{ name, query string }{
		{"no device", ""}, {"empty device", "device="}, {"device zero", "device=0"}, {"device negative", "device=-1"},
		{"device word", "device=abc"}, {"device fraction", "device=1.5"}, {"device overflow", "device=99999999999999999999"},
		{"device NUL", "device=%00"}, {"device SQL", "device=" + url.QueryEscape("1 OR 1=1")},
	} {
		m.mg("list "+v.name, 400, "validation_error", "GET", "/api/v1/device-variables/?"+v.query, nil, nil)
	}
	m.mg("list unknown device", 404, "not_found", "GET", "/api/v1/device-variables/?device=9007199254740991", nil, nil)
	m.group = "mgmt_audit_log"
	for _, v := range []struct{ name, query string }{
		{"object_id zero", "object_id=0"}, {"object_id negative", "object_id=-1"}, {"object_id word", "object_id=abc"},
		{"object_id fraction", "object_id=1.5"}, {"object_id overflow", "object_id=99999999999999999999"},
		{"object_type invalid UTF-8", "object_type=%ff"}, {"object_type NUL", "object_type=license%00"},
		{"object_type 10000 characters", "object_type=" + long10k}, {"action invalid UTF-8", "action=%c3%28"},
		{"action NUL", "action=%00"}, {"action 10000 characters", "action=" + long10k},
	} {
		m.mg("list "+v.name, 400, "validation_error", "GET", "/api/v1/audit-log/?"+v.query, nil, nil)
	}

	// Bodies that are not one JSON object, for every route that reads a body.
	type bodyRoute struct {
		group, name, method, path string
		valid                     []byte
	}
	orderBody := func(mod func(order, item, lic map[string]any)) []byte {
		lic := map[string]any{"license_type": "perpetual", "max_activations": 1}
		item := map[string]any{"product_code": m.pk, "licenses": []any{lic}}
		order := map[string]any{"id": uniq("bad-order-"), "customer": map[string]any{"email": "c@example.com"}, "items": []any{item}}
		if mod != nil {
			mod(order, item, lic)
		}
		return mustJSON(order)
	}
	userOrderBody := func(mod func(lic, user map[string]any)) []byte {
		user := map[string]any{"email": uniq("u") + "@example.com", "password": "pw"}
		lic := map[string]any{"users": []any{user}}
		if mod != nil {
			mod(lic, user)
		}
		return mustJSON(map[string]any{"items": []any{map[string]any{"product_code": m.pu, "licenses": []any{lic}}}})
	}
	patchPath := fmt.Sprintf("/api/v1/licenses/%d/", m.lkID)
	bodyRoutes := []bodyRoute{
		{"mgmt_products", "create product", "POST", "/api/v1/products/", productBody("bad-new-product")},
		{"mgmt_orders", "create order", "POST", "/api/v1/orders/create_order/", orderBody(nil)},
		{"mgmt_licenses", "patch license", "PATCH", patchPath, []byte(`{"max_activations":7}`)},
		{"mgmt_api_keys", "create api key", "POST", "/api/v1/api-keys/", []byte(`{"read_only":true}`)},
	}
	for _, r := range bodyRoutes {
		m.group = r.group
		post := func(name string, status int, code string, body []byte) {
			m.mg(r.name+" "+name, status, code, r.method, r.path, body, nil)
		}
		if r.name != "create api key" { // its body is optional
			post("empty body", 400, "invalid_json", []byte{})
			post("white space body", 400, "invalid_json", []byte(" \r\n"))
		}
		post("null body", 400, "invalid_json", []byte("null"))
		post("array body", 400, "invalid_json", []byte("["+string(r.valid)+"]"))
		post("string body", 400, "invalid_json", []byte(`"x"`))
		post("number body", 400, "invalid_json", []byte(`1e400`))
		post("boolean body", 400, "invalid_json", []byte(`false`))
		post("truncated JSON", 400, "invalid_json", r.valid[:len(r.valid)-2])
		post("trailing garbage", 400, "invalid_json", append(append([]byte{}, r.valid...), "xyz"...))
		post("two JSON objects", 400, "invalid_json", append(append([]byte{}, r.valid...), r.valid...))
		post("byte order mark", 400, "invalid_json", append([]byte("\xef\xbb\xbf"), r.valid...))
		post("invalid UTF-8", 400, "invalid_json", append(append([]byte{}, r.valid[:len(r.valid)-1]...), ",\"x\":\"\xff\"}"...))
		post("raw NUL byte", 400, "invalid_json", append([]byte{0}, r.valid...))
		post("escaped NUL", 400, "validation_error", append(append([]byte{}, r.valid[:len(r.valid)-1]...), `,"x":"\u0000"}`...))
		post("10000 nested arrays", 400, "invalid_json", []byte(nested(10000)))
		post("10000 nested arrays in a field", 400, "invalid_json", append(append([]byte{}, r.valid[:len(r.valid)-1]...), `,"x":`+nested(10000)+`}`...))
		post("form-encoded body", 400, "invalid_json", []byte("product_name=x&short_code=y"))
		post("multipart body", 400, "invalid_json", []byte("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny\r\n--b--\r\n"))
		post("single quotes", 400, "invalid_json", []byte(`{'read_only':true}`))
		post("body over 1 MiB", 413, "request_too_large", append(append([]byte{}, r.valid[:len(r.valid)-1]...), `,"x":`+js(strings.Repeat("a", 1<<20))+`}`...))
		for _, ct := range mgmtBadContentTypes {
			m.mg(r.name+" "+ct.name, 415, "unsupported_media_type", r.method, r.path, r.valid, contentType(ct.v))
		}
	}
	// A route that reads no body refuses one that is not declared JSON too.
	m.group = "mgmt_licenses"
	for _, ct := range mgmtBadContentTypes {
		m.mg("reset license with a body, "+ct.name, 415, "unsupported_media_type", "POST", fmt.Sprintf("/api/v1/licenses/%d/reset/", m.lkID), []byte(`{}`), contentType(ct.v))
	}

	// Product fields.
	m.group = "mgmt_products"
	prod := func(name string, status int, code string, body string) {
		m.mg("create product "+name, status, code, "POST", "/api/v1/products/", []byte(body), nil)
	}
	for _, f := range []string{"product_name", "short_code", "authorization_method"} {
		for _, w := range []struct{ name, v string }{{"number", "5"}, {"float", "1.5"}, {"boolean", "true"}, {"array", `["x"]`}, {"object", `{"a":1}`}, {"nested arrays", nested(100)}} {
			o := jobj{{"product_name", js("Bad")}, {"short_code", js("bad-type-" + f)}, {"authorization_method", js("user")}}
			prod(f+" as "+w.name, 400, "validation_error", string(o.set(f, w.v).json()))
		}
	}
	prod("empty object", 400, "validation_error", `{}`)
	prod("no product_name", 400, "validation_error", `{"short_code":"bad-x"}`)
	prod("empty product_name", 400, "validation_error", `{"product_name":"","short_code":"bad-x"}`)
	prod("blank product_name", 400, "validation_error", `{"product_name":"  \t ","short_code":"bad-x"}`)
	prod("null product_name", 400, "validation_error", `{"product_name":null,"short_code":"bad-x"}`)
	prod("no short_code", 400, "validation_error", `{"product_name":"x"}`)
	prod("empty short_code", 400, "validation_error", `{"product_name":"x","short_code":""}`)
	prod("10000-character product_name", 400, "validation_error", `{"product_name":`+js(long10k)+`,"short_code":"bad-long"}`)
	prod("10000-character short_code", 400, "validation_error", `{"product_name":"x","short_code":`+js(long10k)+`}`)
	prod("NUL in short_code", 400, "validation_error", `{"product_name":"x","short_code":"a\u0000b"}`)
	prod("existing short_code", 400, "validation_error", `{"product_name":"x","short_code":`+js(m.pk)+`}`)
	for _, am := range []string{"LICENSE-KEY", "license_key", "users", "' OR '1'='1", long10k} {
		prod("authorization_method "+truncName(am), 400, "validation_error", `{"product_name":"x","short_code":"bad-am","authorization_method":`+js(am)+`}`)
	}
	prod("duplicate short_code key, last a number", 400, "validation_error", `{"product_name":"x","short_code":"bad-dup","short_code":5}`)
	prod("duplicate product_name key, last empty", 400, "validation_error", `{"product_name":"x","short_code":"bad-dup2","product_name":""}`)

	// Order fields.
	m.group = "mgmt_orders"
	order := func(name string, status int, code string, body []byte) {
		m.mg("create order "+name, status, code, "POST", "/api/v1/orders/create_order/", body, nil)
	}
	set := func(where, k string, v any) []byte {
		return orderBody(func(o, it, l map[string]any) {
			map[string]map[string]any{"order": o, "item": it, "license": l}[where][k] = v
		})
	}
	rawNum := func(s string) json.RawMessage { return json.RawMessage(s) }
	order("empty object", 400, "validation_error", []byte(`{}`))
	order("items null", 400, "validation_error", set("order", "items", nil))
	order("items empty", 400, "validation_error", set("order", "items", []any{}))
	order("items a string", 400, "validation_error", set("order", "items", "x"))
	order("items of numbers", 400, "validation_error", set("order", "items", []any{1, 2}))
	order("item empty", 400, "validation_error", set("order", "items", []any{map[string]any{}}))
	order("item without licenses", 400, "validation_error", set("item", "licenses", nil))
	order("licenses empty", 400, "validation_error", set("item", "licenses", []any{}))
	order("licenses a string", 400, "validation_error", set("item", "licenses", "x"))
	order("licenses of numbers", 400, "validation_error", set("item", "licenses", []any{1}))
	order("product_code a number", 400, "validation_error", set("item", "product_code", 5))
	order("product_code empty", 400, "validation_error", set("item", "product_code", ""))
	order("product_code unknown", 400, "validation_error", set("item", "product_code", "no-such-product"))
	order("product_code 10000 characters", 400, "validation_error", set("item", "product_code", long10k))
	for _, h := range hostileStrings[:6] {
		order("product_code "+h.name, 400, "validation_error", set("item", "product_code", h.v))
	}
	order("id true", 400, "validation_error", set("order", "id", true))
	order("id an object", 400, "validation_error", set("order", "id", map[string]any{}))
	order("id an array", 400, "validation_error", set("order", "id", []any{"a"}))
	order("id 10000 characters", 400, "validation_error", set("order", "id", long10k))
	order("id already used", 409, "order_id_exists", set("order", "id", m.storeID))
	order("customer a string", 400, "validation_error", set("order", "customer", "c@example.com"))
	order("customer email a number", 400, "validation_error", set("order", "customer", map[string]any{"email": 5}))
	for _, v := range []struct {
		name string
		v    any
	}{
		{"negative", -1}, {"string", "5"}, {"fraction", 1.5}, {"boolean", true}, {"array", []any{1}},
		{"1e400", rawNum("1e400")}, {"2^63", rawNum("9223372036854775808")}, {"2^53", rawNum("9007199254740992")},
		{"2^62", rawNum("4611686018427387904")}, {"-2^63", rawNum("-9223372036854775808")},
	} {
		order("max_activations "+v.name, 400, "validation_error", set("license", "max_activations", v.v))
	}
	for _, v := range []struct {
		name string
		v    any
	}{{"unknown", "lifetime"}, {"number", 1}, {"SQL", "perpetual' --"}, {"10000 characters", long10k}} {
		order("license_type "+v.name, 400, "validation_error", set("license", "license_type", v.v))
	}
	order("allow_unlimited_activations a string", 400, "validation_error", set("license", "allow_unlimited_activations", "yes"))
	order("is_trial a number", 400, "validation_error", set("license", "is_trial", 1))
	for _, v := range []struct {
		name string
		v    any
	}{
		{"word", "tomorrow"}, {"number", 20300101}, {"boolean", true}, {"30 February", "2030-02-30"},
		{"month 13", "2030-13-01 00:00:00"}, {"offset 25h", "2030-01-01T00:00:00+25:00"}, {"empty", ""},
		{"10000 characters", long10k}, {"object", map[string]any{"date": "2030-01-01"}},
	} {
		order("validity_period "+v.name, 400, "validation_error", set("license", "validity_period", v.v))
	}
	order("key 10000 characters", 400, "validation_error", set("license", "key", long10k))
	order("key a number", 400, "validation_error", set("license", "key", 1234))
	order("key NUL", 400, "validation_error", []byte(strings.Replace(string(set("license", "key", "K")), `"K"`, `"K\u0000"`, 1)))
	order("key already used", 400, "validation_error", set("license", "key", m.key))
	order("key used twice in the order", 400, "validation_error", orderBody(func(o, it, l map[string]any) {
		l["key"] = "BAD-DUP-KEY-IN-ORDER"
		it["licenses"] = []any{l, l}
	}))
	order("users on a key-based product", 400, "validation_error", set("license", "users", []any{map[string]any{"email": "x@example.com"}}))
	order("users a string", 400, "validation_error", set("license", "users", "x@example.com"))
	order("valid item then unknown product", 400, "validation_error", orderBody(func(o, it, l map[string]any) {
		o["items"] = []any{it, map[string]any{"product_code": "no-such-product", "licenses": []any{map[string]any{}}}}
	}))
	order("valid license then bad license", 400, "validation_error", orderBody(func(o, it, l map[string]any) {
		it["licenses"] = []any{l, map[string]any{"license_type": "bogus"}}
	}))
	order("duplicate max_activations key, last a string", 400, "validation_error",
		[]byte(strings.Replace(string(set("license", "max_activations", 1)), `"max_activations":1`, `"max_activations":1,"max_activations":"1"`, 1)))
	order("user-based license with a key", 400, "validation_error", userOrderBody(func(l, u map[string]any) { l["key"] = "USER-WITH-KEY" }))
	order("user-based license without users", 400, "validation_error", userOrderBody(func(l, u map[string]any) { delete(l, "users") }))
	order("user email without @", 400, "validation_error", userOrderBody(func(l, u map[string]any) { u["email"] = "not-an-email" }))
	order("user email 10000 characters", 400, "validation_error", userOrderBody(func(l, u map[string]any) { u["email"] = long10k + "@example.com" }))
	order("user email a number", 400, "validation_error", userOrderBody(func(l, u map[string]any) { u["email"] = 5 }))
	order("user password a number", 400, "validation_error", userOrderBody(func(l, u map[string]any) { u["password"] = 5 }))
	order("users of strings", 400, "validation_error", userOrderBody(func(l, u map[string]any) { l["users"] = []any{"a@example.com"} }))

	// License patch fields.
	m.group = "mgmt_licenses"
	patch := func(name string, status int, code, body string) {
		m.mg("patch "+name, status, code, "PATCH", patchPath, []byte(body), nil)
	}
	for _, v := range []string{"-1", `"5"`, "5.5", "1e400", "9223372036854775808", "9007199254740992", "true", "[]", "{}", "-9223372036854775808"} {
		patch("max_activations "+v, 400, "validation_error", `{"max_activations":`+v+`}`)
	}
	for _, f := range []string{"enabled", "allow_unlimited_activations"} {
		for _, v := range []string{`"false"`, "0", "1", `"yes"`, "[]", "{}"} {
			patch(f+" "+v, 400, "validation_error", `{"`+f+`":`+v+`}`)
		}
	}
	for _, v := range []string{"5", "true", `"soon"`, `"2030-13-01"`, `""`, "{}", "[]", js(long10k), `"2030-01-01T00:00:00+99:00"`} {
		patch("validity_period "+truncName(v), 400, "validation_error", `{"validity_period":`+v+`}`)
	}
	patch("duplicate enabled key, last a string", 400, "validation_error", `{"enabled":false,"enabled":"false"}`)
	patch("valid field then bad field", 400, "validation_error", `{"enabled":false,"max_activations":-3}`)

	// API key fields.
	m.group = "mgmt_api_keys"
	for _, v := range []string{`"true"`, "1", "[]", "{}", `"yes"`} {
		m.mg("create api key read_only "+v, 400, "validation_error", "POST", "/api/v1/api-keys/", []byte(`{"read_only":`+v+`}`), nil)
	}

	// Wrong methods and unknown paths.
	m.group = "mgmt_methods"
	for _, r := range []struct {
		path    string
		methods []string
	}{
		{"/api/v1/products/", []string{"PUT", "PATCH", "DELETE", "OPTIONS"}},
		{fmt.Sprintf("/api/v1/products/%d/", m.pkID), []string{"POST", "PUT", "PATCH", "DELETE"}},
		{"/api/v1/orders/create_order/", []string{"GET", "PUT", "DELETE", "HEAD"}},
		{"/api/v1/licenses/", []string{"POST", "DELETE"}},
		{fmt.Sprintf("/api/v1/licenses/%d/", m.lkID), []string{"POST", "PUT", "DELETE"}},
		{fmt.Sprintf("/api/v1/licenses/%d/enable/", m.lkID), []string{"GET", "PUT"}},
		{fmt.Sprintf("/api/v1/licenses/%d/disable/", m.lkID), []string{"GET", "DELETE"}},
		{fmt.Sprintf("/api/v1/licenses/%d/reset/", m.lkID), []string{"GET", "PATCH"}},
		{"/api/v1/devices/", []string{"POST", "DELETE"}},
		{fmt.Sprintf("/api/v1/devices/%d/", m.devID), []string{"PATCH", "DELETE"}},
		{fmt.Sprintf("/api/v1/devices/%d/blacklist/", m.devID), []string{"GET", "HEAD"}},
		{fmt.Sprintf("/api/v1/devices/%d/unblacklist/", m.devID), []string{"GET"}},
		{fmt.Sprintf("/api/v1/devices/%d/reset/", m.devID), []string{"GET", "PUT", "DELETE"}},
		{"/api/v1/device-variables/", []string{"POST", "DELETE"}},
		{"/api/v1/api-keys/", []string{"PUT", "PATCH", "DELETE", "BREW"}},
		{fmt.Sprintf("/api/v1/api-keys/%d/revoke/", m.apiKeyID), []string{"GET", "DELETE"}},
		{"/api/v1/audit-log/", []string{"POST", "PUT", "DELETE"}},
	} {
		for _, method := range r.methods {
			var body []byte
			if method != "GET" && method != "HEAD" {
				body = []byte(`{"read_only":true,"max_activations":0,"product_name":"x","short_code":"bad-method"}`)
			}
			m.mg(method+" "+r.path, 405, "method_not_allowed", method, r.path, body, nil)
		}
	}
	for _, p := range []string{"/api/v1/", "/api/v1/nope/", "/api/v1/licenses/1/explode/", "/api/v1/device-variables/1/",
		"/api/v1/" + long10k + "/", "/api/v1/%ff%fe/", "/api/v1/audit-log/1/"} {
		m.mg("unknown path "+truncName(p), 404, "not_found", "GET", p, nil, nil)
	}
	m.mg("POST to a NUL license id", 404, "not_found", "POST", "/api/v1/licenses/%00/enable/", nil, nil)

	// The Api-Key header.
	m.group = "mgmt_auth"
	prefix, _, _ := strings.Cut(m.s.creds.ManagementKey, ".")
	for _, a := range []struct {
		name string
		edit func(h http.Header)
	}{
		{"no Authorization", func(h http.Header) { h.Del("Authorization") }},
		{"empty Authorization", func(h http.Header) { h.Set("Authorization", "") }},
		{"two Authorization headers", func(h http.Header) { h.Add("Authorization", h.Get("Authorization")) }},
		{"scheme only", func(h http.Header) { h.Set("Authorization", "Api-Key") }},
		{"8 KiB key", func(h http.Header) { h.Set("Authorization", "Api-Key "+prefix+"."+kib8) }},
		{"8 KiB prefix", func(h http.Header) { h.Set("Authorization", "Api-Key "+kib8+".x") }},
		{"invalid UTF-8 key", func(h http.Header) { h.Set("Authorization", "Api-Key "+prefix+".\xff\xfe") }},
		{"prefix without secret", func(h http.Header) { h.Set("Authorization", "Api-Key "+prefix+".") }},
		{"secret without prefix", func(h http.Header) {
			h.Set("Authorization", "Api-Key ."+strings.SplitN(m.s.creds.ManagementKey, ".", 2)[1])
		}},
		{"key with trailing words", func(h http.Header) { h.Set("Authorization", "Api-Key "+m.s.creds.ManagementKey+" extra") }},
		{"Bearer scheme", func(h http.Header) { h.Set("Authorization", "Bearer "+m.s.creds.ManagementKey) }},
		{"Basic scheme", func(h http.Header) { h.Set("Authorization", "Basic YWRtaW46YWRtaW4=") }},
		{"License API HMAC", func(h http.Header) {
			date := time.Now().UTC().Format(http.TimeFormat)
			h.Set("Date", date)
			h.Set("Authorization", m.hmacAuth(date))
		}},
		{"License API key", func(h http.Header) { h.Set("Authorization", "Api-Key "+m.s.creds.APIKey) }},
		{"SQL key", func(h http.Header) { h.Set("Authorization", "Api-Key ' OR '1'='1.' OR '1'='1") }},
		{"LIKE key", func(h http.Header) { h.Set("Authorization", "Api-Key %.%") }},
	} {
		for _, r := range []struct {
			method, path string
			body         []byte
		}{
			{"GET", "/api/v1/products/", nil},
			{"POST", "/api/v1/products/", productBody("bad-auth")},
			{"POST", "/api/v1/orders/create_order/", orderBody(nil)},
			{"PATCH", patchPath, []byte(`{"enabled":false}`)},
			{"POST", fmt.Sprintf("/api/v1/licenses/%d/reset/", m.lkID), nil},
			{"POST", fmt.Sprintf("/api/v1/devices/%d/blacklist/", m.devID), nil},
			{"POST", fmt.Sprintf("/api/v1/devices/%d/reset/", m.devID), nil},
			{"GET", fmt.Sprintf("/api/v1/device-variables/?device=%d", m.devID), nil},
			{"POST", "/api/v1/api-keys/", nil},
			{"GET", "/api/v1/api-keys/", nil},
			{"GET", "/api/v1/audit-log/", nil},
		} {
			m.mg(fmt.Sprintf("%s: %s %s", a.name, r.method, r.path), 401, "unauthorized", r.method, r.path, r.body, a.edit)
		}
	}
}

// mgmtBadContentTypes are Content-Types the management API refuses for a body: it reads
// application/json only (charset and other parameters allowed).
var mgmtBadContentTypes = []struct{ name, v string }{
	{"no content type", ""}, {"text/plain content type", "text/plain"}, {"text/plain JSON charset", "text/plain; charset=utf-8"},
	{"form content type", "application/x-www-form-urlencoded"}, {"multipart content type", "multipart/form-data; boundary=b"},
	{"xml content type", "application/xml"}, {"+json content type", "application/vnd.api+json"},
	{"jsonx content type", "application/jsonx"}, {"json as a parameter", "text/plain; type=application/json"},
	{"content type with invalid UTF-8", "application/\xffjson"}, {"8 KiB content type", "application/" + kib8},
}

// contentType sets the Content-Type header to v ("": none).
func contentType(v string) func(h http.Header) {
	return func(h http.Header) {
		if v == "" {
			h.Del("Content-Type")
		} else {
			h.Set("Content-Type", v)
		}
	}
}

// truncName shortens a value for a subtest name.
func truncName(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%s…(%d bytes)", s[:20], len(s))
	}
	return s
}
