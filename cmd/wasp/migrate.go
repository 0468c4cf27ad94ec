package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"wasp/analytics"
	"wasp/internal/logs"
)

// runMigrate is `wasp migrate`: it applies the ClickHouse schema, each
// versioned migration once.
func runMigrate(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wasp migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file")
	if exit, done := parseFlags(fs, args, stdout); done {
		return exit
	}
	cfg, err := loadConfig(*configPath, getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if cfg.ClickHouse.Addr == "" {
		fmt.Fprintln(stderr, "cannot migrate: WASP_CLICKHOUSE_ADDR is empty (set it to ClickHouse's native host:port, e.g. 127.0.0.1:9000)")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := analytics.Connect(ctx, analytics.ClientConfig{Addr: cfg.ClickHouse.Addr})
	if err != nil {
		fmt.Fprintf(stderr, "%v (is ClickHouse's native port there? WASP_CLICKHOUSE_ADDR)\n", err)
		return 1
	}
	defer conn.Close()
	applied, err := analytics.Migrate(ctx, conn, cfg.ClickHouse.Database)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "database %s is up to date\n", cfg.ClickHouse.Database)
	}
	for _, name := range applied {
		fmt.Fprintf(stdout, "applied %s\n", name)
	}
	return 0
}

// migrateOnStart applies the schema if ClickHouse answers within a few
// seconds, and says whether it did.
func migrateOnStart(ctx context.Context, cfg *Config, logger *slog.Logger) bool {
	err := migrateNow(ctx, cfg, logger)
	if err != nil {
		logger.Warn("cannot apply the ClickHouse schema now; events wait in the log, and the loader applies it once ClickHouse answers", "err", err)
	}
	return err == nil
}

// migrateRetry is how often the loader tries again to apply the schema
// that could not be applied at start.
const migrateRetry = 5 * time.Second

// migrateWhenUp applies the schema, trying every migrateRetry until it
// is applied or ctx ends (false). The loader starts after it, so that no
// event lands in a table that a migration then rebuilds.
func migrateWhenUp(ctx context.Context, cfg *Config, logger *slog.Logger) bool {
	warned := logs.Throttle{Every: time.Minute}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(migrateRetry):
		}
		err := migrateNow(ctx, cfg, logger)
		if err == nil {
			return true
		}
		if ctx.Err() == nil && warned.Allow() {
			logger.Warn("cannot apply the ClickHouse schema yet; events wait in the log", "err", err)
		}
	}
}

// migrateNow applies the schema, waiting at most 10 s for ClickHouse.
func migrateNow(ctx context.Context, cfg *Config, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := analytics.Connect(ctx, analytics.ClientConfig{Addr: cfg.ClickHouse.Addr})
	if err != nil {
		return err
	}
	defer conn.Close()
	applied, err := analytics.Migrate(ctx, conn, cfg.ClickHouse.Database)
	if err == nil && len(applied) > 0 {
		logger.Info("applied the ClickHouse schema", "migrations", len(applied))
	}
	return err
}
