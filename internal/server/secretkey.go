package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/store"
)

// SecretKeyFileSuffix names the key file next to an SQLite database:
// hookd.db's is hookd.db.secret-key.
const SecretKeyFileSuffix = ".secret-key"

// secretKey is the key that seals endpoint secrets, and where it came from.
type secretKey struct {
	ring *secrets.Keyring
	// source is "HOOKD_SECRET_KEY" or the key file's path.
	source string
	// generated is the key file's path if this start created it.
	generated string
}

// SecretKeyFile returns the key file hookd uses when HOOKD_SECRET_KEY is
// not set: HOOKD_SECRET_KEY_FILE, or else, with SQLite, the database path
// + ".secret-key"; "" with PostgreSQL and no HOOKD_SECRET_KEY_FILE.
func SecretKeyFile(cfg *config.Config) string {
	switch {
	case cfg.SecretKeyFile != "":
		return cfg.SecretKeyFile
	case cfg.IsPostgres():
		return ""
	}
	return cfg.DB + SecretKeyFileSuffix
}

// loadSecretKey returns the key that seals endpoint secrets:
// HOOKD_SECRET_KEY if set, or else the key file's. With SQLite a missing
// key file is generated (mode 0600), with a warning; with PostgreSQL it
// is an error, since every node must have the same key.
func loadSecretKey(cfg *config.Config, log *slog.Logger) (*secretKey, error) {
	if cfg.SecretKey != "" {
		raw, err := secrets.ParseKey(cfg.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("HOOKD_SECRET_KEY: %w", err)
		}
		kr, err := secrets.NewKeyring(raw)
		if err != nil {
			return nil, err
		}
		return &secretKey{ring: kr, source: "HOOKD_SECRET_KEY"}, nil
	}
	path := SecretKeyFile(cfg)
	if path == "" {
		return nil, errors.New("HOOKD_SECRET_KEY: must be set with PostgreSQL, the same on every node " +
			"(e.g. `openssl rand -base64 32`), or HOOKD_SECRET_KEY_FILE must name a file that holds it")
	}
	k := &secretKey{source: path}
	raw, err := readKeyFile(path, log)
	if errors.Is(err, fs.ErrNotExist) {
		if cfg.IsPostgres() {
			return nil, fmt.Errorf("HOOKD_SECRET_KEY_FILE %s does not exist: with PostgreSQL hookd does not generate "+
				"a key, since every node needs the same one; create it (`openssl rand -base64 32 > %s`, mode 0600) "+
				"and give every node that file or HOOKD_SECRET_KEY", path, path)
		}
		var created bool
		if created, err = writeKeyFile(path, secrets.GenerateKey()); err != nil {
			return nil, fmt.Errorf("generating the secret key file %s: %w", path, err)
		}
		if created {
			k.generated = path
		}
		// Read back what is on disk: if another process created the
		// file first, its key is the one.
		raw, err = readKeyFile(path, log)
	}
	if err != nil {
		return nil, err
	}
	if k.ring, err = secrets.NewKeyring(raw); err != nil {
		return nil, err
	}
	if k.generated != "" {
		log.Warn("no HOOKD_SECRET_KEY was set, so hookd generated the key that seals endpoint secrets and wrote it to "+
			path+": back it up, apart from the database's backups; losing it makes every endpoint secret unreadable",
			"path", path, "key_id", k.ring.KeyID())
	}
	return k, nil
}

// readKeyFile reads a key file: the key in base64 and white space.
func readKeyFile(path string, log *slog.Logger) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		log.Warn("the secret key file can be read by other users than hookd's; `chmod 600` it",
			"path", path, "mode", info.Mode().Perm().String())
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	raw, err := secrets.ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return raw, nil
}

// writeKeyFile creates path, mode 0600, holding key, unless it exists
// (then created is false). The file appears whole or not at all: it is
// written and synced under a temporary name first.
func writeKeyFile(path string, key []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(secrets.EncodeKey(key) + "\n"); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	// A link, unlike a rename, never replaces a file another process
	// created meanwhile.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return true, nil
}

// sealSecrets runs the store's start-up pass: it checks that the key opens
// the endpoint secrets already sealed, and seals those in plaintext. A
// wrong key refuses the start; if this start generated the key file, the
// file is removed again, so that the next start does not take it for the
// right one.
func (k *secretKey) sealSecrets(ctx context.Context, st store.Store, log *slog.Logger) error {
	sealer, ok := st.(store.SecretSealer)
	if !ok {
		return fmt.Errorf("the %T store cannot seal endpoint secrets", st)
	}
	n, err := sealer.SealPlaintextSecrets(ctx)
	if err != nil {
		var wk *secrets.WrongKeyError
		if !errors.As(err, &wk) {
			return fmt.Errorf("endpoint secrets: %w", err)
		}
		if k.generated != "" {
			_ = os.Remove(k.generated)
			return fmt.Errorf("the secret key file %s did not exist, so hookd generated a new key, but the database "+
				"holds endpoint secrets sealed with key %s: put back the key file that holds key %s (or set "+
				"HOOKD_SECRET_KEY to that key); the new file was removed (%w)", k.generated, wk.KeyID, wk.KeyID, err)
		}
		return fmt.Errorf("the database holds endpoint secrets sealed with key %s, but the key from %s is key %s: "+
			"start hookd with the key that sealed them (%w)", wk.KeyID, k.source, wk.Current, err)
	}
	log.Info("endpoint secrets and custom header values are sealed at rest", "key_id", k.ring.KeyID(), "key_from", k.source)
	if n > 0 {
		log.Info("sealed endpoint secrets and custom header values that were stored in plaintext", "count", n)
	}
	return nil
}
