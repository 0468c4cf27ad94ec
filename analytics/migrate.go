package analytics

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"wasp/schemas"
)

// ClientConfig says how to reach ClickHouse over its native protocol.
type ClientConfig struct {
	// Addr is host:port of the native protocol (9000 by default).
	Addr string
	// Username and Password; empty means the default user without one.
	Username, Password string
}

// Connect opens a client to ClickHouse and checks that the server
// answers. The client reconnects by itself after failures; close it with
// Close. It names no database: every statement of wasp qualifies its
// tables.
func Connect(ctx context.Context, cfg ClientConfig) (driver.Conn, error) {
	conn, err := openClient(cfg)
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("cannot reach ClickHouse at %s: %w", cfg.Addr, err)
	}
	return conn, nil
}

// open creates the client without dialling.
func openClient(cfg ClientConfig) (driver.Conn, error) {
	if cfg.Addr == "" {
		return nil, errors.New("cannot open ClickHouse: no address")
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         []string{cfg.Addr},
		Auth:         clickhouse.Auth{Username: cfg.Username, Password: cfg.Password},
		DialTimeout:  5 * time.Second,
		ReadTimeout:  time.Minute,
		MaxOpenConns: 4,
		MaxIdleConns: 2,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot open ClickHouse at %s: %w", cfg.Addr, err)
	}
	return conn, nil
}

// Migrate brings database (created if missing) to the schema of
// schemas.Migrations: it applies, in order, the migrations that its
// schema_migrations table does not record, and records each after its
// statements succeeded. It returns the names of the migrations applied;
// run again, it applies nothing. Every statement is idempotent (IF NOT
// EXISTS), so a migration cut short is simply applied again.
func Migrate(ctx context.Context, conn driver.Conn, database string) (applied []string, err error) {
	if err := checkDatabase(database); err != nil {
		return nil, err
	}
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+database); err != nil {
		return nil, fmt.Errorf("cannot create database %s: %w", database, err)
	}
	ms := schemas.Migrations()
	// Version 0 creates the table that records versions: run it first,
	// always (it is idempotent).
	if err := execAll(ctx, conn, database, ms[0]); err != nil {
		return nil, err
	}
	done, err := appliedVersions(ctx, conn, database)
	if err != nil {
		return nil, fmt.Errorf("cannot read the migrations of %s: %w", database, err)
	}
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		if err := execAll(ctx, conn, database, m); err != nil {
			return applied, err
		}
		if err := record(ctx, conn, database, m); err != nil {
			return applied, fmt.Errorf("cannot record migration %s in %s: %w", m.Name, database, err)
		}
		applied = append(applied, m.Name)
	}
	return applied, nil
}

func appliedVersions(ctx context.Context, conn driver.Conn, database string) (map[int]bool, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM "+database+".schema_migrations")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		done[int(v)] = true
	}
	return done, rows.Err()
}

// record inserts m's row into schema_migrations, as a batch: 18.16 does
// not answer an INSERT … VALUES sent with Exec.
func record(ctx context.Context, conn driver.Conn, database string, m schemas.Migration) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+database+".schema_migrations (version, name, applied_at)")
	if err != nil {
		return err
	}
	defer b.Abort()
	if err := b.Append(uint32(m.Version), m.Name, time.Now()); err != nil {
		return err
	}
	return b.Send()
}

func execAll(ctx context.Context, conn driver.Conn, database string, m schemas.Migration) error {
	for i, stmt := range m.Statements(database) {
		if err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("cannot apply migration %s (statement %d) to %s: %w", m.Name, i+1, database, err)
		}
	}
	return nil
}

// checkDatabase accepts the names that need no quoting: letters, digits
// and underscores, not starting with a digit.
func checkDatabase(name string) error {
	ok := name != "" && len(name) <= 64 && !(name[0] >= '0' && name[0] <= '9')
	for _, c := range []byte(name) {
		ok = ok && (c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
	}
	if !ok {
		return fmt.Errorf("cannot use ClickHouse database %q: use letters, digits and underscores", name)
	}
	return nil
}
