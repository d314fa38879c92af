package store

import "time"

// DashboardSession is a signed-in dashboard: the cookie holds a random
// token, the store only its SHA-256 (Hash). The session acts as the API
// key it was opened with, with that key's scope.
type DashboardSession struct {
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	// Key is the API key the session acts as, as stored now.
	Key *APIKey
}

// CreateDashboardSessionParams opens a session for an API key.
type CreateDashboardSessionParams struct {
	Hash      []byte
	KeyID     string
	ExpiresAt time.Time
	Now       time.Time
}

// GetDashboardSessionParams finds a session that is valid at Now.
type GetDashboardSessionParams struct {
	Hash []byte
	Now  time.Time
}
