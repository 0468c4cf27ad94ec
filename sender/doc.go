// Package sender will hold the stage that consumes wa.outbound and sends
// within Meta's limits, and the Graph API client. See DESIGN.md.
package sender
