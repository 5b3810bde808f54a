package sqlstore

import (
	"encoding/json"
	"fmt"
	"github.com/licensor/licensor/internal/jsonplain"
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
// API refuses anything else, PostgreSQL cannot store it).
//
// Every track and get-variables on PostgreSQL decodes one (SQLite reads the rows
// instead), and encoding/json's reflection was a tenth of a track's CPU, so the arrays
// the database writes (objects of exactly these four keys, integers, strings without
// escapes) are read by decodeVariables; anything else, escapes included, goes to
// encoding/json, whose answer is the reference.
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
	sortVariables(vs)
	return vs, nil
}

// decodeVariables reads b if it is an array of objects with the keys i, n, v and c,
// each once, i and c integers that fit int64, n and v strings with no escape, no
// control character and valid UTF-8; ok is false for anything else.
func decodeVariables(b []byte) (rows []variableJSON, ok bool) {
	d := jsonplain.New(b)
	if !d.Consume('[') {
		return nil, false
	}
	if d.Consume(']') {
		return rows, d.End()
	}
	for {
		r, ok := variableObject(d)
		if !ok {
			return nil, false
		}
		rows = append(rows, r)
		if d.Consume(']') {
			return rows, d.End()
		}
		if !d.Consume(',') {
			return nil, false
		}
	}
}

func variableObject(d *jsonplain.Scanner) (r variableJSON, ok bool) {
	if !d.Consume('{') {
		return r, false
	}
	var seen [4]bool
	for k := 0; k < 4; k++ {
		if k > 0 && !d.Consume(',') {
			return r, false
		}
		key, ok := d.Text()
		if !ok || len(key) != 1 || !d.Consume(':') {
			return r, false
		}
		var slot int
		switch key[0] {
		case 'i':
			slot = 0
			r.I, ok = d.Integer()
		case 'n':
			slot = 1
			r.N, ok = d.Text()
		case 'v':
			slot = 2
			r.V, ok = d.Text()
		case 'c':
			slot = 3
			r.C, ok = d.Integer()
		default:
			return r, false
		}
		if !ok || seen[slot] {
			return r, false
		}
		seen[slot] = true
	}
	return r, d.Consume('}')
}
