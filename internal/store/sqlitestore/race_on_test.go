//go:build race

package sqlitestore

// The race detector slows SQLite itself (it is Go code) about twentyfold:
// tests that fill large tables use smaller ones under it.
const raceEnabled = true
