package analytics

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"wasp/schemas"
)

func TestMigrationStatements(t *testing.T) {
	ms := schemas.Migrations()
	if len(ms) == 0 || ms[0].Version != 0 || !strings.Contains(ms[0].SQL, "schema_migrations") {
		t.Fatalf("the first migration must be version 0, creating schema_migrations")
	}
	for _, m := range ms {
		stmts := m.Statements("db1")
		if len(stmts) == 0 {
			t.Errorf("%s: no statements", m.Name)
		}
		// Each statement can run again after a cut: CREATE … IF NOT
		// EXISTS, DROP … IF EXISTS, or an INSERT into a table the same
		// migration dropped before.
		dropped := map[string]bool{}
		for _, s := range stmts {
			if strings.Contains(s, schemas.DatabasePlaceholder) || strings.HasSuffix(s, ";") || strings.Contains(s, "\n--") {
				t.Errorf("%s: statement not cleaned: %q", m.Name, s)
			}
			switch f := strings.Fields(s); {
			case strings.HasPrefix(s, "CREATE ") && strings.Contains(s, " IF NOT EXISTS db1."):
			case strings.HasPrefix(s, "DROP TABLE IF EXISTS db1.") && len(f) == 5:
				dropped[f[4]] = true
			case strings.HasPrefix(s, "INSERT INTO ") && len(f) > 2 && dropped[f[2]]:
			default:
				t.Errorf("%s: want CREATE … IF NOT EXISTS db1.…, DROP TABLE IF EXISTS db1.… or an INSERT into a table dropped before, got %.60q", m.Name, s)
			}
		}
	}
	f := func(sql string, want ...string) {
		t.Helper()
		if got := (schemas.Migration{SQL: sql}).Statements("d"); !slices.Equal(got, want) {
			t.Errorf("Statements(%q) = %q; want %q", sql, got, want)
		}
	}
	f("-- c\nCREATE TABLE {db}.a\n(\n  x UInt8\n);\n\n-- d\nCREATE VIEW {db}.b AS SELECT 1;\n",
		"CREATE TABLE d.a\n(\n  x UInt8\n)", "CREATE VIEW d.b AS SELECT 1")
	f("SELECT 1", "SELECT 1")
	f("-- only a comment\n")
}

func TestMigrateIdempotent(t *testing.T) {
	db := newTestDB(t) // migrated once
	ctx := context.Background()
	applied, err := Migrate(ctx, db.conn, db.name)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate: applied %v, err %v; want nothing", applied, err)
	}
	n := db.uint64s(t, "SELECT count(), uniqExact(version) FROM {db}.schema_migrations")
	if want := uint64(len(schemas.Migrations())); n[0] != want || n[1] != want {
		t.Errorf("schema_migrations: %d rows, %d versions; want %d", n[0], n[1], want)
	}
	for _, table := range []string{"events", "message_lifecycle", "conversations", "webhook_deliveries",
		"alerts", "rollup_minute", "rollup_hour", "rollup_day"} {
		if n := db.uint64s(t, "SELECT count() FROM system.tables WHERE database = ? AND name = ?", db.name, table); n[0] != 1 {
			t.Errorf("table %s missing", table)
		}
	}

	// A database that lost its record of the last migration gets it again;
	// the statements are idempotent.
	last := schemas.Migrations()[len(schemas.Migrations())-1]
	if err := db.conn.Exec(ctx, "ALTER TABLE "+db.name+".schema_migrations DELETE WHERE version = ?", uint32(last.Version)); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, 10*time.Second, "the mutation", func() bool {
		return db.uint64s(t, "SELECT count() FROM {db}.schema_migrations WHERE version = ?", uint32(last.Version))[0] == 0
	})
	if applied, err := Migrate(ctx, db.conn, db.name); err != nil || !slices.Equal(applied, []string{last.Name}) {
		t.Fatalf("Migrate after losing %s: applied %v, err %v", last.Name, applied, err)
	}

	if _, err := Migrate(ctx, db.conn, "bad-name"); err == nil {
		t.Error("Migrate accepted database name bad-name")
	}
}
