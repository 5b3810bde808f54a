package e2e

import (
	"fmt"
	"strings"
)

// rawCases are requests net/http's client will not send: truncated and malformed
// bodies, broken framing, control bytes in the request line and headers.
//
// Not here, because net/http answers them itself with the status the HTTP RFCs require
// before any licensor handler runs: an unknown Transfer-Encoding (501 Not Implemented)
// and a request line with HTTP/2.0 or HTTP/3.0 over HTTP/1 (505 Version Not Supported).
func (m *badMatrix) rawCases() {
	trackBody := string(jobj{{"product", js(m.pk)}, {"hardware_id", js(m.hw)}, {"license_key", js(m.key)}, {"variables", `{"v1":"raw"}`}}.json())
	productBody := `{"product_name":"Raw","short_code":"bad-raw","authorization_method":"user"}`
	checkPath := "/api/v4/check_license?" + q("product", m.pk, "hardware_id", m.hw, "license_key", m.key)
	mgmtAuth := "Authorization: Api-Key " + m.s.creds.ManagementKey + "\r\n"
	host := "Host: " + m.s.addr + "\r\n"

	// post is a request with the given extra header lines and body, framed as given.
	post := func(method, path, headers, body string) func() []byte {
		return func() []byte {
			h := headers
			if strings.HasPrefix(path, "/api/v4/") {
				h = m.rawAuth() + h
			} else {
				h = mgmtAuth + h
			}
			return []byte(method + " " + path + " HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nConnection: close\r\n" + h + "\r\n" + body)
		}
	}
	chunked := func(body string) string { return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body) }
	get := func(target, headers string) func() []byte {
		return func() []byte {
			return []byte("GET " + target + " HTTP/1.1\r\n" + host + m.rawAuth() + "Connection: close\r\n" + headers + "\r\n")
		}
	}

	for _, ep := range []struct {
		group, method, path, body string
		shape                     errShape
	}{
		{"raw_license_api", "POST", "/api/v4/track_device_variables", trackBody, licenseShape},
		{"raw_license_api", "POST", "/api/v4/activate_license", trackBody, licenseShape},
		{"raw_license_api", "POST", "/api/v4/deactivate_license", trackBody, licenseShape},
		{"raw_mgmt", "POST", "/api/v1/products/", productBody, mgmtShape},
		{"raw_mgmt", "POST", "/api/v1/orders/create_order/", `{"items":[{"product_code":"` + m.pk + `","licenses":[{}]}]}`, mgmtShape},
		{"raw_mgmt", "PATCH", fmt.Sprintf("/api/v1/licenses/%d/", m.lkID), `{"enabled":false}`, mgmtShape},
		{"raw_mgmt", "POST", "/api/v1/api-keys/", `{"read_only":true}`, mgmtShape},
	} {
		m.group = ep.group
		name := func(s string) string { return ep.path + " " + s }
		b := ep.body
		m.raw(name("Content-Length beyond the body, then EOF"), ep.shape, 400, "invalid_json",
			post(ep.method, ep.path, fmt.Sprintf("Content-Length: %d\r\n", len(b)+100), b), true)
		m.raw(name("half the body, then EOF"), ep.shape, 400, "invalid_json",
			post(ep.method, ep.path, fmt.Sprintf("Content-Length: %d\r\n", len(b)), b[:len(b)/2]), true)
		m.raw(name("Content-Length shorter than the body"), ep.shape, 400, "invalid_json",
			post(ep.method, ep.path, fmt.Sprintf("Content-Length: %d\r\n", len(b)-5), b), false)
		m.raw(name("chunked, last chunk missing, then EOF"), ep.shape, 400, "invalid_json",
			post(ep.method, ep.path, "Transfer-Encoding: chunked\r\n", fmt.Sprintf("%x\r\n%s\r\n", len(b), b)), true)
		m.raw(name("chunked, size not hex"), ep.shape, 400, "invalid_json",
			post(ep.method, ep.path, "Transfer-Encoding: chunked\r\n", "zz\r\n"+b+"\r\n0\r\n\r\n"), false)
		m.raw(name("chunked, size overflows"), ep.shape, 400, "invalid_json",
			post(ep.method, ep.path, "Transfer-Encoding: chunked\r\n", "fffffffffffffffffffff\r\n"+b+"\r\n0\r\n\r\n"), false)
		m.raw(name("chunked, chunk longer than its size"), ep.shape, 400, "invalid_json",
			post(ep.method, ep.path, "Transfer-Encoding: chunked\r\n", "3\r\n"+b+"\r\n0\r\n\r\n"), false)
		m.raw(name("chunked, truncated JSON"), ep.shape, 400, "invalid_json",
			post(ep.method, ep.path, "Transfer-Encoding: chunked\r\n", chunked(b[:len(b)-1])), false)
		m.raw(name("two different Content-Lengths"), netHTTPShape, 400, "",
			post(ep.method, ep.path, fmt.Sprintf("Content-Length: %d\r\nContent-Length: %d\r\n", len(b), len(b)+1), b), false)
		m.raw(name("negative Content-Length"), netHTTPShape, 400, "", post(ep.method, ep.path, "Content-Length: -1\r\n", b), false)
		m.raw(name("Content-Length not a number"), netHTTPShape, 400, "", post(ep.method, ep.path, "Content-Length: 1e3\r\n", b), false)
		m.raw(name("NUL in a header value"), netHTTPShape, 400, "",
			post(ep.method, ep.path, fmt.Sprintf("Content-Length: %d\r\nX-Evil: a\x00b\r\n", len(b)), b), false)
		m.raw(name("unknown Expect"), netHTTPShape, 417, "",
			post(ep.method, ep.path, fmt.Sprintf("Content-Length: %d\r\nExpect: 200-ok\r\n", len(b)), b), false)
	}

	m.group = "raw_license_api"
	m.raw("raw invalid UTF-8 in the query", licenseShape, 400, "validation_error", get(checkPath+"&hardware_id=\xff\xfe", ""), false)
	m.raw("raw invalid UTF-8 in the path", licenseShape, 404, "not_found", get("/api/v4/check_license\xff?"+checkPath[len("/api/v4/check_license?"):], ""), false)
	m.raw("raw invalid UTF-8 in Authorization", licenseShape, 400, "", func() []byte {
		return []byte("GET " + checkPath + " HTTP/1.1\r\n" + host + "Date: " + strings.TrimPrefix(strings.SplitN(m.rawAuth(), "\r\n", 2)[0], "Date: ") +
			"\r\nAuthorization: algorithm=\"hmac-sha256\",headers=\"date\",signature=\"\xff\",apikey=\"\xfe\"\r\nConnection: close\r\n\r\n")
	}, false)
	m.raw("NUL in the query", netHTTPShape, 400, "", get(checkPath+"&x=\x00", ""), false)
	m.raw("NUL in the Date header", netHTTPShape, 400, "", func() []byte {
		return []byte("GET " + checkPath + " HTTP/1.1\r\n" + host + "Date: Tue\x00, 07 Jun 2011 20:51:35 GMT\r\nAuthorization: x\r\nConnection: close\r\n\r\n")
	}, false)
	m.raw("NUL in Authorization", netHTTPShape, 400, "", func() []byte {
		return []byte("GET " + checkPath + " HTTP/1.1\r\n" + host + "Date: Tue, 07 Jun 2011 20:51:35 GMT\r\nAuthorization: algorithm=\"hmac\x00\"\r\nConnection: close\r\n\r\n")
	}, false)
	m.raw("space in the path", netHTTPShape, 400, "", get("/api/v4/check license", ""), false)
	m.raw("header name with a space", netHTTPShape, 400, "", get(checkPath, "Bad Header: 1\r\n"), false)
	m.raw("header line without a colon", netHTTPShape, 400, "", get(checkPath, "NoColonHere\r\n"), false)
	m.raw("no Host header", netHTTPShape, 400, "", func() []byte {
		return []byte("GET " + checkPath + " HTTP/1.1\r\n" + m.rawAuth() + "Connection: close\r\n\r\n")
	}, false)
	m.raw("two Host headers", netHTTPShape, 400, "", get(checkPath, host), false)
	m.raw("garbage request line", netHTTPShape, 400, "", func() []byte { return []byte("HELLO\r\n\r\n") }, false)
	m.raw("request line without version", netHTTPShape, 400, "", func() []byte { return []byte("GET /api/v4/check_license\r\n\r\n") }, false)
	m.raw("70 KiB header", netHTTPShape, 431, "", get(checkPath, "X-Big: "+strings.Repeat("a", 70<<10)+"\r\n"), false)
	m.raw("70 KiB URL", netHTTPShape, 431, "", get(checkPath+"&x="+strings.Repeat("a", 70<<10), ""), false)

	m.group = "raw_mgmt"
	m.raw("raw invalid UTF-8 in a filter", mgmtShape, 400, "validation_error", func() []byte {
		return []byte("GET /api/v1/devices/?hardware_id=\xff\xfe HTTP/1.1\r\n" + host + mgmtAuth + "Connection: close\r\n\r\n")
	}, false)
	m.raw("raw invalid UTF-8 in the key", mgmtShape, 401, "unauthorized", func() []byte {
		return []byte("GET /api/v1/products/ HTTP/1.1\r\n" + host + "Authorization: Api-Key \xff.\xfe\r\nConnection: close\r\n\r\n")
	}, false)
	m.raw("NUL in the key", netHTTPShape, 400, "", func() []byte {
		return []byte("GET /api/v1/products/ HTTP/1.1\r\n" + host + "Authorization: Api-Key a\x00.b\r\nConnection: close\r\n\r\n")
	}, false)
}
