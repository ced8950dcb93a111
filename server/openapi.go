package server

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the hand-written OpenAPI 3 document of the API. A test loads
// it with a validator and checks that it covers every route.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3 document served at /api/v1/openapi.json.
func OpenAPI() []byte { return openAPIDoc }

func serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIDoc)
	return nil
}
