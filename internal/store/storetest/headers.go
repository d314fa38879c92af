package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/store"
)

// RunSealedHeaders checks that a backend seals endpoint custom header
// values at rest as it seals secrets: the headers column holds
// "enc:v1:..." values and none of the plaintext, every read (the fan-out
// cache and claims included) returns the plaintext, a value moved to
// another header or endpoint does not open, another key fails clearly,
// and the start-up pass seals rows written before encryption, whatever
// their values look like.
func RunSealedHeaders(t *testing.T, b SecretsBackend) {
	open := func(t *testing.T, db string, kr *secrets.Keyring) *h {
		t.Helper()
		s, err := b.Open(t, db, kr)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return &h{t: t, s: s, ctx: t.Context(), now: time.Now().UTC().Truncate(time.Millisecond)}
	}
	closeStore := func(h *h) {
		h.t.Helper()
		must(h.t, h.s.Close(), "Close")
	}
	seal := func(h *h) (int, error) {
		return h.s.(store.SecretSealer).SealPlaintextSecrets(h.ctx)
	}
	newKeyring := func(t *testing.T, keys ...[]byte) *secrets.Keyring {
		t.Helper()
		kr, err := secrets.NewKeyring(keys[0], keys[1:]...)
		must(t, err, "NewKeyring")
		return kr
	}
	// raw reads the headers column as a map, with headers_sealed.
	raw := func(t *testing.T, db, endpointID string) (text string, m map[string]string, sealed bool) {
		t.Helper()
		text, sealed = b.RawHeaders(t, db, endpointID)
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			t.Fatalf("headers of %s as stored (%q) are not a JSON object of strings: %v", endpointID, text, err)
		}
		return text, m, sealed
	}
	// wantSealed checks the stored headers of an endpoint whose headers
	// are plain: the same names, each value sealed with kr's key, and no
	// plaintext value anywhere in the column.
	wantSealed := func(t *testing.T, db, endpointID string, kr *secrets.Keyring, plain map[string]string) {
		t.Helper()
		text, m, sealed := raw(t, db, endpointID)
		if !sealed {
			t.Fatalf("headers_sealed of %s is false: want true", endpointID)
		}
		if len(m) != len(plain) {
			t.Fatalf("headers of %s as stored: %d entries, want %d", endpointID, len(m), len(plain))
		}
		for k, v := range plain {
			if !strings.HasPrefix(m[k], "enc:v1:"+kr.KeyID()+":") {
				t.Fatalf("header %s of %s as stored is %q: want it sealed, enc:v1:%s:...", k, endpointID, m[k], kr.KeyID())
			}
			if strings.Contains(text, v) {
				t.Fatalf("headers of %s as stored (%s) hold the value of %s in plaintext", endpointID, text, k)
			}
		}
	}
	// credentials returns header values unlike anything else in a row.
	credentials := func(tag string) map[string]string {
		return map[string]string{
			"Authorization": "Bearer tok-" + tag + "-" + hook.NewID("cred"),
			"X-Api-Key":     "key-" + tag + "-" + hook.NewID("cred"),
		}
	}
	withHeaders := func(hdr map[string]string) func(*store.CreateEndpointParams) {
		return func(p *store.CreateEndpointParams) { p.Headers = hdr }
	}

	t.Run("SealedAtRest", func(t *testing.T) {
		t.Parallel()
		kr := newKeyring(t, secrets.GenerateKey())
		db := b.NewDB(t)
		h := open(t, db, kr)
		app := h.app("")
		hdr := credentials("a")
		ep := h.endpoint(app.ID, withHeaders(hdr))
		wantMap(t, ep.Headers, hdr, "CreateEndpoint's Headers")
		wantSealed(t, db, ep.ID, kr, hdr)
		bare := h.endpoint(app.ID)
		_, m, sealed := raw(t, db, bare.ID)
		eq(t, len(m), 0, "stored headers of an endpoint without any")
		eq(t, sealed, true, "headers_sealed of an endpoint without headers, written with a keyring")

		got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		must(t, err, "GetEndpoint")
		wantMap(t, got.Headers, hdr, "GetEndpoint's Headers")
		page, err := h.s.ListEndpoints(h.ctx, &store.ListEndpointsParams{AppID: app.ID})
		must(t, err, "ListEndpoints")
		for _, e := range page.Data {
			if e.ID == ep.ID {
				wantMap(t, e.Headers, hdr, "ListEndpoints' Headers")
			}
		}
		enabled, err := h.s.ListEnabledEndpoints(h.ctx, app.ID)
		must(t, err, "ListEnabledEndpoints")
		eq(t, len(enabled), 2, "ListEnabledEndpoints")
		wantMap(t, enabled[0].Headers, hdr, "ListEnabledEndpoints' Headers")
		fan, err := h.s.ListFanoutEndpoints(h.ctx, app.ID)
		must(t, err, "ListFanoutEndpoints")
		wantMap(t, fan[0].Headers, hdr, "ListFanoutEndpoints' Headers")

		// An update of another field re-seals the same values.
		desc := "changed"
		up, err := h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: ep.ID, Description: &desc, Now: h.now})
		must(t, err, "UpdateEndpoint")
		wantMap(t, up.Headers, hdr, "UpdateEndpoint's Headers")
		wantSealed(t, db, ep.ID, kr, hdr)

		// New values are sealed; a mask keeps the stored value.
		next := credentials("b")
		sent := map[string]string{"Authorization": next["Authorization"], "X-Api-Key": hook.HeaderValueMask}
		up, err = h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: ep.ID, Headers: &sent, Now: h.now})
		must(t, err, "UpdateEndpoint headers")
		want := map[string]string{"Authorization": next["Authorization"], "X-Api-Key": hdr["X-Api-Key"]}
		wantMap(t, up.Headers, want, "UpdateEndpoint's Headers with a mask")
		wantSealed(t, db, ep.ID, kr, want)
		if text, _ := b.RawHeaders(t, db, ep.ID); strings.Contains(text, hook.HeaderValueMask) {
			t.Fatalf("headers as stored hold the mask: %s", text)
		}

		// Claims hand the dispatcher the plaintext.
		h.insert(app.ID, ev{endpoints: []string{ep.ID}})
		c := h.claim("w", h.now, 10, 10)
		eq(t, len(c.Jobs), 1, "claimed jobs")
		wantMap(t, c.Endpoints[ep.ID].Headers, want, "ClaimDeliveries' endpoint Headers")

		n, err := seal(h)
		must(t, err, "SealPlaintextSecrets")
		eq(t, n, 0, "values sealed when all are sealed already")
	})

	t.Run("BoundToEndpointAndName", func(t *testing.T) {
		t.Parallel()
		kr := newKeyring(t, secrets.GenerateKey())
		db := b.NewDB(t)
		h := open(t, db, kr)
		app := h.app("")
		hdr := credentials("a")
		a := h.endpoint(app.ID, withHeaders(hdr))
		swapped := h.endpoint(app.ID, withHeaders(credentials("s")))
		copied := h.endpoint(app.ID, withHeaders(credentials("c")))
		closeStore(h)

		_, m, _ := raw(t, db, a.ID)
		swap := map[string]string{"Authorization": m["X-Api-Key"], "X-Api-Key": m["Authorization"]}
		text, _ := json.Marshal(swap)
		b.SetRawHeaders(t, db, a.ID, string(text)) // a's two values swapped
		_, m, _ = raw(t, db, swapped.ID)
		text, _ = json.Marshal(m)
		b.SetRawHeaders(t, db, copied.ID, string(text)) // another endpoint's headers copied

		h = open(t, db, kr)
		_, err := h.s.GetEndpoint(h.ctx, app.ID, a.ID)
		if !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), a.ID) || !strings.Contains(err.Error(), "header ") {
			t.Fatalf("GetEndpoint with swapped header values: got %v, want secrets.ErrAuth naming %s and the header", err, a.ID)
		}
		_, err = h.s.GetEndpoint(h.ctx, app.ID, copied.ID)
		if !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), copied.ID) {
			t.Fatalf("GetEndpoint with another endpoint's headers: got %v, want secrets.ErrAuth naming %s", err, copied.ID)
		}
		got, err := h.s.GetEndpoint(h.ctx, app.ID, swapped.ID)
		must(t, err, "GetEndpoint of the original")
		eq(t, strings.HasPrefix(got.Headers["Authorization"], "Bearer tok-s-"), true, "the original's Authorization")
		closeStore(h)

		// A row marked sealed holding a plaintext value is an error, not
		// a value to send.
		b.SetRawHeaders(t, db, a.ID, `{"Authorization":"Bearer planted"}`)
		h = open(t, db, kr)
		_, err = h.s.GetEndpoint(h.ctx, app.ID, a.ID)
		if !errors.Is(err, secrets.ErrMalformed) || !strings.Contains(err.Error(), a.ID) {
			t.Fatalf("GetEndpoint with a plaintext value in a sealed row: got %v, want secrets.ErrMalformed naming %s", err, a.ID)
		}
	})

	t.Run("WrongKey", func(t *testing.T) {
		t.Parallel()
		k1, k2 := secrets.GenerateKey(), secrets.GenerateKey()
		kr1 := newKeyring(t, k1)
		db := b.NewDB(t)
		h := open(t, db, kr1)
		app := h.app("")
		hdr := credentials("w")
		ep := h.endpoint(app.ID, withHeaders(hdr))
		closeStore(h)
		// The secret back in plaintext: only the headers are sealed with
		// k1, so that what refuses below is the headers' check.
		b.SetRaw(t, db, ep.ID, ep.Secret)

		h = open(t, db, newKeyring(t, k2))
		_, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		if !errors.Is(err, secrets.ErrWrongKey) || !strings.Contains(err.Error(), "sealed with key "+kr1.KeyID()) || !strings.Contains(err.Error(), ep.ID) {
			t.Fatalf("GetEndpoint with another key: got %v, want secrets.ErrWrongKey naming key %s and %s", err, kr1.KeyID(), ep.ID)
		}
		_, err = seal(h)
		if !errors.Is(err, secrets.ErrWrongKey) || !strings.Contains(err.Error(), "sealed with key "+kr1.KeyID()) {
			t.Fatalf("SealPlaintextSecrets with another key: got %v, want secrets.ErrWrongKey naming key %s", err, kr1.KeyID())
		}
		closeStore(h)
		rawSecret, _ := b.Raw(t, db, ep.ID)
		eq(t, rawSecret, ep.Secret, "the plaintext secret after a refused SealPlaintextSecrets")

		h = open(t, db, newKeyring(t, k2, k1))
		got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		must(t, err, "GetEndpoint with the old key in the keyring")
		wantMap(t, got.Headers, hdr, "Headers with the old key in the keyring")
	})

	for _, sealed := range []bool{true, false} {
		t.Run(fmt.Sprintf("MaskKeepsStoredValue/sealed=%v", sealed), func(t *testing.T) {
			t.Parallel()
			var kr *secrets.Keyring
			if sealed {
				kr = newKeyring(t, secrets.GenerateKey())
			}
			db := b.NewDB(t)
			h := open(t, db, kr)
			app := h.app("")
			hdr := credentials("m")
			ep := h.endpoint(app.ID, withHeaders(hdr))

			// Sent back as read, in another case: the stored values stay.
			back := map[string]string{"authorization": hook.HeaderValueMask, "X-Api-Key": hook.HeaderValueMask}
			up, err := h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: ep.ID, Headers: &back, Now: h.now})
			must(t, err, "UpdateEndpoint with masks")
			want := map[string]string{"authorization": hdr["Authorization"], "X-Api-Key": hdr["X-Api-Key"]}
			wantMap(t, up.Headers, want, "Headers after sending the masks back")
			got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
			must(t, err, "GetEndpoint")
			wantMap(t, got.Headers, want, "stored Headers after sending the masks back")

			// A mask for a header the endpoint lacks: refused, nothing
			// written.
			desc := "not written"
			bad := map[string]string{"X-Api-Key": "new", "X-New": hook.HeaderValueMask}
			_, err = h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: ep.ID,
				Description: &desc, Headers: &bad, Now: h.at(time.Minute)})
			wantErr(t, err, hook.EInvalid, "headers.X-New", "UpdateEndpoint with a mask for a new header")
			after, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
			must(t, err, "GetEndpoint after the refused update")
			deepEq(t, after, got, "endpoint after the refused update")
			if text, _ := b.RawHeaders(t, db, ep.ID); strings.Contains(text, hook.HeaderValueMask) {
				t.Fatalf("headers as stored hold the mask: %s", text)
			}
		})
	}

	t.Run("PlaintextRowsSealedAtStart", func(t *testing.T) {
		t.Parallel()
		db := b.NewDB(t)
		h := open(t, db, nil)
		app := h.app("")
		// Plaintext that looks sealed, or starts as sealed values do, is
		// still plaintext: the row says so.
		lookalike := map[string]string{
			"X-Sealed-Looking": "enc:v1:0123abcd:" + strings.Repeat("QUJD", 12),
			"X-Enc":            "enc:not-sealed",
		}
		n := store.SealBatchSize + 3 // more than one batch
		eps := make([]*hook.Endpoint, n)
		values := 0
		for i := range eps {
			hdr := map[string]string{"X-Index": fmt.Sprintf("value-%d-%s", i, hook.NewID("cred"))}
			if i == 0 {
				hdr = lookalike
			}
			values += len(hdr)
			eps[i] = h.endpoint(app.ID, withHeaders(hdr))
		}
		bare := h.endpoint(app.ID)
		text, m, sealed := raw(t, db, eps[0].ID)
		eq(t, sealed, false, "headers_sealed without a keyring")
		wantMap(t, m, lookalike, "headers as stored without a keyring ("+text+")")
		got, err := h.s.GetEndpoint(h.ctx, app.ID, eps[0].ID)
		must(t, err, "GetEndpoint of look-alike plaintext without a keyring")
		wantMap(t, got.Headers, lookalike, "look-alike plaintext without a keyring")
		closeStore(h)

		kr := newKeyring(t, secrets.GenerateKey())
		h = open(t, db, kr)
		// Before the pass, plaintext rows read as they are.
		got, err = h.s.GetEndpoint(h.ctx, app.ID, eps[0].ID)
		must(t, err, "GetEndpoint of a plaintext row")
		wantMap(t, got.Headers, lookalike, "Headers of a plaintext row")

		count, err := seal(h)
		must(t, err, "SealPlaintextSecrets")
		eq(t, count, len(eps)+1+values, "values sealed (every secret and header value)")
		for _, e := range eps {
			wantSealed(t, db, e.ID, kr, e.Headers)
			got, err := h.s.GetEndpoint(h.ctx, app.ID, e.ID)
			must(t, err, "GetEndpoint after sealing")
			wantMap(t, got.Headers, e.Headers, "Headers after sealing")
		}
		_, m, _ = raw(t, db, bare.ID)
		eq(t, len(m), 0, "headers of the endpoint without any, after the pass")
		count, err = seal(h)
		must(t, err, "second SealPlaintextSecrets")
		eq(t, count, 0, "values sealed by the second pass")
	})
}
