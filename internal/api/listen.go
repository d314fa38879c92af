package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// ListenServer runs `hookd listen` streams (internal/listen's Hub).
type ListenServer interface {
	// Serve upgrades the request to the stream of ep, a listen endpoint
	// just created (or resumed), and runs it until it ends.
	Serve(w http.ResponseWriter, r *http.Request, ep *hook.Endpoint, resumed bool)
}

// listenInput is the request that opens a `hookd listen` stream.
type listenInput struct {
	AppParam
	Events    string `query:"events" doc:"The event types to receive, comma-separated: names, or patterns such as order.* (as an endpoint's event_types). Empty receives every type."`
	ForwardTo string `query:"forward_to" doc:"Where the CLI forwards deliveries (shown as the endpoint's url; hookd never dials it)."`
	Resume    string `query:"resume" doc:"Resume this listen endpoint (ep_...) after a lost connection, within its grace period; the Hookd-Listen-Secret header must carry its secret."`
	Secret    string `header:"Hookd-Listen-Secret" doc:"With resume: the endpoint's signing secret, as the stream's first message gave it."`
	Upgrade   string `header:"Upgrade" doc:"websocket: this route answers only a WebSocket handshake."`
}

// listenOutput streams: the body function upgrades to a WebSocket.
type listenOutput struct {
	Body func(huma.Context)
}

// listenPlaceholderURL is the url of a listen endpoint whose CLI gave no
// forward_to.
const listenPlaceholderURL = "hookd-listen:"

func (s *server) registerListen() {
	op := s.operation(scopeApp, http.MethodGet, "/v1/apps/{app}/listen", "listen", "Endpoints",
		"Receive an app's deliveries over a WebSocket (hookd listen)", http.StatusSwitchingProtocols)
	op.Description = "Opens a WebSocket stream (`Connection: Upgrade`, `Upgrade: websocket`) and registers a temporary " +
		"endpoint of kind `listen` for the app, which lives as long as the stream (it is deleted when the client closes " +
		"the stream with status 1000, or 30 s after the connection is lost unless the client resumes it). Its deliveries " +
		"are sent down the stream instead of an HTTP POST, and the client's answers are recorded as their attempts. " +
		"The server's first message is `{\"type\":\"hello\",\"endpoint_id\",\"app_id\",\"secret\",\"event_types\"}`; " +
		"then `{\"type\":\"delivery\",\"request_id\",\"delivery_id\",\"event_id\",\"event_type\",\"attempt\",\"headers\",\"body\"}` " +
		"messages come down and the client answers each with `{\"type\":\"answer\",\"request_id\",\"status\",\"body\",\"duration_ms\"}` " +
		"(status 0 with `error_kind` and `error` when it got no answer). `hookd listen` is the client."
	op.Errors = append(op.Errors, http.StatusBadRequest, http.StatusConflict)
	huma.Register(s.api, op, func(ctx context.Context, in *listenInput) (*listenOutput, error) {
		var errs []*huma.ErrorDetail
		if !strings.EqualFold(in.Upgrade, "websocket") {
			return nil, huma.Error400BadRequest("header.Upgrade: this route opens a WebSocket stream (Upgrade: websocket); hookd listen is its client",
				&huma.ErrorDetail{Location: "header.Upgrade", Message: "must be websocket", Value: in.Upgrade})
		}
		if s.listen == nil {
			return nil, huma.Error503ServiceUnavailable("hookd listen is not available on this node")
		}
		types := []string{}
		for t := range strings.SplitSeq(in.Events, ",") {
			if t = strings.TrimSpace(t); t != "" {
				types = append(types, t)
			}
		}
		errs = collect(errs, hook.ValidateEventTypePatterns("events", types), "query", "events", in.Events)
		url := listenPlaceholderURL
		if in.ForwardTo != "" {
			if _, err := hook.ValidateEndpointURL("forward_to", in.ForwardTo); err != nil {
				errs = collect(errs, err, "query", "forward_to", in.ForwardTo)
			}
			url = in.ForwardTo
		}
		if in.Resume != "" && in.Secret == "" {
			errs = append(errs, &huma.ErrorDetail{Location: "header.Hookd-Listen-Secret", Message: "is required with resume"})
		}
		if len(errs) > 0 {
			return nil, invalidAll(errs)
		}
		app, err := s.cachedApp(ctx, in.App)
		if err != nil {
			return nil, s.fail(ctx, err, "path")
		}
		ep, resumed, err := s.listenEndpoint(ctx, app, in, types, url)
		if err != nil {
			return nil, err
		}
		return &listenOutput{Body: func(hctx huma.Context) {
			r, w := humago.Unwrap(hctx)
			s.listen.Serve(w, r, ep, resumed)
		}}, nil
	})
}

// listenEndpoint resumes the endpoint in.Resume (the same app's listen
// endpoint, and the secret to prove it), or creates a new listen endpoint.
func (s *server) listenEndpoint(ctx context.Context, app *hook.App, in *listenInput, types []string, url string) (*hook.Endpoint, bool, error) {
	if in.Resume != "" {
		ep, err := s.store.GetEndpoint(ctx, app.ID, in.Resume)
		if err != nil {
			return nil, false, s.fail(ctx, err, "query")
		}
		if !ep.IsListen() || subtle.ConstantTimeCompare([]byte(ep.Secret), []byte(in.Secret)) != 1 {
			// Like an unknown one: nothing learnt of the others.
			return nil, false, huma.Error404NotFound("query.resume: no listen endpoint " + in.Resume + " with this secret")
		}
		n, err := s.store.TouchListenEndpoints(ctx, &store.TouchListenEndpointsParams{IDs: []string{ep.ID}, Now: s.now().UTC()})
		if err != nil {
			return nil, false, s.fail(ctx, err, "")
		}
		if n == 0 {
			return nil, false, huma.Error404NotFound("query.resume: the listen endpoint " + in.Resume + " was removed")
		}
		return ep, true, nil
	}
	ep, err := s.store.CreateEndpoint(ctx, &store.CreateEndpointParams{
		ID: hook.NewID("ep"), AppID: app.ID, URL: url, Kind: hook.EndpointKindListen,
		Description: "hookd listen (temporary: removed when the stream ends)",
		EventTypes:  types, Headers: map[string]string{}, Metadata: map[string]string{},
		Secret: hook.NewSecret(), MaxPerApp: s.maxEndpoints, Now: s.now().UTC(),
	})
	if errors.Is(err, store.ErrEndpointLimit) {
		return nil, false, s.tooManyEndpoints()
	}
	if err != nil {
		return nil, false, s.fail(ctx, err, "")
	}
	s.disp.EndpointChanged(ep)
	return ep, false, nil
}
