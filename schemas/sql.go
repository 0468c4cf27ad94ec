package schemas

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// The ClickHouse schema: versioned migrations in sql/NNN_name.sql, applied
// in order by analytics.Migrate. Each file names its tables {db}.table
// (DatabasePlaceholder), ends every statement with a line ending in ";",
// and uses IF NOT EXISTS so that a migration cut short can run again. The
// DDL runs on ClickHouse 18.16 (Debian's package) and on current releases:
// MergeTree family, DateTime, no LowCardinality, TTL, Map, JSON or window
// functions.
//
//go:embed sql/*.sql
var sqlFiles embed.FS

// DatabasePlaceholder stands for the database in the migrations' SQL.
const DatabasePlaceholder = "{db}"

// Migration is one file of the ClickHouse schema.
type Migration struct {
	// Version is the file's number; Name its name without ".sql", such as
	// "001_events".
	Version int
	Name    string
	// SQL is the file's text, with DatabasePlaceholder for the database.
	SQL string
}

var migrations = func() []Migration {
	names, err := sqlFiles.ReadDir("sql")
	if err != nil {
		panic(err)
	}
	var ms []Migration
	for _, e := range names {
		name := strings.TrimSuffix(e.Name(), ".sql")
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			panic(fmt.Sprintf("schemas: migration %s has no NNN_ version prefix", e.Name()))
		}
		b, err := sqlFiles.ReadFile(path.Join("sql", e.Name()))
		if err != nil {
			panic(err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			panic(fmt.Sprintf("schemas: migrations %s and %s share a version", ms[i-1].Name, ms[i].Name))
		}
	}
	return ms
}()

// Migrations returns the ClickHouse schema's migrations in version order.
// The first, version 0, creates the schema_migrations table that records
// the others. The caller must not modify the result.
func Migrations() []Migration { return migrations }

// Statements returns m's statements for database db, without comment
// lines and without the final ";".
func (m Migration) Statements(db string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for line := range strings.Lines(strings.ReplaceAll(m.SQL, DatabasePlaceholder, db)) {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") {
			continue
		}
		if last, ok := strings.CutSuffix(t, ";"); ok {
			cur.WriteString(last)
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return out
}
