package server_test

// HOOKD_PPROF_ADDR: net/http/pprof on a listener of its own when set, and
// never on the API's.

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/secrets"
)

func TestPprofListener(t *testing.T) {
	get := func(url string) (int, string, error) {
		c := &http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	base := config.Default()
	base.Addr = "127.0.0.1:0"
	base.APIKey = testAdminKey
	base.SecretKey = secrets.EncodeKey(secrets.GenerateKey())
	base.ShutdownTimeout = 5 * time.Second

	t.Run("set", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cfg := base
		cfg.DB = filepath.Join(t.TempDir(), "hookd.db")
		cfg.PprofAddr = addr
		h, _, _ := runHookd(t, cfg)
		code, body, err := get("http://" + addr + "/debug/pprof/")
		if err != nil || code != 200 || !strings.Contains(body, "goroutine") {
			t.Errorf("pprof index: %d %v %.200q", code, err, body)
		}
		if code, _, err := get("http://" + addr + "/v1/openapi.json"); err != nil || code != 404 {
			t.Errorf("API route on the pprof listener: %d %v, want 404", code, err)
		}
		if code, body, err := get(h.base + "/debug/pprof/"); err != nil || strings.Contains(body, "goroutine") || code == 200 {
			t.Errorf("pprof on the API listener: %d %v", code, err)
		}
	})
	t.Run("unset", func(t *testing.T) {
		cfg := base
		cfg.DB = filepath.Join(t.TempDir(), "hookd.db")
		h, _, _ := runHookd(t, cfg)
		if code, body, err := get(h.base + "/debug/pprof/"); err != nil || strings.Contains(body, "goroutine") || code == 200 {
			t.Errorf("pprof on the API listener: %d %v", code, err)
		}
	})
}
