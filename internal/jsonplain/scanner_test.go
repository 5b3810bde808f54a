package jsonplain

import (
	"encoding/json"
	"testing"
)

func TestText(t *testing.T) {
	for _, c := range []struct {
		in    string
		want  string
		plain bool
	}{
		{`"abc"`, "abc", true},
		{`  ""`, "", true},
		{`"é 😀"`, "é 😀", true},
		{`"a\"b"`, "", false},
		{`"a\\b"`, "", false},
		{"\"a\tb\"", "", false},
		{"\"\xff\"", "", false},
		{`"open`, "", false},
		{`abc`, "", false},
	} {
		got, ok := New([]byte(c.in)).Text()
		if ok != c.plain || got != c.want {
			t.Errorf("Text(%s) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.plain)
		}
		if ok {
			var ref string
			if err := json.Unmarshal([]byte(c.in), &ref); err != nil || ref != got {
				t.Errorf("Text(%s) = %q; encoding/json: %q, %v", c.in, got, ref, err)
			}
		}
	}
}

func TestInteger(t *testing.T) {
	for _, c := range []struct {
		in    string
		want  int64
		plain bool
	}{
		{`0`, 0, true},
		{`-0`, 0, true},
		{` 42`, 42, true},
		{`-9223372036854775808`, -9223372036854775808, true},
		{`9223372036854775807`, 9223372036854775807, true},
		{`9223372036854775808`, 0, false},
		{`01`, 0, false},
		{`1.5`, 0, false},
		{`1e3`, 0, false},
		{`-`, 0, false},
		{``, 0, false},
		{`+1`, 0, false},
	} {
		got, ok := New([]byte(c.in)).Integer()
		if ok != c.plain || got != c.want {
			t.Errorf("Integer(%s) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.plain)
		}
	}
}

func TestConsumeAndEnd(t *testing.T) {
	s := New([]byte(" [ \n] \t"))
	if !s.Consume('[') || s.Consume('[') || !s.Consume(']') || !s.End() {
		t.Error("Consume/End over white space")
	}
	if New([]byte("] x")).Consume(']') && New([]byte("] x")).End() {
		t.Error("End with text left")
	}
}
