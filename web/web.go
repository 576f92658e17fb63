// Package web embeds the browser client and the demo page, so that
// `baton serve` can serve them. The client itself is plain JavaScript.
package web

import "embed"

// Files holds baton-client.js and demo/index.html.
//
//go:embed baton-client.js demo/index.html
var Files embed.FS
