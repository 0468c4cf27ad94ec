package bot

import "github.com/VictoriaMetrics/metrics"

// Metrics. Labels name the bot and the outcome only: never a tenant, a
// phone number or text.
var (
	rulesAnswer        = metrics.NewCounter(`wasp_bot_replies_total{bot="rules",outcome="answer"}`)
	rulesFallback      = metrics.NewCounter(`wasp_bot_replies_total{bot="rules",outcome="fallback"}`)
	rulesIgnored       = metrics.NewCounter(`wasp_bot_replies_total{bot="rules",outcome="ignored"}`)
	rulesKeyword       = metrics.NewCounter(`wasp_bot_replies_total{bot="rules",outcome="handoff_keyword"}`)
	rulesIntentHandoff = metrics.NewCounter(`wasp_bot_replies_total{bot="rules",outcome="handoff_intent"}`)
	rulesLowConfidence = metrics.NewCounter(`wasp_bot_replies_total{bot="rules",outcome="handoff_low_confidence"}`)

	llmAnswer      = metrics.NewCounter(`wasp_bot_replies_total{bot="openai",outcome="answer"}`)
	llmIgnored     = metrics.NewCounter(`wasp_bot_replies_total{bot="openai",outcome="ignored"}`)
	llmKeyword     = metrics.NewCounter(`wasp_bot_replies_total{bot="openai",outcome="handoff_keyword"}`)
	llmFailed      = metrics.NewCounter(`wasp_bot_replies_total{bot="openai",outcome="handoff_llm_error"}`)
	llmUnavailable = metrics.NewCounter(`wasp_bot_replies_total{bot="openai",outcome="handoff_breaker_open"}`)
	llmBudget      = metrics.NewCounter(`wasp_bot_replies_total{bot="openai",outcome="handoff_budget"}`)

	// Each attempt's duration and outcome class (see errorKind).
	llmDuration     = metrics.NewPrometheusHistogramExt(`wasp_bot_llm_duration_seconds`, metrics.ExponentialBuckets(0.1, 2, 10))
	llmErrTimeout   = metrics.NewCounter(`wasp_bot_llm_errors_total{kind="timeout"}`)
	llmErrNetwork   = metrics.NewCounter(`wasp_bot_llm_errors_total{kind="network"}`)
	llmErrRetryable = metrics.NewCounter(`wasp_bot_llm_errors_total{kind="retryable_status"}`)
	llmErrRejected  = metrics.NewCounter(`wasp_bot_llm_errors_total{kind="rejected"}`)
	llmErrEmpty     = metrics.NewCounter(`wasp_bot_llm_errors_total{kind="empty_answer"}`)

	llmPromptTokens     = metrics.NewCounter(`wasp_bot_llm_tokens_total{kind="prompt"}`)
	llmCompletionTokens = metrics.NewCounter(`wasp_bot_llm_tokens_total{kind="completion"}`)
)
