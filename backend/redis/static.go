package redis

import (
	"encoding/json"
	"strconv"
	"strings"

	"conveyor/backend"
)

// The static JSON of a job (staticData) is encoded on every enqueue and
// decoded on every claim, which made encoding/json's reflection the largest
// Go-side cost per job in a burn-down. appendStatic and parseStatic handle
// this one fixed shape by hand; the bytes are the JSON encoding/json reads
// (same keys, same omitempty rules), so records written by either path are
// read by both, and the stored layout is unchanged. Anything the fast
// parser does not expect (escaped strings, unknown keys, other spacing)
// falls back to encoding/json, so it never misreads a record.

// appendStatic appends the JSON of d to buf.
func appendStatic(buf []byte, d *staticData) []byte {
	buf = append(buf, `{"k":`...)
	buf = appendJSONString(buf, d.Kind)
	if d.Priority != 0 {
		buf = append(buf, `,"p":`...)
		buf = strconv.AppendInt(buf, int64(d.Priority), 10)
	}
	if d.Timeout != 0 {
		buf = append(buf, `,"t":`...)
		buf = strconv.AppendInt(buf, d.Timeout, 10)
	}
	if d.UniqueKey != "" {
		buf = append(buf, `,"uk":`...)
		buf = appendJSONString(buf, d.UniqueKey)
	}
	if len(d.UniqueStates) > 0 {
		buf = append(buf, `,"us":`...)
		buf = appendJSONStrings(buf, len(d.UniqueStates), func(i int) string { return string(d.UniqueStates[i]) })
	}
	if len(d.Tags) > 0 {
		buf = append(buf, `,"tg":`...)
		buf = appendJSONStrings(buf, len(d.Tags), func(i int) string { return d.Tags[i] })
	}
	buf = append(buf, `,"ea":`...)
	buf = strconv.AppendInt(buf, d.EnqueuedAt, 10)
	return append(buf, '}')
}

func appendJSONStrings(buf []byte, n int, at func(int) string) []byte {
	buf = append(buf, '[')
	for i := range n {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, at(i))
	}
	return append(buf, ']')
}

// appendJSONString quotes s as JSON: plain printable ASCII is copied, any
// other string goes through encoding/json, which escapes it.
func appendJSONString(buf []byte, s string) []byte {
	if !plainJSON(s) {
		q, _ := json.Marshal(s) // a string always marshals
		return append(buf, q...)
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// plainJSON reports whether s needs no escaping inside JSON quotes (and none
// that encoding/json would add: it escapes <, > and & too).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// parseStatic decodes the static JSON, by hand when it has the shape
// appendStatic writes, else with encoding/json.
func parseStatic(s string, d *staticData) error {
	if parseStaticFast(s, d) {
		return nil
	}
	*d = staticData{}
	return json.Unmarshal([]byte(s), d)
}

// parseStaticFast parses {"key":value,...} where every value is an integer,
// a string without escapes, or an array of such strings; it reports false
// (leaving d partly filled) for anything else.
func parseStaticFast(s string, d *staticData) bool {
	*d = staticData{}
	p := staticParser{s: s}
	if !p.byte('{') {
		return false
	}
	for first := true; !p.byte('}'); first = false {
		if !first && !p.byte(',') {
			return false
		}
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return false
		}
		if !p.field(key, d) {
			return false
		}
	}
	return p.i == len(s)
}

type staticParser struct {
	s string
	i int
}

// field parses the value of key into d.
func (p *staticParser) field(key string, d *staticData) bool {
	var ok bool
	switch key {
	case "k":
		d.Kind, ok = p.str()
	case "uk":
		d.UniqueKey, ok = p.str()
	case "p":
		var n int64
		n, ok = p.int()
		d.Priority = int(n)
	case "t":
		d.Timeout, ok = p.int()
	case "ea":
		d.EnqueuedAt, ok = p.int()
	case "tg":
		d.Tags, ok = p.strs()
	case "us":
		var states []string
		states, ok = p.strs()
		for _, st := range states {
			d.UniqueStates = append(d.UniqueStates, backend.JobState(st))
		}
	}
	return ok
}

func (p *staticParser) byte(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str parses a quoted string with no escapes.
func (p *staticParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	end := strings.IndexByte(p.s[p.i:], '"')
	if end < 0 {
		return "", false
	}
	v := p.s[p.i : p.i+end]
	if strings.IndexByte(v, '\\') >= 0 {
		return "", false
	}
	p.i += end + 1
	return v, true
}

func (p *staticParser) int() (int64, bool) {
	start := p.i
	if p.i < len(p.s) && p.s[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
	return n, err == nil
}

// strs parses an array of strings with no escapes.
func (p *staticParser) strs() ([]string, bool) {
	if !p.byte('[') {
		return nil, false
	}
	var out []string
	for first := true; !p.byte(']'); first = false {
		if !first && !p.byte(',') {
			return nil, false
		}
		v, ok := p.str()
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}
