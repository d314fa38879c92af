package envelope

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/hookd/hookd/internal/hook"
)

// NewEventID returns a new event id in the format of the profile's
// provider, for events published without one: reflow "evt_" and 40
// lower-case hex digits; opentiendas a UUID v4 (lower-case, 8-4-4-4-12);
// any other profile hook.NewID("evt").
func NewEventID(profile string) string {
	switch profile {
	case hook.ProfileReflow:
		var r [20]byte
		rand.Read(r[:])
		return "evt_" + hex.EncodeToString(r[:])
	case hook.ProfileOpenTiendas:
		return newUUIDv4()
	}
	return hook.NewID("evt")
}

// newUUIDv4 returns a random (version 4, RFC 9562 variant) UUID.
func newUUIDv4() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}
