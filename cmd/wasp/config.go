package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"wasp/analytics"
	"wasp/processor/bot"
)

// Config is the whole configuration: the YAML file (--config), then the
// environment variables of the operator contract, which win. Only this
// package reads files, flags and the environment; each stage gets its own
// Config built from this one.
type Config struct {
	DataDir     string `yaml:"data_dir"`
	Listen      string `yaml:"listen"`
	AdminListen string `yaml:"admin_listen"`
	APIToken    string `yaml:"api_token"`
	VerifyToken string `yaml:"verify_token"`
	LogLevel    string `yaml:"log_level"`

	// Apps are the Meta apps whose webhooks are accepted.
	Apps []AppConfig `yaml:"apps"`
	// Tenants are the businesses served; WASP_PHONE_NUMBER_ID and friends
	// describe the first one.
	Tenants []TenantConfig `yaml:"tenants"`

	Log        LogConfig        `yaml:"log"`
	Kafka      KafkaConfig      `yaml:"kafka"`
	Topics     TopicsConfig     `yaml:"topics"`
	Graph      GraphConfig      `yaml:"graph"`
	ClickHouse ClickHouseConfig `yaml:"clickhouse"`
	OpenAI     OpenAIConfig     `yaml:"openai"`
	Send       SendConfig       `yaml:"send"`
	Processor  ProcessorConfig  `yaml:"processor"`
	Alerts     AlertsConfig     `yaml:"alerts"`
}

// AlertsConfig configures the health alerts (analytics.AlertConfig).
type AlertsConfig struct {
	// NotifyURL receives Slack-compatible JSON for each alert
	// (WASP_ALERT_WEBHOOK_URL); empty notifies nobody.
	NotifyURL string        `yaml:"notify_url"`
	Interval  time.Duration `yaml:"interval"`
	Cooldown  time.Duration `yaml:"cooldown"`
	// Rules are the thresholds; a negative value turns a rule off.
	Rules analytics.AlertRules `yaml:"rules"`
}

// ProcessorConfig tunes the processor.
type ProcessorConfig struct {
	// DedupeTTL is how long seen wamids are remembered (Meta retries for 7
	// days); History is the messages a conversation keeps; Concurrency the
	// conversations processed at once.
	DedupeTTL   time.Duration `yaml:"dedupe_ttl"`
	History     int           `yaml:"history"`
	Concurrency int           `yaml:"concurrency"`
}

// AppConfig is one Meta app.
type AppConfig struct {
	ID     string `yaml:"id"`
	Secret string `yaml:"secret"`
}

// TenantConfig is one business and its numbers.
type TenantConfig struct {
	ID             string       `yaml:"id"`
	PhoneNumberIDs []string     `yaml:"phone_number_ids"`
	WABAID         string       `yaml:"waba_id"`
	AccessToken    string       `yaml:"access_token"`
	Business       bot.Business `yaml:"business"` // what the bot may tell customers
	// ThroughputMPS paces the tenant's numbers; zero means send.throughput_mps.
	ThroughputMPS float64 `yaml:"throughput_mps"`
	// MessagingLimit is the portfolio's tier: unique users per rolling 24
	// hours reached outside the service window (250, 2000, 10000, 100000;
	// 0 = unlimited).
	MessagingLimit int       `yaml:"messaging_limit"`
	Bot            BotConfig `yaml:"bot"`
}

// BotConfig is a tenant's bot.
type BotConfig struct {
	// Rules is a YAML file of intents merged over the built-in Spanish and
	// English ones (rules bot).
	Rules string `yaml:"rules"`
	// Model, Temperature, MaxTokens and DailyTokenBudget tune the
	// OpenAI-compatible bot, used when an API key is set.
	Model            string  `yaml:"model"`
	Temperature      float32 `yaml:"temperature"`
	MaxTokens        int     `yaml:"max_tokens"`
	DailyTokenBudget int     `yaml:"daily_token_budget"`
	// Acknowledgement answers media, locations and contacts.
	Acknowledgement string `yaml:"acknowledgement"`
	// Unreadable answers messages the Cloud API could not deliver.
	Unreadable string `yaml:"unreadable"`
	// Off disables automatic replies: every conversation waits for a human.
	Off bool `yaml:"off"`
}

// LogConfig shapes the topics of either log.
type LogConfig struct {
	Partitions     int32         `yaml:"partitions"`
	Retention      time.Duration `yaml:"retention"`
	RetentionBytes ByteSize      `yaml:"retention_bytes"`
	// MemTableSize of the embedded log; bigger uses more memory.
	MemTableSize ByteSize `yaml:"memtable_size"`
	// MinFreeBytes is the disk space the embedded log leaves free: below
	// it appends fail and the ingester answers 503. Zero means 64 MiB.
	MinFreeBytes ByteSize `yaml:"min_free_bytes"`
}

// KafkaConfig selects cluster mode.
type KafkaConfig struct {
	Brokers           []string `yaml:"brokers"`
	ReplicationFactor int16    `yaml:"replication_factor"`
	// SessionTimeout is how long a crashed process's partitions stay with
	// it before the other processes get them (restarted on its data
	// directory, it takes them back at once); zero means 45s.
	SessionTimeout time.Duration `yaml:"session_timeout"`
}

// TopicsConfig renames the topics.
type TopicsConfig struct {
	Webhooks string `yaml:"webhooks"`
	Outbound string `yaml:"outbound"`
	Events   string `yaml:"events"`
	DLQ      string `yaml:"dlq"`
}

// GraphConfig points at Meta's Graph API (or the simulator).
type GraphConfig struct {
	URL     string `yaml:"url"`
	Version string `yaml:"version"`
}

// ClickHouseConfig selects analytics into ClickHouse.
type ClickHouseConfig struct {
	Addr     string `yaml:"addr"`
	Database string `yaml:"database"`
}

// OpenAIConfig selects the OpenAI-compatible bot.
type OpenAIConfig struct {
	BaseURL string `yaml:"base_url"`
	APIKey  string `yaml:"api_key"`
	Model   string `yaml:"model"`
	// Timeout bounds one reply, retries included; zero means 20 s.
	Timeout time.Duration `yaml:"timeout"`
}

// SendConfig paces the sender.
type SendConfig struct {
	ThroughputMPS float64   `yaml:"throughput_mps"`
	PairLimit     PairLimit `yaml:"pair_limit"`
	// MaxAttempts of a retryable send; SettleDelay before a send whose
	// outcome is unknown is tried again; MaxInFlight requests per number.
	MaxAttempts int           `yaml:"max_attempts"`
	SettleDelay time.Duration `yaml:"settle_delay"`
	MaxInFlight int           `yaml:"max_in_flight"`
}

// PairLimit is the per-recipient limit: a burst, then one message per
// interval. Written "45/6s".
type PairLimit struct {
	Burst    int
	Interval time.Duration
}

func (p *PairLimit) UnmarshalYAML(n *yaml.Node) error {
	v, err := parsePairLimit(n.Value)
	if err != nil {
		return fmt.Errorf("send.pair_limit: %w", err)
	}
	*p = v
	return nil
}

func (p PairLimit) String() string { return fmt.Sprintf("%d/%s", p.Burst, p.Interval) }

func parsePairLimit(s string) (PairLimit, error) {
	b, iv, ok := strings.Cut(s, "/")
	burst, err1 := strconv.Atoi(strings.TrimSpace(b))
	d, err2 := time.ParseDuration(strings.TrimSpace(iv))
	if !ok || err1 != nil || err2 != nil || burst < 1 || d <= 0 {
		return PairLimit{}, fmt.Errorf("%q is not burst/interval (write it like 45/6s)", s)
	}
	return PairLimit{Burst: burst, Interval: d}, nil
}

// ByteSize is a size written as 4GiB, 512MiB, 64MB or a plain byte count.
type ByteSize int64

var byteSizeRE = regexp.MustCompile(`^\s*([0-9]+)\s*([KMGT]I?B?|B)?\s*$`)

func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

func parseByteSize(s string) (ByteSize, error) {
	m := byteSizeRE.FindStringSubmatch(strings.ToUpper(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a size (write it like 512MiB or 4GiB)", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: %w", s, err)
	}
	unit := strings.TrimSuffix(strings.TrimSuffix(m[2], "B"), "I")
	shift := map[string]uint{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[unit]
	return ByteSize(n << shift), nil
}

// Defaults of the operator contract.
const (
	defaultDataDir      = "./data"
	defaultListen       = ":8080"
	defaultAdminListen  = "127.0.0.1:9090"
	defaultGraphURL     = "https://graph.facebook.com"
	defaultGraphVersion = "v25.0"
	defaultCHDatabase   = "wasp"
)

// unknownField is how the YAML decoder names a key no setting has.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// yamlProblems are the decoder's complaints about a config file in the
// settings' terms rather than Go's.
func yamlProblems(te *yaml.TypeError) []string {
	out := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		out[i] = unknownField.ReplaceAllString(e, `unknown setting "$1" (every setting is in deploy/wasp.example.yaml)`)
	}
	return out
}

// loadConfig reads the YAML file at path (if any), then the environment.
func loadConfig(path string, getenv func(string) string) (*Config, error) {
	cfg := &Config{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("cannot read the config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				return nil, fmt.Errorf("cannot use the config file %s:\n  %s", path, strings.Join(yamlProblems(te), "\n  "))
			}
			return nil, fmt.Errorf("cannot parse the config file %s: %w", path, err)
		}
	}
	if err := cfg.applyEnv(getenv); err != nil {
		return nil, err
	}
	cfg.applyDefaults()
	return cfg, nil
}

// applyEnv lets each environment variable of the contract override its
// setting; the single-tenant ones describe the first tenant and app.
func (c *Config) applyEnv(getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("WASP_DATA_DIR", &c.DataDir)
	str("WASP_LISTEN", &c.Listen)
	str("WASP_ADMIN_LISTEN", &c.AdminListen)
	str("WASP_API_TOKEN", &c.APIToken)
	str("WASP_VERIFY_TOKEN", &c.VerifyToken)
	str("WASP_LOG_LEVEL", &c.LogLevel)
	str("WASP_GRAPH_URL", &c.Graph.URL)
	str("WASP_GRAPH_VERSION", &c.Graph.Version)
	str("WASP_CLICKHOUSE_ADDR", &c.ClickHouse.Addr)
	str("WASP_CLICKHOUSE_DATABASE", &c.ClickHouse.Database)
	str("WASP_OPENAI_BASE_URL", &c.OpenAI.BaseURL)
	str("WASP_OPENAI_API_KEY", &c.OpenAI.APIKey)
	str("WASP_OPENAI_MODEL", &c.OpenAI.Model)
	str("WASP_ALERT_WEBHOOK_URL", &c.Alerts.NotifyURL)
	if v := getenv("WASP_KAFKA_BROKERS"); v != "" {
		c.Kafka.Brokers = nil
		for _, b := range strings.Split(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				c.Kafka.Brokers = append(c.Kafka.Brokers, b)
			}
		}
	}
	if v := getenv("WASP_APP_SECRET"); v != "" {
		if len(c.Apps) == 0 {
			c.Apps = append(c.Apps, AppConfig{})
		}
		c.Apps[0].Secret = v
	}
	tenant := func() *TenantConfig {
		if len(c.Tenants) == 0 {
			c.Tenants = append(c.Tenants, TenantConfig{ID: "default"})
		}
		return &c.Tenants[0]
	}
	if v := getenv("WASP_PHONE_NUMBER_ID"); v != "" {
		t := tenant()
		if len(t.PhoneNumberIDs) == 0 {
			t.PhoneNumberIDs = []string{v}
		} else {
			t.PhoneNumberIDs[0] = v
		}
	}
	if v := getenv("WASP_WABA_ID"); v != "" {
		tenant().WABAID = v
	}
	if v := getenv("WASP_ACCESS_TOKEN"); v != "" {
		tenant().AccessToken = v
	}
	if v := getenv("WASP_BUSINESS_NAME"); v != "" {
		tenant().Business.Name = v
	}
	if v := getenv("WASP_THROUGHPUT_MPS"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			return fmt.Errorf("cannot start: WASP_THROUGHPUT_MPS=%q is not a positive number of messages per second (e.g. 80)", v)
		}
		c.Send.ThroughputMPS = f
	}
	if v := getenv("WASP_PAIR_LIMIT"); v != "" {
		p, err := parsePairLimit(v)
		if err != nil {
			return fmt.Errorf("cannot start: WASP_PAIR_LIMIT: %w", err)
		}
		c.Send.PairLimit = p
	}
	return nil
}

func (c *Config) applyDefaults() {
	def := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	def(&c.DataDir, defaultDataDir)
	def(&c.Listen, defaultListen)
	def(&c.AdminListen, defaultAdminListen)
	def(&c.Graph.URL, defaultGraphURL)
	def(&c.Graph.Version, defaultGraphVersion)
	def(&c.ClickHouse.Database, defaultCHDatabase)
	def(&c.LogLevel, "info")
	if c.Send.PairLimit.Burst == 0 {
		c.Send.PairLimit = PairLimit{Burst: 45, Interval: 6 * time.Second}
	}
}

// validate checks what the stages of cmd need, naming the setting and the
// fix in each error.
func (c *Config) validate(demo, ingest bool) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("cannot start: "+format, args...))
	}
	if !demo && ingest {
		if len(c.Apps) == 0 || c.Apps[0].Secret == "" {
			bad("WASP_APP_SECRET is empty (set it, or run with --demo)")
		}
		if c.VerifyToken == "" {
			bad("WASP_VERIFY_TOKEN is empty (set it, or run with --demo)")
		}
	}
	for i, a := range c.Apps {
		if a.Secret == "" && (i > 0 || demo) {
			bad("apps[%d].secret is empty in the config file (set the app secret from the Meta app dashboard)", i)
		}
	}
	for name, addr := range map[string]string{"WASP_LISTEN": c.Listen, "WASP_ADMIN_LISTEN": c.AdminListen} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("%s=%q is not host:port (write it like :8080 or 127.0.0.1:9090)", name, addr)
		}
	}
	if !isLoopback(c.AdminListen) && c.APIToken == "" {
		bad("WASP_API_TOKEN is empty while WASP_ADMIN_LISTEN=%q is reachable from other hosts (set a token, or listen on 127.0.0.1)", c.AdminListen)
	}
	if !strings.HasPrefix(c.Graph.URL, "http://") && !strings.HasPrefix(c.Graph.URL, "https://") {
		bad("WASP_GRAPH_URL=%q is not an http(s) URL", c.Graph.URL)
	}
	if !regexp.MustCompile(`^v[0-9]+\.[0-9]+$`).MatchString(c.Graph.Version) {
		bad("WASP_GRAPH_VERSION=%q is not a Graph API version (write it like v25.0)", c.Graph.Version)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("WASP_LOG_LEVEL=%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if u := c.Alerts.NotifyURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		bad("WASP_ALERT_WEBHOOK_URL (alerts.notify_url) is not an http(s) URL")
	}
	if c.Log.Partitions < 0 || c.Log.Partitions > 1024 {
		bad("log.partitions=%d is out of range (1 to 1024)", c.Log.Partitions)
	}
	return errors.Join(errs...)
}

// warnings name what a valid configuration leaves cmd unable to do, and
// the setting that would do it: without a number no message has a
// tenant, without a token a tenant's replies cannot be sent.
func (c *Config) warnings(cmd string) []string {
	if cmd != "run" && cmd != "process" && cmd != "send" {
		return nil
	}
	var out []string
	numbers := 0
	for _, t := range c.Tenants {
		numbers += len(t.PhoneNumberIDs)
		if len(t.PhoneNumberIDs) > 0 && t.AccessToken == "" && cmd != "process" {
			out = append(out, fmt.Sprintf("tenant %q has no access token: its sends fail and go to wa.dlq (set WASP_ACCESS_TOKEN, or tenants[].access_token)", t.ID))
		}
	}
	if numbers == 0 {
		out = append(out, "no tenant has a phone number: every message goes to wa.dlq as one of an unknown number (set WASP_PHONE_NUMBER_ID, or tenants[].phone_number_ids)")
	}
	return out
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
