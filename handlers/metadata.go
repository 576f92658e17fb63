package handlers

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/batonhq/baton/keys"
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
	// Authorization code flow and OpenID Connect Discovery 1.0 §3 (SPEC §6).
	AuthorizationEndpoint  string   `json:"authorization_endpoint"`
	UserinfoEndpoint       string   `json:"userinfo_endpoint"`
	SubjectTypesSupported  []string `json:"subject_types_supported"`
	ScopesSupported        []string `json:"scopes_supported"`
	ClaimsSupported        []string `json:"claims_supported"`
	CodeChallengeMethods   []string `json:"code_challenge_methods_supported"`
	IssParameterSupported  bool     `json:"authorization_response_iss_parameter_supported"`
	ResponseModesSupported []string `json:"response_modes_supported"`
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
		ResponseTypesSupported:    []string{"code"},
		TokenEndpointAuthMethods:  []string{oauth.AuthBasic, oauth.AuthPost, oauth.AuthNone},
		RevocationAuthMethods:     []string{oauth.AuthBasic, oauth.AuthPost, oauth.AuthNone},
		IntrospectionAuthMethods:  []string{oauth.AuthBasic, oauth.AuthPost},
		SigningAlgValuesSupported: keys.Algorithms(),

		IDTokenSigningAlgSupported: keys.Algorithms(),
		AuthorizationEndpoint:      base + "/oauth2/authorize",
		UserinfoEndpoint:           base + "/oauth2/userinfo",
		SubjectTypesSupported:      []string{"public"},
		ScopesSupported:            oauth.ScopesSupported(),
		ClaimsSupported:            oauth.ClaimsSupported(),
		CodeChallengeMethods:       []string{"S256"},
		IssParameterSupported:      true,
		ResponseModesSupported:     []string{"query"},
	})
}

func serveBytes(contentType, cacheControl string, body []byte) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Access-Control-Allow-Origin", "*") // public documents (SPEC §6 CORS)
		c.Header("Cache-Control", cacheControl)
		c.Data(http.StatusOK, contentType, body)
	}
}
