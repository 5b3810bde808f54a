package jsoncanon

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"unicode/utf8"
)

// state is the scratch space of one Marshal or Canonicalize call, pooled between calls.
type state struct {
	buf     []byte   // Marshal's output buffer, copied out at the end
	members []member // stack: each object in progress owns members[base:]
	keys    []string // stack of sorted map keys, same discipline
	ord     orderer
	depth   int
}

var statePool = sync.Pool{New: func() any { return new(state) }}

func getState() *state { return statePool.Get().(*state) }

func putState(st *state) {
	st.depth = 0
	clear(st.keys[:cap(st.keys)]) // don't keep callers' map keys alive from the pool
	if cap(st.ord.tmp) > 1<<16 {  // don't pin one huge body's buffers forever
		st.ord.tmp = nil
	}
	if cap(st.buf) > 1<<16 {
		st.buf = nil
	}
	statePool.Put(st)
}

// Canonicalize parses JSON text and re-emits it exactly as JSON.stringify(JSON.parse(text))
// would. Invalid JSON, invalid UTF-8 and numbers overflowing float64 are errors.
func Canonicalize(text []byte) ([]byte, error) {
	out, err := AppendCanonicalize(make([]byte, 0, len(text)), text)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AppendCanonicalize appends Canonicalize(text) to dst. On error dst is returned unchanged
// in length.
func AppendCanonicalize(dst, text []byte) ([]byte, error) {
	st := getState()
	defer putState(st)
	return st.canonicalize(dst, text)
}

func (st *state) canonicalize(dst, text []byte) ([]byte, error) {
	p := parser{data: text, st: st}
	n := len(dst)
	p.skipSpace()
	out, err := p.value(dst)
	if err == nil {
		p.skipSpace()
		if p.pos < len(p.data) {
			err = p.errorf("unexpected %q after top-level value", p.data[p.pos])
		}
	}
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

type parser struct {
	data  []byte
	pos   int
	depth int
	st    *state
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: p.pos, msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(dst []byte) ([]byte, error) {
	if p.pos >= len(p.data) {
		return dst, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(dst)
	case c == '[':
		return p.array(dst)
	case c == '"':
		return p.string(dst)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(dst)
	case c == 't':
		return p.literal(dst, "true")
	case c == 'f':
		return p.literal(dst, "false")
	case c == 'n':
		return p.literal(dst, "null")
	default:
		return dst, p.errorf("unexpected %q looking for a value", c)
	}
}

func (p *parser) literal(dst []byte, lit string) ([]byte, error) {
	if len(p.data)-p.pos < len(lit) || string(p.data[p.pos:p.pos+len(lit)]) != lit {
		return dst, p.errorf("invalid literal, expected %s", lit)
	}
	p.pos += len(lit)
	return append(dst, lit...), nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf("nesting deeper than %d", maxDepth)
	}
	return nil
}

func (p *parser) array(dst []byte) ([]byte, error) {
	if err := p.enter(); err != nil {
		return dst, err
	}
	p.pos++ // '['
	dst = append(dst, '[')
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return append(dst, ']'), nil
	}
	for {
		var err error
		p.skipSpace()
		if dst, err = p.value(dst); err != nil {
			return dst, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return dst, p.errorf("unexpected end of input in array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			dst = append(dst, ',')
		case ']':
			p.pos++
			p.depth--
			return append(dst, ']'), nil
		default:
			return dst, p.errorf("unexpected %q in array", p.data[p.pos])
		}
	}
}

func (p *parser) object(dst []byte) ([]byte, error) {
	if err := p.enter(); err != nil {
		return dst, err
	}
	open := len(dst)
	p.pos++ // '{'
	dst = append(dst, '{')
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return append(dst, '}'), nil
	}
	st := p.st
	base := len(st.members)
	defer func() { st.members = st.members[:base] }()
	for {
		var err error
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return dst, p.errorf("expected string key in object")
		}
		k0 := len(dst)
		if dst, err = p.string(dst); err != nil {
			return dst, err
		}
		k1 := len(dst)
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return dst, p.errorf("expected ':' after object key")
		}
		p.pos++
		dst = append(dst, ':')
		p.skipSpace()
		if dst, err = p.value(dst); err != nil {
			return dst, err
		}
		st.members = append(st.members, newMember(dst, k0, k1, len(dst)))
		p.skipSpace()
		if p.pos >= len(p.data) {
			return dst, p.errorf("unexpected end of input in object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			dst = append(dst, ',')
			p.skipSpace()
		case '}':
			p.pos++
			p.depth--
			dst = st.ord.fix(dst, open, st.members[base:])
			return append(dst, '}'), nil
		default:
			return dst, p.errorf("unexpected %q in object", p.data[p.pos])
		}
	}
}

// string parses a string literal and appends its JSON.stringify form: escapes are decoded
// and re-encoded, surrogate-pair escapes become raw UTF-8, lone surrogates stay \udxxx.
func (p *parser) string(dst []byte) ([]byte, error) {
	data := p.data
	i := p.pos + 1
	start := i
	dst = append(dst, '"')
	for {
		if i >= len(data) {
			p.pos = i
			return dst, p.errorf("unterminated string")
		}
		c := data[i]
		if plainASCII[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			dst = append(dst, data[start:i]...)
			p.pos = i + 1
			return append(dst, '"'), nil
		case c == '\\':
			dst = append(dst, data[start:i]...)
			var err error
			if dst, i, err = p.escape(dst, i); err != nil {
				return dst, err
			}
			start = i
		case c < 0x20:
			p.pos = i
			return dst, p.errorf("control character %#x in string", c)
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				p.pos = i
				return dst, p.errorf("invalid UTF-8 in string")
			}
			i += size
		}
	}
}

// escape decodes the escape sequence at data[i] == '\\' and appends its canonical form.
func (p *parser) escape(dst []byte, i int) ([]byte, int, error) {
	data := p.data
	if i+1 >= len(data) {
		p.pos = i
		return dst, i, p.errorf("unterminated string")
	}
	switch c := data[i+1]; c {
	case '"', '\\':
		return append(dst, '\\', c), i + 2, nil
	case '/':
		return append(dst, '/'), i + 2, nil
	case 'b':
		return append(dst, '\\', 'b'), i + 2, nil
	case 'f':
		return append(dst, '\\', 'f'), i + 2, nil
	case 'n':
		return append(dst, '\\', 'n'), i + 2, nil
	case 'r':
		return append(dst, '\\', 'r'), i + 2, nil
	case 't':
		return append(dst, '\\', 't'), i + 2, nil
	case 'u':
		r, ok := hex4(data, i+2)
		if !ok {
			p.pos = i
			return dst, i, p.errorf("invalid \\u escape")
		}
		switch {
		case r < 0x20 || r == '"' || r == '\\':
			return appendEscapedASCII(dst, byte(r)), i + 6, nil
		case r >= 0xD800 && r <= 0xDBFF:
			if i+7 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
				if lo, ok := hex4(data, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					return utf8.AppendRune(dst, 0x10000+(r-0xD800)<<10+(lo-0xDC00)), i + 12, nil
				}
			}
			return appendSurrogate(dst, r), i + 6, nil
		case r >= 0xDC00 && r <= 0xDFFF:
			return appendSurrogate(dst, r), i + 6, nil
		}
		return utf8.AppendRune(dst, r), i + 6, nil
	default:
		p.pos = i
		return dst, i, p.errorf("invalid escape \\%c", c)
	}
}

// appendSurrogate escapes a lone surrogate as well-formed JSON.stringify does (lowercase).
func appendSurrogate(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
}

func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func (p *parser) number(dst []byte) ([]byte, error) {
	data := p.data
	start := p.pos
	i := start
	if data[i] == '-' {
		i++
	}
	intStart := i
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		p.pos = i
		return dst, p.errorf("invalid number")
	}
	intDigits := i - intStart
	plain := true
	if i < len(data) && data[i] == '.' {
		plain = false
		i++
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			p.pos = i
			return dst, p.errorf("invalid number: no digits after '.'")
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		plain = false
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			p.pos = i
			return dst, p.errorf("invalid number: no digits in exponent")
		}
	}
	lit := data[start:i]
	p.pos = i
	if plain && intDigits <= 15 { // exact in float64 and printed as written
		if len(lit) == 2 && lit[0] == '-' && lit[1] == '0' {
			return append(dst, '0'), nil
		}
		return append(dst, lit...), nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0) {
			p.pos = start
			return dst, fmt.Errorf("%w: number %s overflows float64 at offset %d", ErrUnsupportedValue, lit, start)
		}
		p.pos = start
		return dst, p.errorf("invalid number %s", lit) // unreachable: grammar checked above
	}
	return appendFloat(dst, f, 64), nil
}
