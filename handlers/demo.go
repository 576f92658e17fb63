package handlers

import (
	"io/fs"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth/resource"
	"github.com/batonhq/baton/oauth/resource/ginresource"
)

// Demo is the optional demo page: the browser client, a page using it, and
// an API protected by the resource-server middleware.
type Demo struct {
	Files    fs.FS // baton-client.js and demo/index.html
	Verifier *resource.Verifier
}

// mount adds the demo routes under /demo.
func (d *Demo) mount(r *gin.Engine) error {
	page, err := fs.ReadFile(d.Files, "demo/index.html")
	if err != nil {
		return err
	}
	client, err := fs.ReadFile(d.Files, "baton-client.js")
	if err != nil {
		return err
	}
	r.GET("/demo", func(c *gin.Context) { c.Redirect(http.StatusFound, "/demo/") })
	r.GET("/demo/", serveBytes("text/html; charset=utf-8", "no-cache", page))
	r.GET("/demo/baton-client.js", serveBytes("text/javascript; charset=utf-8", "no-cache", client))
	r.GET("/demo/api/hello", ginresource.Middleware(d.Verifier), func(c *gin.Context) {
		claims, _ := ginresource.Claims(c)
		c.JSON(http.StatusOK, gin.H{"hello": claims.Subject, "scope": claims.Scope})
	})
	return nil
}
