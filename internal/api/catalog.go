package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/catalog"
)

type catalogImportRequest struct {
	Pack    string `json:"pack" enum:"flexprice,flo,opentiendas,reflow" doc:"The provider pack to load: its event types, descriptions, JSON Schemas and examples."`
	Replace bool   `json:"replace,omitempty" doc:"Overwrite types the catalog already defines differently (otherwise such a conflict is a 409 and nothing is written)."`
}

type catalogImportOutput struct {
	Body *catalog.ImportResult
}

func (s *server) registerCatalog() {
	op := s.operation(scopeAdmin, http.MethodPost, "/v1/event-types/import", "import-event-types", "Event types", "Load a provider's event types into the catalog", http.StatusOK)
	op.Description = "Loads one of the built-in catalog packs (reflow, opentiendas, flo, flexprice). " +
		"Types not in the catalog are created; identical ones are left alone, so importing twice changes nothing. " +
		"Types the catalog defines differently are a 409 unless replace is true. All or nothing."
	op.Errors = append(op.Errors, http.StatusConflict)
	huma.Register(s.api, op, func(ctx context.Context, in *struct{ Body catalogImportRequest }) (*catalogImportOutput, error) {
		if err := s.checkImportLimit(ctx, in.Body.Pack); err != nil {
			return nil, err
		}
		res, err := catalog.Import(ctx, s.store, in.Body.Pack, in.Body.Replace, s.now().UTC())
		if err != nil {
			return nil, s.fail(ctx, err, "body")
		}
		for _, names := range [][]string{res.Created, res.Updated} {
			for _, n := range names {
				s.types.invalidate(n)
			}
		}
		return &catalogImportOutput{Body: res}, nil
	})
}
