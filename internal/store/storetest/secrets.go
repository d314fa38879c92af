package storetest

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/store"
)

// SecretsBackend is what RunSecrets needs of a backend: databases it can
// reopen with another keyring, and their secret columns as stored.
type SecretsBackend struct {
	// NewDB returns a new, empty database (a file path or a DSN) that
	// lives until the test ends.
	NewDB func(t *testing.T) string
	// Open opens db sealing with kr (nil: no encryption) and returns
	// Open's error as it is. RunSecrets closes the stores it opens.
	Open func(t *testing.T, db string, kr *secrets.Keyring) (store.Store, error)
	// Raw reads an endpoint's secret and prev_secret columns as stored.
	Raw func(t *testing.T, db, endpointID string) (secret, prev string)
	// SetRaw writes an endpoint's secret column as given, while no store
	// is open on db.
	SetRaw func(t *testing.T, db, endpointID, secret string)
	// RawHeaders reads an endpoint's headers column as stored (its JSON
	// text) and its headers_sealed column.
	RawHeaders func(t *testing.T, db, endpointID string) (headers string, sealed bool)
	// SetRawHeaders writes an endpoint's headers column (JSON text) as
	// given, leaving headers_sealed as it is, while no store is open on db.
	SetRawHeaders func(t *testing.T, db, endpointID, headers string)
}

// RunSecrets checks that a backend seals endpoint secrets at rest: the
// database holds "enc:v1:..." values and never the secrets, while every
// read returns them in plaintext; another key fails clearly; and the
// start-up pass (store.SecretSealer) seals rows written before encryption.
// It runs RunSealedHeaders too.
func RunSecrets(t *testing.T, b SecretsBackend) {
	t.Run("Headers", func(t *testing.T) { RunSealedHeaders(t, b) })
	open := func(t *testing.T, db string, kr *secrets.Keyring) *h {
		t.Helper()
		s, err := b.Open(t, db, kr)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if _, ok := s.(store.SecretSealer); !ok {
			t.Fatalf("%T is not a store.SecretSealer", s)
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
	// wantSealed checks a raw column: sealed with kr's key, and holding
	// none of the plaintexts.
	wantSealed := func(t *testing.T, raw string, kr *secrets.Keyring, what string, plain ...string) {
		t.Helper()
		if !strings.HasPrefix(raw, "enc:v1:"+kr.KeyID()+":") {
			t.Fatalf("%s as stored is %q: want it sealed, enc:v1:%s:...", what, raw, kr.KeyID())
		}
		for _, p := range plain {
			if strings.Contains(raw, p) || strings.Contains(raw, strings.TrimPrefix(p, hook.SecretPrefix)) {
				t.Fatalf("%s as stored (%q) holds the secret %q", what, raw, p)
			}
		}
	}
	wantSecrets := func(t *testing.T, e *hook.Endpoint, secret, prev, what string) {
		t.Helper()
		eq(t, e.Secret, secret, what+" Secret")
		eq(t, e.PreviousSecret, prev, what+" PreviousSecret")
	}
	newKeyring := func(t *testing.T, keys ...[]byte) *secrets.Keyring {
		t.Helper()
		kr, err := secrets.NewKeyring(keys[0], keys[1:]...)
		must(t, err, "NewKeyring")
		return kr
	}
	// wantWrongKey checks an error for a value sealed with key id.
	wantWrongKey := func(t *testing.T, err error, id, endpointID, what string) {
		t.Helper()
		if !errors.Is(err, secrets.ErrWrongKey) {
			t.Fatalf("%s: got %v, want secrets.ErrWrongKey", what, err)
		}
		for _, s := range []string{"sealed with key " + id, "HOOKD_SECRET_KEY", endpointID} {
			if !strings.Contains(err.Error(), s) {
				t.Fatalf("%s: error %q does not say %q", what, err, s)
			}
		}
	}

	t.Run("SealedAtRest", func(t *testing.T) {
		t.Parallel()
		kr := newKeyring(t, secrets.GenerateKey())
		db := b.NewDB(t)
		h := open(t, db, kr)
		app := h.app("")
		ep := h.endpoint(app.ID)
		s1 := ep.Secret
		if !strings.HasPrefix(s1, hook.SecretPrefix) {
			t.Fatalf("CreateEndpoint returned Secret %q, not the plaintext", s1)
		}
		raw1, rawPrev := b.Raw(t, db, ep.ID)
		wantSealed(t, raw1, kr, "secret after CreateEndpoint", s1)
		eq(t, rawPrev, "", "prev_secret after CreateEndpoint")

		got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		must(t, err, "GetEndpoint")
		wantSecrets(t, got, s1, "", "GetEndpoint")
		page, err := h.s.ListEndpoints(h.ctx, &store.ListEndpointsParams{AppID: app.ID})
		must(t, err, "ListEndpoints")
		eq(t, len(page.Data), 1, "ListEndpoints")
		wantSecrets(t, page.Data[0], s1, "", "ListEndpoints")
		enabled, err := h.s.ListEnabledEndpoints(h.ctx, app.ID)
		must(t, err, "ListEnabledEndpoints")
		eq(t, len(enabled), 1, "ListEnabledEndpoints")
		wantSecrets(t, enabled[0], s1, "", "ListEnabledEndpoints")

		// An update leaves the sealed secret as it is.
		desc := "changed"
		up, err := h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: ep.ID, Description: &desc, Now: h.now})
		must(t, err, "UpdateEndpoint")
		wantSecrets(t, up, s1, "", "UpdateEndpoint")
		raw, _ := b.Raw(t, db, ep.ID)
		eq(t, raw, raw1, "secret as stored after UpdateEndpoint")

		s2 := hook.NewSecret()
		rot, err := h.s.RotateEndpointSecret(h.ctx, &store.RotateEndpointSecretParams{
			AppID: app.ID, EndpointID: ep.ID, Secret: s2, PreviousExpiresAt: h.at(time.Hour), Now: h.now})
		must(t, err, "RotateEndpointSecret")
		wantSecrets(t, rot, s2, s1, "RotateEndpointSecret")
		raw2, rawPrev := b.Raw(t, db, ep.ID)
		wantSealed(t, raw2, kr, "secret after RotateEndpointSecret", s1, s2)
		wantSealed(t, rawPrev, kr, "prev_secret after RotateEndpointSecret", s1, s2)
		if rawPrev == raw1 {
			t.Fatal("RotateEndpointSecret kept the old sealed value in prev_secret: want it sealed afresh")
		}

		got, err = h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		must(t, err, "GetEndpoint after rotation")
		wantSecrets(t, got, s2, s1, "GetEndpoint after rotation")
		enabled, err = h.s.ListEnabledEndpoints(h.ctx, app.ID)
		must(t, err, "ListEnabledEndpoints after rotation")
		wantSecrets(t, enabled[0], s2, s1, "ListEnabledEndpoints after rotation")

		h.insert(app.ID, ev{endpoints: []string{ep.ID}})
		c := h.claim("w", h.now, 10, 10)
		eq(t, len(c.Jobs), 1, "claimed jobs")
		wantSecrets(t, c.Endpoints[ep.ID], s2, s1, "ClaimDeliveries' endpoint")

		n, err := seal(h)
		must(t, err, "SealPlaintextSecrets")
		eq(t, n, 0, "values sealed when all are sealed already")
	})

	t.Run("WrongKey", func(t *testing.T) {
		t.Parallel()
		k1, k2 := secrets.GenerateKey(), secrets.GenerateKey()
		kr1, kr2 := newKeyring(t, k1), newKeyring(t, k2)
		db := b.NewDB(t)

		// A plaintext row from before encryption, then sealed ones.
		h := open(t, db, nil)
		app := h.app("")
		plain := h.endpoint(app.ID)
		closeStore(h)
		h = open(t, db, kr1)
		ep := h.endpoint(app.ID)
		_, err := h.s.RotateEndpointSecret(h.ctx, &store.RotateEndpointSecretParams{
			AppID: app.ID, EndpointID: ep.ID, Secret: hook.NewSecret(), PreviousExpiresAt: h.at(time.Hour), Now: h.now})
		must(t, err, "RotateEndpointSecret")
		rotated, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		must(t, err, "GetEndpoint")
		dlv := h.insert(app.ID, ev{endpoints: []string{ep.ID}}).Deliveries[0].ID
		closeStore(h)

		h = open(t, db, kr2)
		_, err = h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		wantWrongKey(t, err, kr1.KeyID(), ep.ID, "GetEndpoint with another key")
		_, err = h.s.ListEndpoints(h.ctx, &store.ListEndpointsParams{AppID: app.ID})
		wantWrongKey(t, err, kr1.KeyID(), ep.ID, "ListEndpoints with another key")
		_, err = h.s.ListEnabledEndpoints(h.ctx, app.ID)
		wantWrongKey(t, err, kr1.KeyID(), ep.ID, "ListEnabledEndpoints with another key")
		_, err = h.s.ClaimDeliveries(h.ctx, &store.ClaimDeliveriesParams{Owner: "w", Now: h.now,
			LeaseUntil: h.at(time.Minute), Limit: 10, PerEndpoint: 10})
		wantWrongKey(t, err, kr1.KeyID(), ep.ID, "ClaimDeliveries with another key")
		_, err = h.s.RotateEndpointSecret(h.ctx, &store.RotateEndpointSecretParams{
			AppID: app.ID, EndpointID: ep.ID, Secret: hook.NewSecret(), PreviousExpiresAt: h.at(time.Hour), Now: h.now})
		wantWrongKey(t, err, kr1.KeyID(), ep.ID, "RotateEndpointSecret with another key")
		// The plaintext row still reads.
		got, err := h.s.GetEndpoint(h.ctx, app.ID, plain.ID)
		must(t, err, "GetEndpoint of a plaintext row")
		wantSecrets(t, got, plain.Secret, "", "GetEndpoint of a plaintext row")
		// The start-up pass refuses, and writes nothing.
		_, err = seal(h)
		wantWrongKey(t, err, kr1.KeyID(), ep.ID, "SealPlaintextSecrets with another key")
		closeStore(h)
		raw, _ := b.Raw(t, db, plain.ID)
		eq(t, raw, plain.Secret, "plaintext row after a refused SealPlaintextSecrets")

		// No keyring: a sealed value is an error, not a secret.
		h = open(t, db, nil)
		_, err = h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		if !errors.Is(err, secrets.ErrNoKey) || !strings.Contains(err.Error(), kr1.KeyID()) {
			t.Fatalf("GetEndpoint without a keyring: got %v, want secrets.ErrNoKey naming %s", err, kr1.KeyID())
		}
		closeStore(h)

		// The old key among the keyring's: everything opens, the failed
		// claim leased nothing, and the plaintext row is sealed with the
		// current key.
		h = open(t, db, newKeyring(t, k2, k1))
		got, err = h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		must(t, err, "GetEndpoint with the old key in the keyring")
		wantSecrets(t, got, rotated.Secret, rotated.PreviousSecret, "GetEndpoint with the old key in the keyring")
		c := h.claim("w", h.now, 10, 10)
		deepEq(t, jobIDs(c), []string{dlv}, "claim after the failed one")
		wantSecrets(t, c.Endpoints[ep.ID], rotated.Secret, rotated.PreviousSecret, "ClaimDeliveries' endpoint")
		n, err := seal(h)
		must(t, err, "SealPlaintextSecrets with the old key in the keyring")
		eq(t, n, 1, "values sealed")
		raw, _ = b.Raw(t, db, plain.ID)
		wantSealed(t, raw, kr2, "the plaintext row's secret", plain.Secret)
	})

	t.Run("PlaintextRowsSealedAtStart", func(t *testing.T) {
		t.Parallel()
		db := b.NewDB(t)
		h := open(t, db, nil)
		app := h.app("")
		n := 2*store.SealBatchSize + 7 // more than one batch
		eps := make([]*hook.Endpoint, n)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs []error
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < n; i += 8 {
					e, err := h.s.CreateEndpoint(h.ctx, &store.CreateEndpointParams{
						ID: hook.NewID("ep"), AppID: app.ID, URL: "https://example.com/hook",
						Secret: hook.NewSecret(), Now: h.now})
					mu.Lock()
					eps[i] = e
					if err != nil {
						errs = append(errs, err)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		must(t, errors.Join(errs...), "CreateEndpoint")
		// Three of them rotated: a plaintext previous secret too.
		for _, i := range []int{0, n / 2, n - 1} {
			r, err := h.s.RotateEndpointSecret(h.ctx, &store.RotateEndpointSecretParams{AppID: app.ID, EndpointID: eps[i].ID,
				Secret: hook.NewSecret(), PreviousExpiresAt: h.at(time.Hour), Now: h.now})
			must(t, err, "RotateEndpointSecret")
			eps[i] = r
		}
		raw, prev := b.Raw(t, db, eps[0].ID)
		eq(t, raw, eps[0].Secret, "secret as stored without a keyring")
		eq(t, prev, eps[0].PreviousSecret, "prev_secret as stored without a keyring")
		closeStore(h)

		kr := newKeyring(t, secrets.GenerateKey())
		h = open(t, db, kr)
		// Before the pass, plaintext rows read as they are.
		got, err := h.s.GetEndpoint(h.ctx, app.ID, eps[0].ID)
		must(t, err, "GetEndpoint of a plaintext row")
		wantSecrets(t, got, eps[0].Secret, eps[0].PreviousSecret, "GetEndpoint of a plaintext row")
		sealedBefore := h.endpoint(app.ID)

		sealed, err := seal(h)
		must(t, err, "SealPlaintextSecrets")
		eq(t, sealed, n+3, "values sealed")
		for _, e := range append(eps, sealedBefore) {
			raw, prev := b.Raw(t, db, e.ID)
			wantSealed(t, raw, kr, "secret of "+e.ID, e.Secret)
			if e.PreviousSecret != "" {
				wantSealed(t, prev, kr, "prev_secret of "+e.ID, e.PreviousSecret)
			} else {
				eq(t, prev, "", "prev_secret of "+e.ID)
			}
			got, err := h.s.GetEndpoint(h.ctx, app.ID, e.ID)
			must(t, err, "GetEndpoint after sealing")
			wantSecrets(t, got, e.Secret, e.PreviousSecret, "GetEndpoint after sealing")
		}
		sealed, err = seal(h)
		must(t, err, "second SealPlaintextSecrets")
		eq(t, sealed, 0, "values sealed by the second pass")
		enabled, err := h.s.ListEnabledEndpoints(h.ctx, app.ID)
		must(t, err, "ListEnabledEndpoints")
		eq(t, len(enabled), n+1, "ListEnabledEndpoints")
		for _, e := range enabled {
			if !strings.HasPrefix(e.Secret, hook.SecretPrefix) {
				t.Fatalf("ListEnabledEndpoints: %s has Secret %q", e.ID, e.Secret)
			}
		}
	})

	t.Run("BoundToItsEndpoint", func(t *testing.T) {
		t.Parallel()
		kr := newKeyring(t, secrets.GenerateKey())
		db := b.NewDB(t)
		h := open(t, db, kr)
		app := h.app("")
		a, other := h.endpoint(app.ID), h.endpoint(app.ID)
		closeStore(h)
		rawA, _ := b.Raw(t, db, a.ID)
		b.SetRaw(t, db, other.ID, rawA) // a's sealed secret copied onto the other endpoint

		h = open(t, db, kr)
		got, err := h.s.GetEndpoint(h.ctx, app.ID, a.ID)
		must(t, err, "GetEndpoint of the original")
		wantSecrets(t, got, a.Secret, "", "GetEndpoint of the original")
		_, err = h.s.GetEndpoint(h.ctx, app.ID, other.ID)
		if !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), other.ID) {
			t.Fatalf("GetEndpoint of the copy: got %v, want secrets.ErrAuth naming %s", err, other.ID)
		}
	})

	t.Run("NoKeyringStoresPlaintext", func(t *testing.T) {
		t.Parallel()
		db := b.NewDB(t)
		h := open(t, db, nil)
		app := h.app("")
		e := h.endpoint(app.ID)
		raw, _ := b.Raw(t, db, e.ID)
		eq(t, raw, e.Secret, "secret as stored without a keyring")
		n, err := seal(h)
		must(t, err, "SealPlaintextSecrets without a keyring")
		eq(t, n, 0, "values sealed without a keyring")
	})
}
