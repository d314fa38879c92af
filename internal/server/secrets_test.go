package server_test

// Endpoint secrets at rest, end to end: hookd generates its secret key on
// first start, keeps it beside the SQLite file, reuses it on the next
// start (deliveries still verify with the secret given out before), and
// refuses to start with another key or without the file.

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/server"
	"github.com/hookd/hookd/webhook"
)

// runHookd runs hookd with cfg until stop is called (or the test ends).
func runHookd(t *testing.T, cfg config.Config) (h *hookd, logs *syncBuffer, stop func()) {
	t.Helper()
	logs = &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{Config: cfg, Logger: log, Version: "test", Out: io.Discard, Ready: ready})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server.Run: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("hookd did not start\n%s", logs)
	}
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server.Run returned %v\n%s", err, logs)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("hookd did not stop\n%s", logs)
		}
	}
	t.Cleanup(stop)
	return &hookd{base: "http://" + addr, client: &http.Client{Timeout: 30 * time.Second}}, logs, stop
}

// runHookdErr runs hookd with cfg, which must fail to start, and returns
// its error.
func runHookdErr(t *testing.T, cfg config.Config) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), Version: "test",
			Out: io.Discard, Ready: ready})
	}()
	select {
	case <-ready:
		cancel()
		<-done
		t.Fatal("hookd started; want it to refuse")
	case err := <-done:
		if err == nil {
			t.Fatal("server.Run returned nil; want an error")
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("hookd neither started nor failed")
	}
	return nil
}

// verifyingReceiver accepts deliveries whose signature verifies with the
// secret it is given, and sends each verified event id on got.
type verifyingReceiver struct {
	srv *httptest.Server
	got chan string
	mu  sync.Mutex
	v   *webhook.Verifier
}

func newVerifyingReceiver(t *testing.T) *verifyingReceiver {
	t.Helper()
	r := &verifyingReceiver{got: make(chan string, 16)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		v := r.v
		r.mu.Unlock()
		if v == nil {
			http.Error(w, "no secret yet", http.StatusServiceUnavailable)
			return
		}
		if err := v.Verify(req.Header, body); err != nil {
			t.Errorf("delivery %s does not verify: %v", req.Header.Get("webhook-id"), err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		r.got <- req.Header.Get("webhook-id")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *verifyingReceiver) setSecret(t *testing.T, secret string) {
	t.Helper()
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.v = v
	r.mu.Unlock()
}

func (r *verifyingReceiver) wait(t *testing.T, eventID string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case id := <-r.got:
			if id == eventID {
				return
			}
		case <-deadline:
			t.Fatalf("no verified delivery of %s", eventID)
		}
	}
}

// rawSecret reads an endpoint's secret column from the SQLite file.
func rawSecret(t *testing.T, dbPath, endpointID string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow(`SELECT secret FROM endpoints WHERE id = ?`, endpointID).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSecretKeyFileReusedAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	keyFile := cfg.DB + ".secret-key"
	if got := server.SecretKeyFile(&cfg); got != keyFile {
		t.Fatalf("SecretKeyFile: %q, want %q", got, keyFile)
	}

	// First start: the key is generated, with a warning saying where.
	h, logs, stop := runHookd(t, cfg)
	keyText, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("no key file after the first start: %v\n%s", err, logs)
	}
	key, err := secrets.ParseKey(string(keyText))
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	keyID := secrets.KeyID(key)
	if info, err := os.Stat(keyFile); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, keyFile) ||
		!strings.Contains(l, "losing it makes every endpoint secret unreadable") {
		t.Fatalf("no warning naming the generated key file:\n%s", l)
	}
	if entries, _ := filepath.Glob(keyFile + ".tmp-*"); len(entries) > 0 {
		t.Fatalf("temporary key files left: %v", entries)
	}

	var app struct{ ID string }
	h.must(t, "POST", "/v1/apps", map[string]any{"name": "Secrets", "uid": "secrets"}, http.StatusCreated, &app)
	var ep struct{ ID string }
	var secret struct{ Secret string }
	recv := newVerifyingReceiver(t)
	h.must(t, "POST", "/v1/apps/secrets/endpoints", map[string]any{"url": recv.srv.URL + "/in"}, http.StatusCreated, &ep)
	h.must(t, "GET", "/v1/apps/secrets/endpoints/"+ep.ID+"/secret", nil, http.StatusOK, &secret)
	recv.setSecret(t, secret.Secret)
	h.must(t, "POST", "/v1/apps/secrets/events", map[string]any{"id": "evt_before_restart", "type": "order.created",
		"data": map[string]any{"n": 1}}, http.StatusAccepted, nil)
	recv.wait(t, "evt_before_restart")
	stop()

	raw := rawSecret(t, cfg.DB, ep.ID)
	if !strings.HasPrefix(raw, "enc:v1:"+keyID+":") || strings.Contains(raw, strings.TrimPrefix(secret.Secret, "whsec_")) {
		t.Fatalf("the database holds %q: want the secret sealed with key %s", raw, keyID)
	}

	// Second start: the same key file, and the old secret still signs.
	h, logs, stop = runHookd(t, cfg)
	again, err := os.ReadFile(keyFile)
	if err != nil || string(again) != string(keyText) {
		t.Fatalf("the key file changed across a restart (%v)", err)
	}
	if strings.Contains(logs.String(), "generated the key") {
		t.Fatalf("the second start generated a key:\n%s", logs)
	}
	var secret2 struct{ Secret string }
	h.must(t, "GET", "/v1/apps/secrets/endpoints/"+ep.ID+"/secret", nil, http.StatusOK, &secret2)
	if secret2.Secret != secret.Secret {
		t.Fatalf("secret after restart %q, want %q", secret2.Secret, secret.Secret)
	}
	h.must(t, "POST", "/v1/apps/secrets/events", map[string]any{"id": "evt_after_restart", "type": "order.created",
		"data": map[string]any{"n": 2}}, http.StatusAccepted, nil)
	recv.wait(t, "evt_after_restart")
	stop()

	// Another key: refused, naming the key that sealed the secrets.
	other := cfg
	other.SecretKey = secrets.EncodeKey(secrets.GenerateKey())
	err = runHookdErr(t, other)
	if !strings.Contains(err.Error(), "sealed with key "+keyID) || !strings.Contains(err.Error(), "HOOKD_SECRET_KEY") {
		t.Fatalf("start with another key: %v; want an error naming key %s", err, keyID)
	}

	// The same key given as HOOKD_SECRET_KEY works, with no key file.
	if err := os.Rename(keyFile, keyFile+".saved"); err != nil {
		t.Fatal(err)
	}
	same := cfg
	same.SecretKey = strings.TrimSpace(string(keyText))
	h, _, stop = runHookd(t, same)
	h.must(t, "POST", "/v1/apps/secrets/events", map[string]any{"id": "evt_env_key", "type": "order.created",
		"data": map[string]any{"n": 3}}, http.StatusAccepted, nil)
	recv.wait(t, "evt_env_key")
	stop()
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("a start with HOOKD_SECRET_KEY wrote a key file (%v)", err)
	}

	// The key file lost: hookd generates a new key, finds the secrets
	// sealed with the old one, refuses, and removes the new file.
	err = runHookdErr(t, cfg)
	if !strings.Contains(err.Error(), "sealed with key "+keyID) || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("start without the key file: %v; want an error naming key %s and %s", err, keyID, keyFile)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("the key file generated by a refused start is still there (%v)", err)
	}

	// Put back, it works again.
	if err := os.Rename(keyFile+".saved", keyFile); err != nil {
		t.Fatal(err)
	}
	_, _, stop = runHookd(t, cfg)
	stop()
}

func TestSecretKeySettings(t *testing.T) {
	base := config.Default()
	base.Addr = "127.0.0.1:0"
	base.APIKey = testAdminKey

	for _, bad := range []string{"short", secrets.EncodeKey(make([]byte, 16)), secrets.EncodeKey(make([]byte, 64)), "!!!!"} {
		cfg := base
		cfg.DB = filepath.Join(t.TempDir(), "hookd.db")
		cfg.SecretKey = bad
		err := runHookdErr(t, cfg)
		if !strings.Contains(err.Error(), "HOOKD_SECRET_KEY") || !strings.Contains(err.Error(), "32") {
			t.Fatalf("HOOKD_SECRET_KEY=%q: %v; want a clear refusal", bad, err)
		}
		if strings.Contains(err.Error(), bad) {
			t.Fatalf("the error repeats the key: %v", err)
		}
		if _, err := os.Stat(cfg.DB); !os.IsNotExist(err) {
			t.Fatalf("a refused start created the database (%v)", err)
		}
	}

	// A key file that is not a key.
	cfg := base
	cfg.DB = filepath.Join(t.TempDir(), "hookd.db")
	if err := os.WriteFile(cfg.DB+".secret-key", []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runHookdErr(t, cfg); !strings.Contains(err.Error(), cfg.DB+".secret-key") {
		t.Fatalf("bad key file: %v; want an error naming the file", err)
	}

	// HOOKD_SECRET_KEY_FILE elsewhere, generated there with SQLite.
	cfg = base
	dir := t.TempDir()
	cfg.DB = filepath.Join(dir, "hookd.db")
	cfg.SecretKeyFile = filepath.Join(dir, "keys", "hookd.key")
	if err := os.Mkdir(filepath.Dir(cfg.SecretKeyFile), 0o700); err != nil {
		t.Fatal(err)
	}
	_, _, stop := runHookd(t, cfg)
	stop()
	if _, err := os.Stat(cfg.SecretKeyFile); err != nil {
		t.Fatalf("HOOKD_SECRET_KEY_FILE was not generated: %v", err)
	}
	if _, err := os.Stat(cfg.DB + ".secret-key"); !os.IsNotExist(err) {
		t.Fatalf("a key file was written beside the database too (%v)", err)
	}

	// PostgreSQL: no key, no generated file. Refused before connecting.
	cfg = base
	cfg.DB = "postgres://hookd@127.0.0.1:1/hookd"
	err := runHookdErr(t, cfg)
	if !strings.Contains(err.Error(), "HOOKD_SECRET_KEY") || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Fatalf("PostgreSQL without a key: %v", err)
	}
	cfg.SecretKeyFile = filepath.Join(t.TempDir(), "missing.key")
	err = runHookdErr(t, cfg)
	if !strings.Contains(err.Error(), cfg.SecretKeyFile) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("PostgreSQL with a missing key file: %v", err)
	}
	if _, err := os.Stat(cfg.SecretKeyFile); !os.IsNotExist(err) {
		t.Fatalf("a key file was generated for PostgreSQL (%v)", err)
	}
}
