package server_test

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUIFilesServed checks every file of the admin UI is served with the
// strict headers and a type browsers accept for module scripts (with
// nosniff, a wrong type would stop the page from loading).
func TestUIFilesServed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	files := uiFiles(t)
	require.NotEmpty(t, files)
	for name := range files {
		r := b.doAs("", "GET", "/ui/"+name, nil)
		require.Equal(t, http.StatusOK, r.status, name)
		csp := r.header.Get("Content-Security-Policy")
		require.Contains(t, csp, "default-src 'self'", name)
		require.NotContains(t, csp, "unsafe-inline", name)
		require.NotContains(t, csp, "unsafe-eval", name)
		require.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"), name)
		require.Equal(t, "no-cache", r.header.Get("Cache-Control"), name)
		want := map[string]string{".js": "text/javascript", ".css": "text/css", ".html": "text/html"}[filepath.Ext(name)]
		require.True(t, strings.HasPrefix(r.header.Get("Content-Type"), want), "%s: %s", name, r.header.Get("Content-Type"))
	}
	r := b.doAs("", "GET", "/", nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), `<script type="module" src="/ui/app.js">`)
}

// TestUISourceRules keeps the UI within its CSP and its XSS rule even where
// no browser runs: no inline script, style or event handler in the page, no
// HTML parsing of strings or eval in the scripts.
func TestUISourceRules(t *testing.T) {
	t.Parallel()
	files := uiFiles(t)
	html := files["index.html"]
	require.NotEmpty(t, html)
	scripts := regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(html, -1)
	require.NotEmpty(t, scripts)
	for _, m := range scripts {
		require.Contains(t, m[1], `src="/ui/`, "scripts come from our files: %s", m[0])
		require.Empty(t, strings.TrimSpace(m[2]), "no inline script: %s", m[0])
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)\sstyle\s*=`),
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)https?://`), // no CDN
	} {
		require.False(t, re.MatchString(html), "index.html matches %s", re)
	}
	for name, src := range files {
		if filepath.Ext(name) != ".js" {
			continue
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute(\"style\""} {
			require.False(t, strings.Contains(src, bad), "%s uses %s", name, bad)
		}
		// Modules import only each other: nothing is fetched from elsewhere.
		for _, m := range regexp.MustCompile(`(?m)^\s*import\s[^;]*?from\s+"([^"]+)"`).FindAllStringSubmatch(src, -1) {
			require.True(t, strings.HasPrefix(m[1], "./"), "%s imports %s", name, m[1])
		}
		require.NotContains(t, src, "import(", name)
	}
}

// uiFiles reads the UI's source files (the embedded tree) by name.
func uiFiles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	root := os.DirFS("ui")
	require.NoError(t, fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(root, p)
		out[p] = string(data)
		return err
	}))
	return out
}
