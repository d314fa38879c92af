package api

import "github.com/danielgtaylor/huma/v2"

// declareOpenOperations gives every operation registered without a
// security requirement an explicit empty one (`security: []`), which is
// how OpenAPI says that an operation needs no credentials, rather than
// leaving readers (and linters) to guess. authMiddleware reads the same
// field: an operation with no requirement is served without a key.
//
// New calls after every register* call, so that a route added later is
// covered without being listed here.
func declareOpenOperations(doc *huma.OpenAPI) {
	for _, item := range doc.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Options, item.Head, item.Patch, item.Trace} {
			if op != nil && op.Security == nil {
				op.Security = []map[string][]string{}
			}
		}
	}
}
