// Package processor will hold the stateful stage that consumes wa.webhooks:
// deduplication, conversation state in Badger, the bot or human handoff,
// and the send commands it produces. See DESIGN.md and the issues.
package processor
