// Package apidoc builds hookd's OpenAPI document from the API's code, in
// process, with no server running: what `go generate ./client` writes to
// client/openapi.json, and what the client's tests compare that file with.
package apidoc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// Version is the info.version of the document apidoc builds: a constant,
// so that the committed document does not change with each release.
const Version = "v1"

// OpenAPI30Path is where hookd serves the document downgraded to OpenAPI
// 3.0 (huma serves it next to the 3.1 one at api.OpenAPIPath).
const OpenAPI30Path = "/v1/openapi-3.0.json"

// OpenAPI30 returns hookd's OpenAPI document, downgraded by huma to
// OpenAPI 3.0.3 (what oapi-codegen reads), indented with two spaces and
// ending with a newline. It builds the API on a temporary SQLite store,
// removed before it returns, and asks it for the document.
func OpenAPI30(ctx context.Context) ([]byte, error) {
	dir, err := os.MkdirTemp("", "hookd-apidoc-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "hookd.db"), nil)
	if err != nil {
		return nil, fmt.Errorf("apidoc: open store: %w", err)
	}
	defer st.Close()
	h, err := api.New(api.Config{
		Store:      st,
		Dispatcher: idleDispatcher{},
		Logger:     slog.New(slog.DiscardHandler),
		Version:    Version,
	})
	if err != nil {
		return nil, fmt.Errorf("apidoc: %w", err)
	}
	return get(ctx, h, OpenAPI30Path)
}

// get answers GET path from h, indented.
func get(ctx context.Context, h http.Handler, path string) ([]byte, error) {
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("apidoc: GET %s: %d %s", path, rec.Code, body)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, body, "", "  "); err != nil {
		return nil, fmt.Errorf("apidoc: GET %s: %w", path, err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// errNoDispatcher is what idleDispatcher answers a publish with.
var errNoDispatcher = errors.New("apidoc: no dispatcher")

// idleDispatcher is the API's dispatcher while only its document is read:
// no request reaches it.
type idleDispatcher struct{}

func (idleDispatcher) Publish(context.Context, *hook.App, *hook.Event) (*store.InsertEventResult, error) {
	return nil, errNoDispatcher
}

func (idleDispatcher) PublishBatch(context.Context, *hook.App, []*hook.Event) ([]*store.InsertEventResult, error) {
	return nil, errNoDispatcher
}

func (idleDispatcher) AppChanged(*hook.App)           {}
func (idleDispatcher) Emit(string, string, any)       {}
func (idleDispatcher) EndpointChanged(*hook.Endpoint) {}
func (idleDispatcher) EndpointDeleted(string)         {}
func (idleDispatcher) Wake()                          {}
