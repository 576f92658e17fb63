package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"sync/atomic"

	"github.com/gin-gonic/gin"
)

type requestIDKey struct{}

// requestID gives every request an id: the caller's X-Request-ID when it
// is short and plain, a random one otherwise. It is echoed in the response
// and added to every log line written with the request's context.
//
// A generated id is a random per-process prefix and a counter: unique
// across instances and restarts without a random read per request.
func requestID() gin.HandlerFunc {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := hex.EncodeToString(b) + "-"
	var n atomic.Uint64
	return func(c *gin.Context) {
		id := c.Request.Header.Get("X-Request-Id")
		if !plainID(id) {
			id = prefix + strconv.FormatUint(n.Add(1), 36)
		}
		c.Writer.Header()["X-Request-Id"] = []string{id}
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), requestIDKey{}, id))
		c.Next()
	}
}

func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// LogHandler wraps a slog handler so that records logged with a request's
// context carry its request_id.
func LogHandler(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
