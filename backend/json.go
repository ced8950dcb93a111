package backend

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// StorableJSON reports whether b is JSON every backend stores as given:
// valid JSON in valid UTF-8. Go's json.Valid accepts invalid UTF-8 inside
// strings, which PostgreSQL refuses (and a refused value in a batch fails
// the whole batch), so args, meta, results and progress are checked with
// this before they reach a backend.
func StorableJSON(b []byte) bool { return json.Valid(b) && utf8.Valid(b) }

// StorableText makes free text (an error message, a stack) storable by
// every backend inside JSON: invalid UTF-8 and NUL bytes (which
// PostgreSQL's jsonb refuses, even escaped) become U+FFFD.
func StorableText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// StorableString reports whether a tag, a unique key or another short string
// kept in a JSON or text column is storable by every backend: valid UTF-8
// without NUL bytes.
func StorableString(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
