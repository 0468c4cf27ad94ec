package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"wasp/processor"
	"wasp/processor/bot"
)

// processorConfig maps the configuration onto the processor's, building
// each tenant's bot: the OpenAI-compatible one when an API key is set,
// else the rules bot.
func (c *Config) processorConfig(logger *slog.Logger) (processor.Config, error) {
	budget := &bot.MemoryBudget{}
	var tenants []processor.Tenant
	for _, t := range c.Tenants {
		b := t.Business
		var tb bot.Bot
		switch {
		case t.Bot.Off:
		case c.OpenAI.APIKey != "":
			model := t.Bot.Model
			if model == "" {
				model = c.OpenAI.Model
			}
			if model == "" {
				return processor.Config{}, fmt.Errorf("cannot start: WASP_OPENAI_MODEL is empty for tenant %q (set it, or tenants[].bot.model)", t.ID)
			}
			o, err := bot.NewOpenAI(bot.OpenAIConfig{BaseURL: c.OpenAI.BaseURL, APIKey: c.OpenAI.APIKey, Model: model,
				Temperature: t.Bot.Temperature, MaxTokens: t.Bot.MaxTokens, DailyTokenBudget: t.Bot.DailyTokenBudget,
				Timeout: c.OpenAI.Timeout,
				Budget:  budget, Logger: logger})
			if err != nil {
				return processor.Config{}, fmt.Errorf("cannot start the OpenAI-compatible bot of tenant %q: %w", t.ID, err)
			}
			tb = o
		default:
			rc := bot.DefaultRulesConfig()
			if t.Bot.Rules != "" {
				data, err := os.ReadFile(t.Bot.Rules)
				if err == nil {
					rc, err = bot.LoadRules(data)
				}
				if err != nil {
					return processor.Config{}, fmt.Errorf("cannot load the rules of tenant %q (tenants[].bot.rules): %w", t.ID, err)
				}
			}
			r, err := bot.NewRules(rc)
			if err != nil {
				return processor.Config{}, fmt.Errorf("cannot start the rules bot of tenant %q: %w", t.ID, err)
			}
			tb = r
		}
		tenants = append(tenants, processor.Tenant{ID: t.ID, Numbers: t.PhoneNumberIDs, WABAID: t.WABAID, Business: b, Bot: tb,
			Acknowledgement: t.Bot.Acknowledgement, Unreadable: t.Bot.Unreadable})
	}
	return processor.Config{
		Topic: c.Topics.Webhooks, OutboundTopic: c.Topics.Outbound, EventsTopic: c.Topics.Events, DLQTopic: c.Topics.DLQ,
		DataDir:     filepath.Join(c.DataDir, "state"),
		Tenants:     tenants,
		DedupeTTL:   c.Processor.DedupeTTL,
		History:     c.Processor.History,
		Concurrency: c.Processor.Concurrency,
		Logger:      logger,
	}, nil
}
