package jsoncanon

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// canonSeeds are the hand-picked inputs of FuzzCanonicalize and FuzzCanonicalizeNode: key
// order, duplicate keys, number spellings at the format borders, escapes and lone
// surrogates, raw U+2028, nesting, and text JSON.parse must refuse.
var canonSeeds = []string{
	`{"b":1,"a":2,"10":3,"2":4}`,
	`{"a":1,"a":{"0":[],"x":null},"4294967295":-0.0}`,
	`{"4294967294":1,"4294967295":2,"01":3,"1":4,"-1":5,"0":6,"1.0":7}`,
	`{"x":1,"y":2,"x":3}`,
	`[1.0,1e21,1e-7,-0,12345678901234567890,5e-324,1e-400]`,
	`[123456789012345,1234567890123456,9007199254740993,-9007199254740993,100000000000000000000000]`,
	`[0.1,0.30000000000000004,1e+308,1.7976931348623157e308,2e-324,1E2,1e-6,1e-7,0.000001,999999999999999999999]`,
	`"\ud83d\ude00\ud800\u0041\udc00\/\u00e9\u2028\u001f"`,
	`"\uDBFF\uDFFF\uD800\uD800\uDC00\uDC00"`,
	" [ true , false , null , \"\\b\\f\\n\\r\\t\" ] ",
	"\"raw é 😀 \u2029\"",
	`{"__proto__":{"1":1},"":""}`,
	`1e400`,
	`-1e400`,
	`[[[[[]]]]]`,
	strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
	strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
	strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	`{"a":[{"b":{"c":[1,{"0":0,"a":"a"}]}}]}`,
	// refused by JSON.parse: trailing commas, leading zeros, bare words, BOM, raw control
	`[1,]`, `{"a":1,}`, `01`, `-`, `1.`, `.5`, `+1`, `NaN`, `tru`, "\ufeff1", "\"\x01\"", `"\x"`, `"\u12"`,
	"\"\xff\"", "1 2", "",
}

// FuzzCanonicalize: whatever Canonicalize accepts is valid JSON for encoding/json, means the
// same to encoding/json, is a fixed point (canonicalizing the output changes nothing), and
// is stable under decode and re-encode: Marshal of the output decoded in order (objects as
// Object, numbers as json.Number) reproduces it byte for byte, so the encoder and the
// canonicalizer agree on key order, numbers and string escapes.
func FuzzCanonicalize(f *testing.F) {
	for _, seed := range canonSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(in)
		if err != nil {
			return
		}
		if !json.Valid(in) {
			t.Fatalf("accepted input encoding/json rejects: %q", in)
		}
		if !json.Valid(out) {
			t.Fatalf("output is not valid JSON: %q -> %q", in, out)
		}
		again, err := Canonicalize(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		// Same meaning for encoding/json (it also keeps the last duplicate, reads lone
		// surrogates as U+FFFD and -0 == 0).
		var a, b any
		if err := json.Unmarshal(in, &a); err != nil {
			t.Fatalf("encoding/json cannot decode accepted input %q: %v", in, err)
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("encoding/json cannot decode output %q: %v", out, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("meaning changed: %q (%#v) -> %q (%#v)", in, a, out, b)
		}
		// canon(parse(canon(x))) == canon(x). A Go string cannot hold a lone surrogate,
		// so outputs that keep one escaped are left out of this check.
		if hasLoneSurrogateEscape(out) {
			return
		}
		v, err := decodeOrdered(out)
		if err != nil {
			t.Fatalf("decoding output %q in order: %v", out, err)
		}
		re, err := Marshal(v)
		if err != nil || !bytes.Equal(re, out) {
			t.Fatalf("decode and re-encode is not stable: %q -> %q -> Marshal %q, %v", in, out, re, err)
		}
	})
}

// hasLoneSurrogateEscape reports whether canonical output contains a \udXXX escape
// (canonical text escapes surrogates only when they are lone). A preceding escaped
// backslash only makes this answer true more often, which merely skips a check.
func hasLoneSurrogateEscape(out []byte) bool {
	for i := 0; ; {
		j := bytes.Index(out[i:], []byte(`\ud`))
		if j < 0 {
			return false
		}
		i += j + 3
		if i < len(out) && strings.IndexByte("89abcdef", out[i]) >= 0 {
			return true
		}
	}
}

// decodeOrdered decodes JSON keeping object member order and number text: objects become
// Object, arrays []any, numbers json.Number.
func decodeOrdered(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the value (%v)", err)
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	switch d {
	case '{':
		o := Object{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			o = append(o, Member{k.(string), v})
		}
		_, err := dec.Token()
		return o, err
	case '[':
		s := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		_, err := dec.Token()
		return s, err
	}
	return nil, fmt.Errorf("unexpected delimiter %v", d)
}

// FuzzCanonicalizeNode compares Canonicalize with Node's JSON.stringify(JSON.parse(x)) on
// every input, through one Node process per fuzzing worker. Both must accept the same
// valid UTF-8 texts and, when they do, produce the same bytes. Go refuses, by design,
// numbers that overflow float64 (Node reads them as Infinity and writes null) and
// nesting deeper than maxDepth. Its seeds include FuzzCanonicalize's committed corpus,
// so plain `go test` checks that corpus against Node too. Skipped without node.
func FuzzCanonicalizeNode(f *testing.F) {
	if _, err := exec.LookPath("node"); err != nil {
		f.Skip("node not on PATH: cannot compare with JavaScript's JSON.stringify")
	}
	for _, seed := range canonSeeds {
		f.Add([]byte(seed))
	}
	for _, in := range readCorpus(f, "FuzzCanonicalize") {
		f.Add(in)
	}
	node := startNodeRestringifier(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(in)
		js, jsErr := node.restringify(t, in)
		switch {
		case !utf8.Valid(in):
			// Node would read the bytes with U+FFFD replacement; Go refuses them.
			if err == nil {
				t.Fatalf("accepted invalid UTF-8 %q -> %q", in, out)
			}
		case err == nil && jsErr == "":
			if !bytes.Equal(out, js) {
				t.Fatalf("differs from node for %q\n  go: %q\nnode: %q", in, out, js)
			}
		case err == nil && strings.HasPrefix(jsErr, "RangeError"):
			// Node's stack gave out on deep nesting that Go still accepts: no verdict.
		case err == nil:
			t.Fatalf("accepted %q -> %q; node: %s", in, out, jsErr)
		case jsErr != "":
			// Both refuse.
		case errors.Is(err, ErrUnsupportedValue):
			// Overflowing number, refused by design (node prints null for Infinity).
		case strings.Contains(err.Error(), "nesting deeper than"):
			// Depth limit, by design.
		default:
			t.Fatalf("refused %q (%v); node accepts it: %q", in, err, js)
		}
	})
}

// nodeRestringifier is a Node process answering one line per request line:
// base64(text) in, "ok base64(JSON.stringify(JSON.parse(text)))" or "err <Name>" out.
type nodeRestringifier struct {
	in  io.WriteCloser
	out *bufio.Reader
}

func startNodeRestringifier(f *testing.F) *nodeRestringifier {
	const script = `
const rl = require('readline').createInterface({input: process.stdin, crlfDelay: Infinity});
rl.on('line', line => {
  let out;
  try {
    const text = Buffer.from(line, 'base64').toString('utf8');
    out = 'ok ' + Buffer.from(JSON.stringify(JSON.parse(text)), 'utf8').toString('base64');
  } catch (e) {
    out = 'err ' + (e && e.name ? e.name : 'Error');
  }
  process.stdout.write(out + '\n');
});
`
	cmd := exec.Command("node", "-e", script)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		f.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		f.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	return &nodeRestringifier{in: in, out: bufio.NewReaderSize(out, 1<<16)}
}

// restringify returns Node's output bytes, or the name of the error Node threw.
func (n *nodeRestringifier) restringify(t *testing.T, text []byte) ([]byte, string) {
	t.Helper()
	if _, err := io.WriteString(n.in, base64.StdEncoding.EncodeToString(text)+"\n"); err != nil {
		t.Fatalf("writing to node: %v", err)
	}
	line, err := n.out.ReadString('\n')
	if err != nil {
		t.Fatalf("reading from node: %v", err)
	}
	line = strings.TrimSuffix(line, "\n")
	if name, ok := strings.CutPrefix(line, "err "); ok {
		return nil, name
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "ok "))
	if err != nil {
		t.Fatalf("node answered %q: %v", line, err)
	}
	return b, ""
}

// readCorpus returns the []byte inputs of a target's committed corpus files
// (testdata/fuzz/<name>/*, "go test fuzz v1" format with one []byte value).
func readCorpus(tb testing.TB, name string) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", 2)
		if len(lines) != 2 || lines[0] != "go test fuzz v1" {
			tb.Fatalf("%s: not a go test fuzz v1 file", file)
		}
		lit, ok := strings.CutPrefix(strings.TrimSpace(lines[1]), "[]byte(")
		lit, ok2 := strings.CutSuffix(lit, ")")
		if !ok || !ok2 {
			tb.Fatalf("%s: not a single []byte value", file)
		}
		s, err := strconv.Unquote(lit)
		if err != nil {
			tb.Fatalf("%s: %v", file, err)
		}
		out = append(out, []byte(s))
	}
	return out
}

// FuzzMarshalString: any Go string, valid UTF-8 or not, encodes to a canonical string that
// decodes to what encoding/json's own encoding decodes to (each invalid byte → U+FFFD).
func FuzzMarshalString(f *testing.F) {
	for _, seed := range []string{"", "a\"b\\c", "\x00\x1f\x7f", "</script>&\u2028\u2029", "é😀", "\xff\xed\xa0\x80\xc3"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Marshal(s)
		if err != nil {
			t.Fatalf("Marshal(%q): %v", s, err)
		}
		again, err := Canonicalize(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Marshal(%q) = %q is not canonical: %q, %v", s, out, again, err)
		}
		std, _ := json.Marshal(s)
		var got, want string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Marshal(%q) decodes to %q; encoding/json's to %q", s, got, want)
		}
	})
}
