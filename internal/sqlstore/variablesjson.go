package sqlstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/licensor/licensor/internal/licensing"
)

// variableJSON is one element of a Dialect.VariablesJSON array.
type variableJSON struct {
	I int64  `json:"i"`
	N string `json:"n"`
	V string `json:"v"`
	C int64  `json:"c"`
}

// variablesFromJSON decodes a Dialect.VariablesJSON array. Values are valid UTF-8 (the
// API refuses anything else, PostgreSQL cannot store it); bytes that were not, written
// into SQLite by hand, would come back as U+FFFD here and raw from Variables.
//
// Every track and get-variables decodes one, and encoding/json's reflection was a
// tenth of a track's CPU, so the arrays the databases write (objects of exactly these
// four keys, integers, strings without escapes) are read by decodeVariables; anything
// else, escapes included, goes to encoding/json, whose answer is the reference.
func variablesFromJSON(deviceID int64, b []byte) ([]licensing.Variable, error) {
	rows, ok := decodeVariables(b)
	if !ok {
		rows = nil
		if err := json.Unmarshal(b, &rows); err != nil {
			return nil, fmt.Errorf("variables of device %d: %w", deviceID, err)
		}
	}
	if len(rows) == 0 {
		return nil, nil // as Variables
	}
	vs := make([]licensing.Variable, len(rows))
	for i, r := range rows {
		vs[i] = licensing.Variable{ID: r.I, DeviceID: deviceID, Name: r.N, Value: r.V, CreatedAt: fromMS(r.C)}
	}
	return vs, nil
}

// decodeVariables reads b if it is an array of objects with the keys i, n, v and c,
// each once, i and c integers that fit int64, n and v strings with no escape, no
// control character and valid UTF-8; ok is false for anything else.
func decodeVariables(b []byte) (rows []variableJSON, ok bool) {
	d := varDecoder{b: b}
	if !d.consume('[') {
		return nil, false
	}
	if d.consume(']') {
		return rows, d.end()
	}
	for {
		r, ok := d.object()
		if !ok {
			return nil, false
		}
		rows = append(rows, r)
		if d.consume(']') {
			return rows, d.end()
		}
		if !d.consume(',') {
			return nil, false
		}
	}
}

type varDecoder struct {
	b []byte
	i int
}

func (d *varDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// consume consumes c, after any white space, if it is next.
func (d *varDecoder) consume(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *varDecoder) end() bool {
	d.space()
	return d.i == len(d.b)
}

func (d *varDecoder) object() (r variableJSON, ok bool) {
	if !d.consume('{') {
		return r, false
	}
	var seen [4]bool
	for k := 0; k < 4; k++ {
		if k > 0 && !d.consume(',') {
			return r, false
		}
		key, ok := d.text()
		if !ok || len(key) != 1 || !d.consume(':') {
			return r, false
		}
		var slot int
		switch key[0] {
		case 'i':
			slot, ok = 0, d.integer(&r.I)
		case 'n':
			slot = 1
			r.N, ok = d.text()
		case 'v':
			slot = 2
			r.V, ok = d.text()
		case 'c':
			slot, ok = 3, d.integer(&r.C)
		default:
			return r, false
		}
		if !ok || seen[slot] {
			return r, false
		}
		seen[slot] = true
	}
	return r, d.consume('}')
}

// text reads a string without escapes or control characters, in valid UTF-8.
func (d *varDecoder) text() (string, bool) {
	if !d.consume('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		}
		d.i++
	}
	return "", false
}

// integer reads an integer in JSON's grammar (no fraction, no exponent) that fits int64.
func (d *varDecoder) integer(n *int64) bool {
	d.space()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i == digits || (d.b[digits] == '0' && d.i-digits > 1) {
		return false // no digits, or a leading zero
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return false
	}
	v, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
	*n = v
	return err == nil
}
