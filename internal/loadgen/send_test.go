package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSendSendsWhatTheClientSends: a workload request sent on fasthttp's types
// reaches the server as the client package's Do sends it, and its answer is read
// whole, the LicenseSignature header whatever the case of its name.
func TestSendSendsWhatTheClientSends(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var hs []string
		for _, k := range []string{"Date", "Authorization", "Accept", "Content-Type", "User-Agent"} {
			hs = append(hs, k+"="+strings.Join(r.Header.Values(k), ","))
		}
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+strings.Join(hs, " ")+" body="+string(body))
		mu.Unlock()
		w.Header()["licensesignature"] = []string{"c2ln"} // written as it is, not canonical
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte(`{"answer":1}`))
	}))
	defer srv.Close()
	e := newEnv(t)
	b := newBench(t, e.config("check", srv.URL))
	tg := b.targets[0]
	ctx := context.Background()
	for _, r := range []Request{
		{Method: http.MethodGet, Endpoint: "check_license", Query: url.Values{"license_key": {"K-1 é"}, "hardware_id": {"h&1"}}.Encode()},
		{Method: http.MethodPost, Endpoint: "track_device_variables", Body: []byte(`{"variables":{"a":"b"}}`)},
	} {
		seen = nil
		var body any
		if r.Body != nil {
			body = r.Body
		}
		query, err := url.ParseQuery(r.Query)
		if err != nil {
			t.Fatal(err)
		}
		want, err := tg.cl.Do(ctx, r.Method, r.Endpoint, query, body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.send(ctx, time.Now().Add(time.Minute), tg, &r)
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != 2 || seen[0] != seen[1] {
			t.Errorf("%s: the server saw\n%s", r.Endpoint, strings.Join(seen, "\n"))
		}
		if got.status != want.Status || got.signature != want.Signature() || got.signature != "c2ln" ||
			string(got.body) != string(want.Body) || string(got.body) != `{"answer":1}` {
			t.Errorf("%s: answer %d %q %q, the client's %d %q %q", r.Endpoint, got.status, got.signature, got.body,
				want.Status, want.Signature(), want.Body)
		}
		if sig := got.response().Signature(); sig != "c2ln" {
			t.Errorf("response() signature %q", sig)
		}
	}
	if !slices.ContainsFunc(seen, func(s string) bool { return strings.Contains(s, "Content-Type=application/json") }) {
		t.Errorf("no JSON Content-Type on the POST: %q", seen)
	}
}

// TestSendTimesOutAtItsDeadline: the deadline passed bounds the request.
func TestSendTimesOutAtItsDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	e := newEnv(t)
	b := newBench(t, e.config("check", srv.URL))
	start := time.Now()
	_, err := b.send(context.Background(), start.Add(200*time.Millisecond), b.targets[0], &Request{Method: http.MethodGet, Endpoint: "check_license"})
	if code, _ := b.judge(newWorker(0, nil, nil), b.targets[0].cl, nil, &Request{}, answer{}, err); code != "timeout" {
		t.Fatalf("error %v judged %q, want timeout", err, code)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

// TestSendRefusesAnOversizedAnswer: an answer of more than maxAnswerBytes is an error,
// not a buffer of that size.
func TestSendRefusesAnOversizedAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(maxAnswerBytes+1))
		chunk := make([]byte, 1<<20)
		for left := maxAnswerBytes + 1; left > 0; left -= len(chunk) {
			if _, err := w.Write(chunk[:min(left, len(chunk))]); err != nil {
				return // the client hung up
			}
		}
	}))
	defer srv.Close()
	e := newEnv(t)
	b := newBench(t, e.config("check", srv.URL))
	_, err := b.send(context.Background(), time.Now().Add(time.Minute), b.targets[0], &Request{Method: http.MethodGet, Endpoint: "check_license"})
	if err == nil {
		t.Fatal("an oversized answer was accepted")
	}
}
