// Command receiver is a webhook receiver that verifies hookd's signatures:
// what a provider's customer runs on their side. It imports only the public
// package github.com/hookd/hookd/webhook.
//
//	go run ./examples/receiver -addr 127.0.0.1:9000 -secret whsec_...
//
// It answers 204 to a correctly signed request and prints the event, and
// 401 to anything else.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/hookd/hookd/webhook"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	secret := flag.String("secret", os.Getenv("WEBHOOK_SECRET"), "the endpoint's signing secret (whsec_...), or WEBHOOK_SECRET")
	flag.Parse()
	if *secret == "" {
		log.Fatal("receiver: -secret (or WEBHOOK_SECRET) is required")
	}
	h, err := Handler(*secret, os.Stdout)
	if err != nil {
		log.Fatal("receiver: ", err)
	}
	log.Printf("receiver listening on http://%s/webhooks", *addr)
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// Handler verifies each request's signature and prints the verified body.
func Handler(secret string, out io.Writer) (http.Handler, error) {
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := v.Verify(r.Header, body); err != nil {
			status := http.StatusUnauthorized
			if errors.Is(err, webhook.ErrMissingHeaders) {
				status = http.StatusBadRequest
			}
			http.Error(w, "signature check failed: "+err.Error(), status)
			return
		}
		// A real receiver stores the event keyed by webhook-id (retries
		// repeat it) and does the work after answering.
		fmt.Fprintf(out, "verified %s: %s\n", r.Header.Get(webhook.HeaderID), body)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux, nil
}
