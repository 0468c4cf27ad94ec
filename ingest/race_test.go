//go:build race

package ingest

// The race detector allocates on its own; allocation counts are checked
// without it.
const raceEnabled = true
