package loadgen

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestSendSendsWhatTheClientSends: a workload request sent on fasthttp's types
// reaches the server as the client package's Do sends it, and its answer is read
// whole and kept, the LicenseSignature header whatever the case of its name.
func TestSendSendsWhatTheClientSends(t *testing.T) {
	var (
		mu       sync.Mutex
		all      []string // each request but its Date and Authorization
		allDates []string
		allAuths []string
		answers  int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var hs []string
		for _, k := range []string{"Accept", "Content-Type", "User-Agent"} {
			hs = append(hs, k+"="+strings.Join(r.Header.Values(k), ","))
		}
		mu.Lock()
		all = append(all, r.Method+" "+r.URL.RequestURI()+" "+strings.Join(hs, " ")+" body="+string(body))
		allDates = append(allDates, strings.Join(r.Header.Values("Date"), ","))
		allAuths = append(allAuths, strings.Join(r.Header.Values("Authorization"), ","))
		answers++
		n := answers
		mu.Unlock()
		w.Header()["licensesignature"] = []string{"sig" + strconv.Itoa(n)} // written as it is, not canonical
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte(`{"answer":` + strconv.Itoa(n) + `}`))
	}))
	defer srv.Close()
	e := newEnv(t)
	b := newBench(t, e.config("check", srv.URL))
	tg := b.targets[0]
	ctx := context.Background()
	// take returns what the server saw since the last call (the handler runs on
	// goroutines of its own).
	take := func() (seen, dates, auths []string, answered int) {
		mu.Lock()
		defer mu.Unlock()
		s, d, a := all, allDates, allAuths
		all, allDates, allAuths = nil, nil, nil
		return s, d, a, answers
	}
	var kept []answer
	for _, r := range []Request{
		{Method: http.MethodGet, Endpoint: "check_license", Query: url.Values{"license_key": {"K-1 é"}, "hardware_id": {"h&1"}}.Encode()},
		{Method: http.MethodPost, Endpoint: "track_device_variables", Body: []byte(`{"variables":{"a":"b"}}`)},
	} {
		query, err := url.ParseQuery(r.Query)
		if err != nil {
			t.Fatal(err)
		}
		var body any
		if r.Body != nil {
			body = r.Body
		}
		want, err := tg.cl.Do(ctx, r.Method, r.Endpoint, query, body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.send(ctx, time.Now().Add(time.Minute), tg, &r)
		if err != nil {
			t.Fatal(err)
		}
		seen, dates, auths, answers := take()
		if len(seen) != 2 || seen[0] != seen[1] {
			t.Fatalf("%s: the server saw\n%s", r.Endpoint, strings.Join(seen, "\n"))
		}
		if !strings.Contains(seen[1], "Accept=application/json") ||
			strings.Contains(seen[1], "Content-Type=application/json") != (r.Body != nil) {
			t.Errorf("%s: headers %q", r.Endpoint, seen[1])
		}
		// Each request's Authorization signs its own Date (a second may pass between them).
		for i, d := range dates {
			at, err := http.ParseTime(d)
			if err != nil {
				t.Fatalf("%s: Date %q: %v", r.Endpoint, d, err)
			}
			if wd, wa := tg.cl.AuthHeaders(at); wd != d || wa != auths[i] {
				t.Errorf("%s: Date %q with Authorization %q, want %q", r.Endpoint, d, auths[i], wa)
			}
		}
		if got.status != want.Status || got.signature != "sig"+strconv.Itoa(answers) || want.Signature() != "sig"+strconv.Itoa(answers-1) ||
			string(got.body) != `{"answer":`+strconv.Itoa(answers)+`}` {
			t.Errorf("%s: answer %d %q %q, the client's %d %q %q", r.Endpoint, got.status, got.signature, got.body,
				want.Status, want.Signature(), want.Body)
		}
		if sig := got.response().Signature(); sig != got.signature {
			t.Errorf("response() signature %q", sig)
		}
		kept = append(kept, got)
	}
	// An answer kept is not overwritten by the next one (its body is a copy).
	if string(kept[0].body) != `{"answer":2}` {
		t.Errorf("the first answer kept reads %q", kept[0].body)
	}
}

// TestSendEndsAtItsDeadlines: the deadline passed bounds a request and so does its
// context's, whichever comes first; a fasthttp timeout is judged a timeout, and a
// cancelled context ends the request with the context's error.
func TestSendEndsAtItsDeadlines(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	e := newEnv(t)
	b := newBench(t, e.config("check", srv.URL))
	tg := b.targets[0]
	req := &Request{Method: http.MethodGet, Endpoint: "check_license"}
	short := 200 * time.Millisecond

	start := time.Now()
	_, err := b.send(context.Background(), start.Add(short), tg, req)
	if code, _ := b.judge(newWorker(0, nil, nil), tg.cl, nil, req, answer{}, err); code != "timeout" {
		t.Errorf("deadline passed: error %v judged %q, want timeout", err, code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), short)
	defer cancel()
	_, err = b.send(ctx, time.Now().Add(time.Hour), tg, req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("context's deadline: error %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(short, cancel)
	_, err = b.send(ctx, time.Now().Add(time.Hour), tg, req)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

// TestGetAsksForHealthz: the http-limit request is GET /healthz, and its status comes back.
func TestGetAsksForHealthz(t *testing.T) {
	seen := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Method + " " + r.URL.RequestURI()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	e := newEnv(t)
	b := newBench(t, e.config("check", srv.URL))
	status, err := b.get(context.Background(), time.Now().Add(time.Minute), b.targets[0])
	if err != nil || status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, error %v", status, err)
	}
	if got := <-seen; got != "GET /healthz" {
		t.Fatalf("the server saw %q", got)
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
	if !errors.Is(err, fasthttp.ErrBodyTooLarge) {
		t.Fatalf("error %v, want %v", err, fasthttp.ErrBodyTooLarge)
	}
}
