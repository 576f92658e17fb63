package handlers

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/oauth"
)

// metadata is the RFC 8414 authorization server metadata.
type metadata struct {
	Issuer                     string   `json:"issuer"`
	TokenEndpoint              string   `json:"token_endpoint"`
	RevocationEndpoint         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint      string   `json:"introspection_endpoint"`
	JWKSURI                    string   `json:"jwks_uri"`
	GrantTypesSupported        []string `json:"grant_types_supported"`
	ResponseTypesSupported     []string `json:"response_types_supported"`
	TokenEndpointAuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
	RevocationAuthMethods      []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionAuthMethods   []string `json:"introspection_endpoint_auth_methods_supported"`
	SigningAlgValuesSupported  []string `json:"access_token_signing_alg_values_supported"`
	IDTokenSigningAlgSupported []string `json:"id_token_signing_alg_values_supported,omitempty"`
}

// metadataBody renders the metadata document once; it never changes while
// the server runs.
func metadataBody(issuer string) ([]byte, error) {
	base := strings.TrimSuffix(issuer, "/")
	return json.Marshal(metadata{
		Issuer:                    issuer,
		TokenEndpoint:             base + "/oauth2/token",
		RevocationEndpoint:        base + "/oauth2/revoke",
		IntrospectionEndpoint:     base + "/oauth2/introspect",
		JWKSURI:                   base + "/.well-known/jwks.json",
		GrantTypesSupported:       oauth.SupportedGrants(),
		ResponseTypesSupported:    []string{},
		TokenEndpointAuthMethods:  []string{oauth.AuthBasic, oauth.AuthPost, oauth.AuthNone},
		RevocationAuthMethods:     []string{oauth.AuthBasic, oauth.AuthPost, oauth.AuthNone},
		IntrospectionAuthMethods:  []string{oauth.AuthBasic, oauth.AuthPost},
		SigningAlgValuesSupported: []string{"ES256", "RS256", "EdDSA"},
	})
}

func serveBytes(contentType, cacheControl string, body []byte) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", cacheControl)
		c.Data(http.StatusOK, contentType, body)
	}
}
