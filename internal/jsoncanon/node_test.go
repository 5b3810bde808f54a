package jsoncanon

// Property tests against real JavaScript: whatever we emit must be exactly what Node's
// JSON.stringify(JSON.parse(·)) produces. Skipped only when node is not on PATH.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// nodeRestringify writes docs as one JSON array to a file, has Node parse it and
// JSON.stringify each element, and returns one line per element plus, last, the
// stringification of the whole array.
func nodeRestringify(t *testing.T, docs []string) []string {
	t.Helper()
	node := lookNode(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.txt")
	if err := os.WriteFile(in, []byte("[\n"+strings.Join(docs, ",\n")+"\n]"), 0o600); err != nil {
		t.Fatal(err)
	}
	const script = `
const fs = require('fs');
const [inPath, outPath] = process.argv.slice(1);
const all = JSON.parse(fs.readFileSync(inPath, 'utf8'));
const lines = all.map(v => JSON.stringify(v));
lines.push(JSON.stringify(all));
fs.writeFileSync(outPath, lines.join('\n'), 'utf8');
`
	runNode(t, node, script, in, out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) != len(docs)+1 {
		t.Fatalf("node returned %d lines for %d documents", len(lines), len(docs))
	}
	return lines
}

func lookNode(t *testing.T) string {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH: cannot compare with JavaScript's JSON.stringify")
	}
	return node
}

func runNode(t *testing.T, node, script string, args ...string) {
	t.Helper()
	cmd := exec.Command(node, append([]string{"-e", script}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
}

// TestCanonicalizeMatchesNode feeds randomly formatted JSON text (random whitespace, escape
// styles, number spellings, duplicate and integer-like keys, lone surrogate escapes) to
// Canonicalize and to Node.
func TestCanonicalizeMatchesNode(t *testing.T) {
	g := &textGen{r: rand.New(rand.NewSource(20260618))}
	docs := make([]string, 3000)
	for i := range docs {
		var b strings.Builder
		g.value(&b, 0)
		docs[i] = b.String()
	}
	lines := nodeRestringify(t, docs)
	failures := 0
	for i, doc := range docs {
		got, err := Canonicalize([]byte(doc))
		switch {
		case err != nil:
			t.Errorf("doc %d: Canonicalize(%s): %v", i, doc, err)
		case string(got) != lines[i]:
			t.Errorf("doc %d: Canonicalize(%s)\n  go: %s\nnode: %s", i, doc, got, lines[i])
		default:
			continue
		}
		if failures++; failures == 10 {
			t.Fatal("too many differences")
		}
	}
	whole, err := Canonicalize([]byte("[\n" + strings.Join(docs, ",\n") + "\n]"))
	if err != nil || string(whole) != lines[len(docs)] {
		t.Errorf("whole document differs from node (err %v)", err)
	}
}

// TestMarshalMatchesNode checks the property the server relies on: for random Go values,
// B = Marshal(v) satisfies JSON.stringify(JSON.parse(B)) == B.
func TestMarshalMatchesNode(t *testing.T) {
	g := &valueGen{r: rand.New(rand.NewSource(5318008)), text: &textGen{r: rand.New(rand.NewSource(7))}}
	docs := make([]string, 3000)
	for i := range docs {
		v := g.value(0)
		b, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%#v): %v", v, err)
		}
		if !utf8.Valid(b) {
			t.Fatalf("Marshal(%#v) is not valid UTF-8: %q", v, b)
		}
		docs[i] = string(b)
	}
	lines := nodeRestringify(t, docs)
	for i, doc := range docs {
		if doc != lines[i] {
			t.Errorf("doc %d: JS re-serialisation differs\n  go: %s\nnode: %s", i, doc, lines[i])
		}
	}
}

// TestFormatNumberMatchesNode compares FormatNumber with String(x) on exact bit patterns.
func TestFormatNumberMatchesNode(t *testing.T) {
	node := lookNode(t)
	r := rand.New(rand.NewSource(42))
	var fs []float64
	for len(fs) < 6000 {
		var f float64
		switch len(fs) % 4 {
		case 0: // any finite bit pattern: mostly huge and tiny exponents
			f = math.Float64frombits(r.Uint64())
		case 1: // the plain-decimal range and its borders (1e-7, 1e21)
			f = (r.Float64()*9 + 1) * math.Pow(10, float64(r.Intn(36)-10))
		case 2: // short decimals, integers near 2^53, neighbours of powers of ten
			switch r.Intn(3) {
			case 0:
				f, _ = strconv.ParseFloat(fmt.Sprintf("%de%d", r.Intn(100000), r.Intn(60)-30), 64)
			case 1:
				f = float64(1<<53 + r.Int63n(1<<20) - 1<<19)
			default:
				p := math.Pow(10, float64(r.Intn(660)-330))
				f = math.Nextafter(p, math.Inf(2*r.Intn(2)-1))
			}
		default: // subnormals
			f = math.Float64frombits(uint64(r.Int63n(1 << 52)))
		}
		if r.Intn(2) == 0 {
			f = -f
		}
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			fs = append(fs, f)
		}
	}
	fs = append(fs, 0, math.Copysign(0, -1), 1e21, 1e-7, math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.Nextafter(1e21, 0), math.Nextafter(1e-7, 0), math.Nextafter(1e-7, 1))
	var in strings.Builder
	for _, f := range fs {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], math.Float64bits(f))
		fmt.Fprintf(&in, "%x\n", b)
	}
	dir := t.TempDir()
	inPath, outPath := filepath.Join(dir, "bits.txt"), filepath.Join(dir, "out.txt")
	if err := os.WriteFile(inPath, []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	const script = `
const fs = require('fs');
const [inPath, outPath] = process.argv.slice(1);
const dv = new DataView(new ArrayBuffer(8));
const out = fs.readFileSync(inPath, 'utf8').trim().split('\n').map(h => {
  dv.setBigUint64(0, BigInt('0x' + h));
  return String(dv.getFloat64(0));
});
fs.writeFileSync(outPath, out.join('\n'));
`
	runNode(t, node, script, inPath, outPath)
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(string(b), "\n")
	if len(want) != len(fs) {
		t.Fatalf("node returned %d numbers for %d", len(want), len(fs))
	}
	for i, f := range fs {
		got, err := FormatNumber(f)
		if err != nil || got != want[i] {
			t.Errorf("FormatNumber(%b) = %q, %v; node String(x) = %q", f, got, err, want[i])
		}
	}
}

// keyPool mixes keys JavaScript reorders with near misses it does not.
var keyPool = []string{
	"0", "1", "2", "9", "10", "42", "100", "4294967294", "4294967295", "4294967296",
	"01", "-1", "-0", "1.0", "1e3", " 1", "+1", "", "a", "b", "id", "__proto__", "constructor",
	"toString", "é", "😀", "\u2028", "a\"b", "\\", "/", "\x00", "\x1f",
}

// textGen writes random JSON text in random (valid) spellings.
type textGen struct{ r *rand.Rand }

func (g *textGen) space(b *strings.Builder) {
	for g.r.Intn(4) == 0 {
		b.WriteByte(" \t\n\r"[g.r.Intn(4)])
	}
}

func (g *textGen) value(b *strings.Builder, depth int) {
	g.space(b)
	k := g.r.Intn(10)
	if depth >= 4 {
		k = 4 + g.r.Intn(6)
	}
	switch k {
	case 0, 1:
		b.WriteByte('{')
		n := g.r.Intn(7)
		var used []string
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			var key string
			switch {
			case len(used) > 0 && g.r.Intn(6) == 0: // duplicate key
				key = used[g.r.Intn(len(used))]
			case g.r.Intn(2) == 0:
				key = keyPool[g.r.Intn(len(keyPool))]
			default:
				key = g.randString()
			}
			used = append(used, key)
			g.space(b)
			g.writeString(b, key, true)
			g.space(b)
			b.WriteByte(':')
			g.value(b, depth+1)
		}
		g.space(b)
		b.WriteByte('}')
	case 2, 3:
		b.WriteByte('[')
		n := g.r.Intn(6)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			g.value(b, depth+1)
		}
		g.space(b)
		b.WriteByte(']')
	case 4, 5:
		g.writeString(b, g.randString(), true)
	case 6, 7:
		b.WriteString(g.number())
	default:
		b.WriteString([]string{"true", "false", "null"}[g.r.Intn(3)])
	}
	g.space(b)
}

// randString returns a random valid UTF-8 string rich in characters JSON treats specially.
func (g *textGen) randString() string {
	var b strings.Builder
	n := g.r.Intn(12)
	for i := 0; i < n; i++ {
		var r rune
		switch g.r.Intn(12) {
		case 0:
			r = rune(g.r.Intn(0x20)) // control
		case 1:
			r = []rune{'"', '\\', '/', 0x7f, 0x2028, 0x2029, 0xfeff, 0xfffd, '<', '>', '&', '\''}[g.r.Intn(12)]
		case 2:
			r = rune(0x1F600 + g.r.Intn(80)) // emoji
		case 3:
			r = rune(0x10000 + g.r.Intn(0x100000)) // any supplementary code point
		case 4:
			r = rune(0x80 + g.r.Intn(0xD800-0x80)) // BMP below the surrogates
		case 5:
			r = rune(0xE000 + g.r.Intn(0x2000)) // BMP above the surrogates
		default:
			r = rune(0x20 + g.r.Intn(0x5f)) // printable ASCII
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeString writes s as a JSON string literal, escaping each character in one of the
// valid ways at random, and sometimes inserting lone surrogate escapes.
func (g *textGen) writeString(b *strings.Builder, s string, allowLone bool) {
	b.WriteByte('"')
	for _, r := range s {
		if allowLone && g.r.Intn(40) == 0 {
			fmt.Fprintf(b, `\u%04X`, 0xD800+g.r.Intn(0x800))
		}
		mustEscape := r < 0x20 || r == '"' || r == '\\'
		switch {
		case !mustEscape && g.r.Intn(5) != 0:
			b.WriteRune(r)
		case r == '/' && g.r.Intn(2) == 0:
			b.WriteString(`\/`)
		case strings.ContainsRune("\"\\\b\f\n\r\t", r) && g.r.Intn(2) == 0:
			b.WriteString(map[rune]string{'"': `\"`, '\\': `\\`, '\b': `\b`, '\f': `\f`, '\n': `\n`, '\r': `\r`, '\t': `\t`}[r])
		case r >= 0x10000:
			r -= 0x10000
			g.hexEscape(b, 0xD800+r>>10)
			g.hexEscape(b, 0xDC00+r&0x3FF)
		default:
			g.hexEscape(b, r)
		}
	}
	b.WriteByte('"')
}

func (g *textGen) hexEscape(b *strings.Builder, r rune) {
	if g.r.Intn(2) == 0 {
		fmt.Fprintf(b, `\u%04x`, r)
	} else {
		fmt.Fprintf(b, `\u%04X`, r)
	}
}

// number returns a random JSON number spelling, some beyond float64's precision or range
// (underflow only: overflow is an error by design).
func (g *textGen) number() string {
	r := g.r
	switch r.Intn(9) {
	case 0:
		return strconv.Itoa(r.Intn(2000) - 1000)
	case 1:
		return strconv.FormatInt(r.Int63()>>uint(r.Intn(63)), 10)
	case 2: // long integers, beyond 2^53
		var b strings.Builder
		if r.Intn(2) == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(byte('1' + r.Intn(9)))
		for n := r.Intn(25); n > 0; n-- {
			b.WriteByte(byte('0' + r.Intn(10)))
		}
		return b.String()
	case 3, 4: // a random finite double in a random format
		f := math.Float64frombits(r.Uint64())
		for math.IsNaN(f) || math.IsInf(f, 0) {
			f = math.Float64frombits(r.Uint64())
		}
		if r.Intn(2) == 0 {
			f = (r.Float64() - 0.5) * math.Pow(10, float64(r.Intn(50)-25))
		}
		s := strconv.FormatFloat(f, "eEg"[r.Intn(3)], r.Intn(20)-1, 64)
		if strings.ContainsAny(s, "eE") && r.Intn(2) == 0 {
			s = strings.Replace(strings.Replace(s, "e-", "e-00", 1), "E+", "E", 1)
		}
		return s
	case 5:
		return []string{"-0", "0.0", "-0.0", "0e0", "-0E-0", "0.000", "1.0", "1.50", "1e21", "1e-7", "1E+2", "5e-324", "4e-324",
			"2e-324", "1e-400", "-1e-400", "1.7976931348623157e308", "100000000000000000000", "123456789012345680000",
			"9007199254740993", "0.1", "0.30000000000000004", "1e+308"}[r.Intn(23)]
	case 6: // many fraction digits
		return fmt.Sprintf("%d.%d", r.Intn(1000), r.Int63())
	case 7: // mantissa with many digits and a big exponent
		return fmt.Sprintf("%d.%de%d", r.Intn(10), r.Int63(), r.Intn(600)-300)
	default:
		return strconv.FormatFloat(r.NormFloat64()*1e3, 'f', r.Intn(10), 64)
	}
}

// valueGen builds random Go values of the kinds the server marshals.
type valueGen struct {
	r    *rand.Rand
	text *textGen
}

type genStruct struct {
	Name   string            `json:"name"`
	Ten    int               `json:"10"`
	Zero   float64           `json:"0,omitempty"`
	Tags   []string          `json:"tags"`
	Meta   map[string]any    `json:"meta,omitempty"`
	Ptr    *genStruct        `json:"ptr"`
	F32    float32           `json:"f32"`
	Raw    json.RawMessage   `json:"raw,omitempty"`
	Labels map[string]string `json:"labels"`
}

func (g *valueGen) value(depth int) any {
	r := g.r
	k := r.Intn(14)
	if depth >= 4 {
		k = 6 + r.Intn(8)
	}
	switch k {
	case 0, 1:
		m := map[string]any{}
		for n := r.Intn(7); n > 0; n-- {
			m[g.key()] = g.value(depth + 1)
		}
		return m
	case 2:
		var o Object
		for n := r.Intn(7); n > 0; n-- {
			o = append(o, Member{g.key(), g.value(depth + 1)})
			if r.Intn(5) == 0 { // duplicate
				o = append(o, Member{o[r.Intn(len(o))].Key, g.value(depth + 1)})
			}
		}
		return o
	case 3, 4:
		s := make([]any, r.Intn(6))
		for i := range s {
			s[i] = g.value(depth + 1)
		}
		return s
	case 5:
		s := genStruct{Name: g.str(), Ten: r.Intn(100), Zero: float64(r.Intn(2)), F32: math.Float32frombits(r.Uint32())}
		if math.IsNaN(float64(s.F32)) || math.IsInf(float64(s.F32), 0) {
			s.F32 = 1.5
		}
		for n := r.Intn(3); n > 0; n-- {
			s.Tags = append(s.Tags, g.str())
		}
		if r.Intn(2) == 0 {
			s.Meta = map[string]any{g.key(): g.value(depth + 1)}
		}
		if r.Intn(3) == 0 {
			p := g.value(depth + 2)
			s.Ptr = &genStruct{Name: fmt.Sprint(p)}
		}
		if r.Intn(2) == 0 {
			var b strings.Builder
			g.text.value(&b, 2)
			s.Raw = json.RawMessage(b.String())
		}
		s.Labels = map[string]string{g.key(): g.str(), g.key(): g.str()}
		return s
	case 6, 7:
		return g.str()
	case 8:
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0.0
		}
		return f
	case 9:
		return (r.Float64() - 0.5) * math.Pow(10, float64(r.Intn(40)-15))
	case 10:
		return r.Int63n(1<<54) - 1<<53 + 1
	case 11:
		return json.Number(g.text.number())
	case 12:
		return []bool{true, false}[r.Intn(2)]
	default:
		return nil
	}
}

func (g *valueGen) key() string {
	if g.r.Intn(2) == 0 {
		return keyPool[g.r.Intn(len(keyPool))]
	}
	return g.str()
}

// str is a random string, occasionally with invalid UTF-8 (Marshal turns it into U+FFFD).
func (g *valueGen) str() string {
	s := g.text.randString()
	if g.r.Intn(20) == 0 {
		s += string([]byte{0xff, 0xed, 0xa0, 0x80, 0xc3}[:1+g.r.Intn(4)])
	}
	return s
}
