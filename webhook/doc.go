// Package webhook signs and verifies webhooks following the Standard
// Webhooks specification (https://www.standardwebhooks.com).
//
// A message carries three headers:
//
//	webhook-id:        a unique message ID, the same on every retry
//	webhook-timestamp: the send time, in Unix seconds
//	webhook-signature: one or more space-separated signatures, "v1,<base64>"
//
// A v1 signature is the base64 (standard encoding) HMAC-SHA256 of
// msgID + "." + timestamp + "." + body, keyed with the secret's key bytes.
// Secrets are written "whsec_" followed by the base64 of the key.
//
// The package has no dependencies outside the standard library, so
// receivers can import it on its own.
//
// # Receiving webhooks
//
// Build a [Verifier] once, then check every request against it. Verify
// needs the raw body exactly as received: read it before decoding JSON.
//
//	v, err := webhook.NewVerifier(os.Getenv("WEBHOOK_SECRET"))
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.HandleFunc("/webhooks", func(w http.ResponseWriter, r *http.Request) {
//		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
//		if err != nil {
//			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
//			return
//		}
//		if err := v.Verify(r.Header, body); err != nil {
//			http.Error(w, "invalid signature", http.StatusUnauthorized)
//			return
//		}
//		// body is authentic: decode and handle it.
//	})
//
// Or let [Middleware] do the reading and checking: it answers 401 (which
// check failed, in plain text) or 413 (body over 1 MiB, see
// [WithMaxBodyBytes]) itself, and hands the handler the verified body and,
// through [MessageID], the message ID:
//
//	http.Handle("/webhooks", webhook.Middleware(v)(handler))
//
// To rotate a secret without downtime, pass both the old and the new secret
// to [NewVerifier] until the sender has switched.
//
// # Sending webhooks
//
// Build a [Signer] once per secret and call [Signer.Sign] (or
// [SignatureHeader] for several secrets during a rotation) for each message.
package webhook
