package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/client"
	"github.com/licensor/licensor/internal/licensing"
	"github.com/licensor/licensor/internal/sqlite"
)

// syncBuf is a log sink safe for concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveForTest runs a Server with cfg on a loopback port until the test ends.
func serveForTest(t *testing.T, cfg Config) (addr string, creds licensing.Credentials, log *syncBuf) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := licensing.NewService(st)
	if creds, err = svc.Init(ctx, "a", "ecdsa-p256"); err != nil {
		t.Fatal(err)
	}
	log = &syncBuf{}
	cfg.Log = slog.New(slog.NewTextHandler(log, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- New(svc, cfg).Serve(sctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		st.Close()
	})
	return ln.Addr().String(), creds, log
}

// slowConn is one misbehaving client: it trickles bytes until the server hangs up.
type slowConn struct {
	conn   net.Conn
	start  time.Time
	closed chan struct{} // closed when the server closed the connection
	at     time.Time     // when
	reply  string        // what the server sent before closing
}

// trickle opens a connection, sends head at once, then one byte of rest every
// interval, and notes when and how the server ends the connection.
func trickle(t *testing.T, addr, head, rest string, interval time.Duration) *slowConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sc := &slowConn{conn: c, start: time.Now(), closed: make(chan struct{})}
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	go func() { // reader: returns when the server closes
		b, _ := io.ReadAll(c)
		sc.at, sc.reply = time.Now(), string(b)
		close(sc.closed)
	}()
	go func() { // writer
		for i := 0; ; i++ {
			select {
			case <-sc.closed:
				return
			case <-time.After(interval):
			}
			if _, err := c.Write([]byte{rest[i%len(rest)]}); err != nil {
				return
			}
		}
	}()
	return sc
}

// One slow connection, or many, cannot hold the server: slowloris clients that send
// their headers a byte at a time are cut off after ReadHeaderTimeout, clients that
// trickle a body after ReadTimeout, and meanwhile a normal client is served at once.
func TestSlowClients(t *testing.T) {
	const (
		headerTimeout = 2 * time.Second
		readTimeout   = 3 * time.Second
		prompt        = time.Second             // a normal request's bound, well under both
		slack         = 1500 * time.Millisecond // scheduling under -race and a loaded machine
		n             = 50                      // slow connections of each kind
	)
	addr, creds, log := serveForTest(t, Config{
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      readTimeout, // as the defaults are: equal, and a late body still gets its 408
		IdleTimeout:       time.Second,
	})

	var headers, bodies []*slowConn
	for range n {
		// Slowloris: a request line, then header bytes forever.
		headers = append(headers, trickle(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-Slow: abcdefgh\r\n", 50*time.Millisecond))
	}
	date := time.Now().UTC().Format(http.TimeFormat)
	auth := `algorithm="hmac-sha256",headers="date",signature="` + client.Sign(creds.SharedKey, date) + `",apikey="` + creds.APIKey + `"`
	for i := range n {
		// Slow body: authenticated License API and management API requests with complete
		// headers whose bodies never finish.
		head := fmt.Sprintf("POST /api/v4/activate_license HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nDate: %s\r\nAuthorization: %s\r\n\r\n{", date, auth)
		if i%2 == 1 {
			head = "POST /api/v1/products/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nAuthorization: Api-Key " + creds.ManagementKey + "\r\n\r\n{"
		}
		bodies = append(bodies, trickle(t, addr, head, " ", 50*time.Millisecond))
	}

	// (a) A normal client is served promptly while all of them are connected.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	mreq, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/products/", nil)
	mreq.Header.Set("Authorization", "Api-Key "+creds.ManagementKey)
	var slowest time.Duration
	for i := 0; i < 10; i++ {
		start := time.Now()
		resp, err := hc.Do(mreq)
		if err != nil {
			t.Fatalf("normal request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		el := time.Since(start)
		if resp.StatusCode != 200 || el > prompt {
			t.Fatalf("normal request %d: %d in %v while slow clients are connected", i, resp.StatusCode, el)
		}
		slowest = max(slowest, el)
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("10 normal requests beside %d slow connections: slowest %v", 2*n, slowest)
	for i, c := range append(headers, bodies...) {
		select {
		case <-c.closed:
			t.Fatalf("slow connection %d closed after %v, before the normal requests were done", i, c.at.Sub(c.start))
		default:
		}
	}

	// (b) Each slow connection is closed by the server, no sooner than its timeout and
	// not much later: slowloris ones without an answer (or net/http's bare 400 when the
	// deadline falls inside a header line), slow bodies with a 408 in the API's error
	// shape.
	wait := func(kind string, conns []*slowConn, timeout time.Duration, reply func(int, string) bool) {
		t.Helper()
		for i, c := range conns {
			select {
			case <-c.closed:
			case <-time.After(time.Until(c.start.Add(timeout + slack))):
				t.Fatalf("%s %d: still open %v after it started, timeout %v", kind, i, time.Since(c.start), timeout)
			}
			if el := c.at.Sub(c.start); el < timeout-50*time.Millisecond || el > timeout+slack {
				t.Errorf("%s %d: closed after %v, timeout %v", kind, i, el, timeout)
			}
			if !reply(i, c.reply) {
				t.Errorf("%s %d: server sent %q", kind, i, c.reply)
			}
		}
	}
	wait("slowloris", headers, headerTimeout, func(_ int, r string) bool { return r == "" || strings.HasPrefix(r, "HTTP/1.1 400 ") })
	wait("slow body", bodies, readTimeout, func(i int, r string) bool {
		want := `{"status":408,"code":"request_timeout","message":`
		if i%2 == 1 {
			want = `{"status":408,"code":"request_timeout","detail":`
		}
		return strings.HasPrefix(r, "HTTP/1.1 408 ") && strings.Contains(r, want)
	})
	if strings.Contains(log.String(), "level=ERROR") {
		t.Errorf("slow clients were logged as errors:\n%s", log.String())
	}
}

// An idle keep-alive connection is closed after IdleTimeout.
func TestIdleTimeout(t *testing.T) {
	const idle = 400 * time.Millisecond
	addr, _, _ := serveForTest(t, Config{IdleTimeout: idle})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	start := time.Now()
	c.SetReadDeadline(start.Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: read %v, want EOF", err)
	}
	if el := time.Since(start); el < idle-50*time.Millisecond || el > idle+1500*time.Millisecond {
		t.Fatalf("idle connection closed after %v, IdleTimeout %v", el, idle)
	}
}

// Headers over MaxHeaderBytes are answered 431 and close the connection; headers
// within it are served.
func TestHeaderLimit(t *testing.T) {
	addr, _, _ := serveForTest(t, Config{MaxHeaderBytes: 4 << 10})
	send := func(size int) string {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		go io.WriteString(c, "GET /nowhere HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", size)+"\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(c)
		return string(b)
	}
	if r := send(3 << 10); !strings.HasPrefix(r, "HTTP/1.1 404 ") { // served: an unknown path
		t.Fatalf("3 KiB header: %.200q", r)
	}
	// net/http reads up to MaxHeaderBytes plus 4 KiB of slack before it refuses.
	if r := send(64 << 10); !strings.HasPrefix(r, "HTTP/1.1 431 ") {
		t.Fatalf("64 KiB header: %.200q", r)
	}
}

func TestTimeoutDefaults(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := New(licensing.NewService(st), Config{}).cfg
	if c.ReadHeaderTimeout != 10*time.Second || c.ReadTimeout != 30*time.Second || c.WriteTimeout != 30*time.Second ||
		c.IdleTimeout != 120*time.Second || c.MaxHeaderBytes != 64<<10 {
		t.Fatalf("defaults %+v", c)
	}
	c = New(licensing.NewService(st), Config{ReadHeaderTimeout: time.Second, WriteTimeout: 2 * time.Second, MaxHeaderBytes: 100}).cfg
	if c.ReadHeaderTimeout != time.Second || c.WriteTimeout != 2*time.Second || c.MaxHeaderBytes != 100 || c.ReadTimeout != DefaultReadTimeout {
		t.Fatalf("set %+v", c)
	}
}

// TestAnswerWithinWriteTimeoutOnceRead: an answer has the write timeout from when its
// request was read — at once for a request without a body, from the body's end for
// one with a body, however long that took within the read timeout.
func TestAnswerWithinWriteTimeoutOnceRead(t *testing.T) {
	const (
		readTimeout  = 2 * time.Second
		writeTimeout = 500 * time.Millisecond
		late         = 1200 * time.Millisecond // after the write timeout, before read + write
	)
	h := answerWithin(writeTimeout, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodGet {
			time.Sleep(late) // an answer that takes too long
		}
		w.Write([]byte("answer"))
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadTimeout: readTimeout, WriteTimeout: readTimeout + writeTimeout}
	go hs.Serve(ln)
	defer hs.Close()
	send := func(head string, body string, bodyAfter time.Duration) string {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		time.Sleep(bodyAfter)
		io.WriteString(c, body)
		b, _ := io.ReadAll(c)
		return string(b)
	}
	// A POST whose body ends after the write timeout has passed since its headers is
	// answered: its write timeout counts from the body's end.
	if got := send("POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n", "{}", late); !strings.Contains(got, "answer") {
		t.Errorf("a body that ended late got %q, want its answer", got)
	}
	// A GET whose answer takes longer than the write timeout gets none (net/http's own
	// deadline, read + write timeouts, would have let it through).
	if got := send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "", 0); strings.Contains(got, "answer") {
		t.Errorf("an answer later than the write timeout was sent: %q", got)
	}
}
