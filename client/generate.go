package client

// `go generate ./client` rebuilds the client from the API's code: it writes
// hookd's OpenAPI 3.0 document (built in process, see internal/apidoc) to
// openapi.json, then runs oapi-codegen (pinned in go.mod as a tool) on it,
// writing generated.go. TestOpenAPIDocumentIsCurrent and
// TestGeneratedCodeIsCurrent fail when either file is stale.

//go:generate go run ../internal/apidoc/cmd/dump -o openapi.json
//go:generate go tool oapi-codegen -config oapi-codegen.yaml openapi.json
