package webhook_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookd/hookd/webhook"
)

// middlewareRequest is a request carrying the spec's test vector, with body
// as its body.
func middlewareRequest(body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(body))
	for k, vs := range vecHeader() {
		req.Header[k] = vs
	}
	return req
}

func TestMiddleware(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		edit     func(*http.Request)
		opts     []webhook.MiddlewareOption
		wantCode int
		wantText string // in the 401/413 answer
	}{
		{name: "valid", body: vecBody, wantCode: http.StatusOK},
		{name: "tampered body", body: vecBody + " ", wantCode: http.StatusUnauthorized, wantText: "no matching signature"},
		{name: "bad signature", body: vecBody, edit: func(r *http.Request) {
			r.Header.Set(webhook.HeaderSignature, "v1,"+strings.Repeat("A", 43)+"=")
		}, wantCode: http.StatusUnauthorized, wantText: "no matching signature"},
		{name: "missing id", body: vecBody, edit: func(r *http.Request) {
			r.Header.Del(webhook.HeaderID)
		}, wantCode: http.StatusUnauthorized, wantText: "missing required headers: webhook-id"},
		{name: "body at the limit", body: vecBody, opts: []webhook.MiddlewareOption{webhook.WithMaxBodyBytes(int64(len(vecBody)))},
			wantCode: http.StatusOK},
		{name: "body over the limit", body: vecBody, opts: []webhook.MiddlewareOption{webhook.WithMaxBodyBytes(int64(len(vecBody) - 1))},
			wantCode: http.StatusRequestEntityTooLarge, wantText: "larger than"},
		{name: "over the 1 MiB default", body: strings.Repeat("x", webhook.DefaultMaxBodyBytes+1),
			wantCode: http.StatusRequestEntityTooLarge, wantText: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := mustVerifier(t, vecTime, vecSecret)
			var called bool
			var gotBody, gotID string
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				b, err := io.ReadAll(r.Body)
				if err != nil {
					t.Errorf("next reading body: %v", err)
				}
				gotBody = string(b)
				gotID, _ = webhook.MessageID(r.Context())
			})
			req := middlewareRequest(tt.body)
			if tt.edit != nil {
				tt.edit(req)
			}
			rec := httptest.NewRecorder()
			webhook.Middleware(v, tt.opts...)(next).ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.wantCode, rec.Body)
			}
			if tt.wantCode != http.StatusOK {
				if called {
					t.Error("next handler called for a refused request")
				}
				if !strings.Contains(rec.Body.String(), tt.wantText) {
					t.Errorf("answer %q does not contain %q", rec.Body, tt.wantText)
				}
				return
			}
			if !called {
				t.Fatal("next handler not called for a valid request")
			}
			if gotBody != tt.body {
				t.Errorf("next read body %q, want %q", gotBody, tt.body)
			}
			if gotID != vecID {
				t.Errorf("MessageID = %q, want %q", gotID, vecID)
			}
		})
	}
}

func TestMessageIDOutsideMiddleware(t *testing.T) {
	if id, ok := webhook.MessageID(httptest.NewRequest(http.MethodGet, "/", nil).Context()); ok || id != "" {
		t.Errorf("MessageID = %q, %v; want \"\", false", id, ok)
	}
}
