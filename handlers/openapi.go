package handlers

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPIDocument is the OpenAPI 3.1 document of the admin API, written by
// hand. openapi_test.go validates it with an OpenAPI validator, checks that
// it documents every route under /admin/v1 and that real answers match it,
// and renders docs/admin-api.md from it.
//
//go:embed openapi.json
var openAPIDocument []byte

// serveOpenAPI serves GET /admin/v1/openapi.json. It sits in the admin
// group, behind the admin bearer like the API it describes (SPEC §7).
func serveOpenAPI(c *gin.Context) {
	noStore(c)
	c.Data(http.StatusOK, "application/json", openAPIDocument)
}
