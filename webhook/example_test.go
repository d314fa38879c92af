package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd/webhook"
)

// This example shows a receiver's http.Handler verifying incoming
// webhooks, and a sender signing a request for it.
func Example() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

	// Receiver: build the Verifier once.
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		panic(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Verify needs the raw body, byte for byte as sent.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if err := v.Verify(r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "accepted %s", r.Header.Get(webhook.HeaderID))
	})

	// Sender: sign the message and set the three headers.
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		panic(err)
	}
	newRequest := func(body string) *http.Request {
		const id = "msg_2mYWvW4ZKJ8c1Yk3Xc0a9TfEqGh"
		now := time.Now()
		req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(body))
		req.Header.Set(webhook.HeaderID, id)
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(webhook.HeaderSignature, signer.Sign(id, now, []byte(body)))
		return req
	}

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, newRequest(`{"type":"invoice.paid"}`))
	fmt.Println(rec.Code, rec.Body.String())

	// A body changed in transit no longer matches its signature.
	req := newRequest(`{"type":"invoice.paid"}`)
	req.Body = io.NopCloser(strings.NewReader(`{"type":"invoice.refunded"}`))
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))

	// Output:
	// 200 accepted msg_2mYWvW4ZKJ8c1Yk3Xc0a9TfEqGh
	// 401 webhook: no matching signature
}

// Middleware verifies every request before the handler sees it; the
// handler reads the verified body as usual.
func ExampleMiddleware() {
	v, err := webhook.NewVerifier("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	handle := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // authentic, byte for byte as signed
		id, _ := webhook.MessageID(r.Context())
		fmt.Printf("%s: %s\n", id, body)
	})
	http.Handle("/webhooks", webhook.Middleware(v)(handle))
}
