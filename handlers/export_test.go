package handlers

// The fuzz targets' seeds, for the end-to-end test in handlers_test.
var (
	TokenRequestSeeds = tokenRequestSeeds
	ClientAuthSeeds   = clientAuthSeeds
)

// OpenAPIDocument is the embedded admin API document.
var OpenAPIDocument = openAPIDocument
