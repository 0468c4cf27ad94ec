package schemas

// Default topic names; each is configurable.
const (
	// TopicWebhooks holds the raw, signature-checked webhook bodies, keyed
	// by phone_number_id (or by WABA id for account-level fields).
	TopicWebhooks = "wa.webhooks"
	// TopicOutbound holds send commands, keyed by phone_number_id.
	TopicOutbound = "wa.outbound"
	// TopicEvents holds analytics facts, keyed by phone_number_id.
	TopicEvents = "wa.events"
	// TopicDLQ holds what could not be handled, with the reason and the
	// original bytes.
	TopicDLQ = "wa.dlq"
)

// Record headers written by the ingester.
const (
	// HeaderReceivedAt is when the webhook arrived, Unix milliseconds.
	HeaderReceivedAt = "received-at"
	// HeaderAppID names the Meta app whose secret signed the webhook.
	HeaderAppID = "app-id"
	// HeaderReason says why a record is in the dead-letter topic.
	HeaderReason = "reason"
	// HeaderSource names the topic or stage a dead letter came from.
	HeaderSource = "source"
)
