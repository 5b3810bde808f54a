// Package e2e is a black-box suite: it builds the real licensor binary, runs it
// on temporary SQLite databases and talks to it over HTTP like a client would.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binary string  // path of the built licensor binary
	shared *server // one server most tests share; each test uses its own products
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "licensor-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binary = filepath.Join(tmp, "licensor")
	args := []string{"build", "-o", binary}
	if os.Getenv("LICENSOR_E2E_RACE") != "" {
		// CI's race run: the server under test is race-instrumented too.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/licensor")...)
	build.Dir = ".." // module root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/licensor: %v\n%s", err, out)
		return 1
	}
	shared, err = startServer(filepath.Join(tmp, "shared"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start shared server: %v\n", err)
		return 1
	}
	code := m.Run()
	if exit, err := shared.stop(); err != nil || exit != 0 {
		fmt.Fprintf(os.Stderr, "e2e: shared server did not exit cleanly on SIGTERM: exit %d, %v\nstderr:\n%s\n", exit, err, shared.stderr.String())
		if code == 0 {
			code = 1
		}
	}
	return code
}

// TestBuiltFromTheseSources reads every file the binary under test is built from (Go
// sources but tests, embedded SQL, go.mod and go.sum). go test caches a package's
// result by its test binary and the files its tests opened (opened during m.Run: the
// build in TestMain is not logged); the binary is built by this process, not linked
// into it, so without these reads a changed server would leave the suite's cached
// result standing.
func TestBuiltFromTheseSources(t *testing.T) {
	n, err := readSources("..")
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("read %d source files under the module root; the walk is missing them", n)
	}
}

func readSources(root string) (n int, err error) {
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) ||
			strings.HasSuffix(name, ".sql") || name == "go.mod" || name == "go.sum" {
			n++
			_, err = os.ReadFile(path)
		}
		return err
	})
	return n, err
}

// creds is the JSON `licensor init --json` and `licensor company create --json` print.
type creds struct {
	CompanyID     int64  `json:"company_id"`
	ManagementKey string `json:"management_key"`
	APIKey        string `json:"api_key"`
	SharedKey     string `json:"shared_key"`
	PublicKey     string `json:"public_key"`
}

type server struct {
	dir    string
	db     string // --db value
	addr   string
	root   string // http://addr
	creds  creds
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	exit   int
	args   []string // extra `serve` flags
	env    []string // extra environment for `serve` (NAME=value)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cliResult is the outcome of one CLI run.
type cliResult struct {
	stdout, stderr string
	exit           int
}

func runCLI(args ...string) (cliResult, error) { return runCLIEnv(nil, args...) }

// runCLIEnv runs the CLI with extra environment variables (NAME=value).
func runCLIEnv(env []string, args ...string) (cliResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.exit = ee.ExitCode()
		err = nil
	}
	return r, err
}

// initDB runs `licensor init` on a fresh database in dir.
func initDB(dir string) (string, creds, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", creds{}, err
	}
	db := "sqlite:" + filepath.Join(dir, "licensor.db")
	r, err := runCLI("init", "--db", db, "--json")
	if err != nil {
		return "", creds{}, err
	}
	if r.exit != 0 {
		return "", creds{}, fmt.Errorf("init exit %d: %s", r.exit, r.stderr)
	}
	c, err := parseCreds(r.stdout)
	if err != nil {
		return "", creds{}, fmt.Errorf("init: %v", err)
	}
	return db, c, nil
}

// parseCreds parses exactly one JSON object with every credential field set.
func parseCreds(stdout string) (creds, error) {
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var c creds
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("stdout is not the credentials object: %v; stdout %q", err, stdout)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		return c, fmt.Errorf("stdout holds more than one JSON value: %q", stdout)
	}
	if c.CompanyID <= 0 || c.ManagementKey == "" || c.APIKey == "" || c.SharedKey == "" || !strings.HasPrefix(c.PublicKey, "-----BEGIN PUBLIC KEY-----") {
		return c, fmt.Errorf("incomplete credentials %+v", c)
	}
	return c, nil
}

// startServer initialises a database in dir and serves it.
func startServer(dir string) (*server, error) {
	db, c, err := initDB(dir)
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, db: db, creds: c}
	return s, s.serve()
}

// serve starts `licensor serve --db s.db` on a port the kernel picks (the address it
// logs) and waits for /healthz; a server that did not come up is stopped. A port found
// free beforehand could be taken by another test's server before this one binds it, and
// that server would then answer this one's /healthz.
func (s *server) serve() error {
	s.addr, s.root = "", ""
	s.stderr = &syncBuffer{}
	s.exit = 0
	s.cmd = exec.Command(binary, append([]string{"serve", "--db", s.db, "--addr", "127.0.0.1:0"}, s.args...)...)
	s.cmd.Stdout = s.stderr
	s.cmd.Stderr = s.stderr
	if len(s.env) > 0 {
		s.cmd.Env = append(os.Environ(), s.env...)
	}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan struct{})
	go func() {
		err := s.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			s.exit = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				s.exit = 128 + int(ws.Signal())
			}
		case err != nil:
			s.exit = -1
		}
		close(s.done)
	}()
	deadline := time.Now().Add(15 * time.Second)
	addr, err := s.waitListening(deadline)
	if err == nil {
		s.addr, s.root = addr, "http://"+addr
		err = s.waitHealthy(time.Until(deadline))
	}
	if err != nil {
		s.stop()
	}
	return err
}

// listeningLine is the log line `licensor serve` writes once it listens.
var listeningLine = regexp.MustCompile(`msg="licensor listening" addr=(\S+)`)

// waitListening returns the address the server logged it listens on.
func (s *server) waitListening(deadline time.Time) (string, error) {
	for time.Now().Before(deadline) {
		if m := listeningLine.FindStringSubmatch(s.stderr.String()); m != nil {
			return m[1], nil
		}
		select {
		case <-s.done:
			return "", fmt.Errorf("serve exited with %d before it listened; output:\n%s", s.exit, s.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("serve did not log its address in time; output:\n%s", s.stderr.String())
}

func (s *server) waitHealthy(limit time.Duration) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("serve exited with %d before /healthz answered; output:\n%s", s.exit, s.stderr.String())
		default:
		}
		resp, err := hc.Get(s.root + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("/healthz not 200 after %v; output:\n%s", limit, s.stderr.String())
}

// stop sends SIGTERM and waits for the exit code.
func (s *server) stop() (int, error) {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0, nil
	}
	select {
	case <-s.done:
		return s.exit, nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return s.exit, nil
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return s.exit, errors.New("no exit within 10s of SIGTERM; killed")
	}
}

// newServer starts a server of its own for one test.
func newServer(t *testing.T) *server {
	t.Helper()
	s, err := startServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stopAfter(t, "server") })
	return s
}

// stopAfter stops s at the end of t: an exit other than 0 on SIGTERM fails t, and a
// failed t shows what the server logged (an answer of 500 says why only there).
func (s *server) stopAfter(t *testing.T, name string) {
	exit, err := s.stop()
	switch {
	case err != nil || exit != 0:
		t.Errorf("%s exit %d on SIGTERM (%v); output:\n%s", name, exit, err, s.stderr.String())
	case t.Failed():
		t.Logf("%s output:\n%s", name, s.stderr.String())
	}
}
