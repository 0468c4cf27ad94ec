package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKafkaInstanceID: the id is made once per data directory and kept, so
// that a restarted process is the same group member; an empty file is an
// error that says what to do.
func TestKafkaInstanceID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not made yet
	id, err := kafkaInstanceID(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "wasp-") || len(id) < 16 {
		t.Fatalf("id %q", id)
	}
	again, err := kafkaInstanceID(dir)
	if err != nil || again != id {
		t.Fatalf("second call: %q, %v; want %q kept", again, err, id)
	}
	other, err := kafkaInstanceID(t.TempDir())
	if err != nil || other == id {
		t.Fatalf("another directory: %q, %v; want an id of its own", other, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".kafka-instance-id-*")); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if err := os.WriteFile(filepath.Join(dir, "kafka-instance-id"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := kafkaInstanceID(dir); err == nil || !strings.Contains(err.Error(), "remove it") || !strings.Contains(err.Error(), "WASP_DATA_DIR") {
		t.Fatalf("empty file: %v; want an error naming the fix", err)
	}
}
