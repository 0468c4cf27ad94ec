// Package analytics will hold the ClickHouse loader of wa.events, the
// embedded rollups, the dashboard API and page, and the alerts. See
// DESIGN.md.
package analytics
