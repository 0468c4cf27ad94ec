package sender

import (
	"bytes"
	"context"
	"time"

	"wasp/schemas"
	"wasp/stream"
)

// settleLoop reads the webhooks topic for what the sender needs from Meta's
// callbacks: status webhooks echoing a command id settle sends whose
// outcome was unknown, and user_preferences webhooks record marketing
// opt-outs. It has its own consumer group and reads only records that
// mention either.
func (s *Sender) settleLoop(ctx context.Context) error {
	c, err := s.log.Consume(s.cfg.Group+"-settle", s.cfg.WebhooksTopic)
	if err != nil {
		s.logger.Error("cannot read status webhooks; unknown sends are resent after the settle delay", "err", err)
		return err
	}
	defer c.Close()
	for {
		recs, err := c.Fetch(ctx, 1024)
		if err != nil {
			return nil // ctx ended, or the log closed
		}
		var offs []stream.Offset
		for _, r := range recs {
			s.settleRecord(r)
			offs = append(offs, r.NextOffset())
		}
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c.Commit(cctx, offs...)
		cancel()
	}
}

var (
	callbackField    = []byte(`"biz_opaque_callback_data"`)
	preferencesField = []byte(`"user_preferences"`)
)

func (s *Sender) settleRecord(r *stream.Record) {
	if !bytes.Contains(r.Value, callbackField) && !bytes.Contains(r.Value, preferencesField) {
		return
	}
	w, err := schemas.ParseWebhook(r.Value)
	if err != nil {
		return // the processor dead-letters it
	}
	for _, st := range w.Statuses() {
		cb, ok := schemas.ParseCallback(st.BizOpaqueCallbackData)
		if !ok || st.Status == schemas.StatusFailed {
			continue
		}
		if settled, err := s.ledger.settle(cb.CommandID, st.ID); err != nil {
			s.logger.Warn("cannot settle a send", "err", err)
		} else if settled {
			sendsSettled.Inc()
		}
	}
	for _, ch := range w.Changes() {
		prefs, ok := ch.Value.(*schemas.UserPreferencesValue)
		if !ok {
			continue
		}
		number := prefs.Metadata.PhoneNumberID
		for _, p := range prefs.UserPreferences {
			if p.Category != "marketing_messages" {
				continue
			}
			stop := p.Value == "stop"
			if !stop && p.Value != "resume" && p.Value != "signup" {
				continue
			}
			// Commands name the user by phone or by BSUID: record both.
			for _, user := range []string{p.WaID, p.UserID} {
				if user != "" {
					if err := s.ledger.setOptOut(number, user, stop); err != nil {
						s.logger.Warn("cannot record a marketing opt-out", "err", err)
					}
				}
			}
		}
	}
}
