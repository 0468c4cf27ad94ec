package analytics

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/dgraph-io/badger/v4"

	"wasp/schemas"
	"wasp/stream"
)

// Rollups is the embedded analytics store, for deployments without
// ClickHouse: it reads the events topic and keeps, per tenant, number and
// hour, the counts the dashboard shows, in Badger. Each event is applied
// once: the last applied offset of each partition is written in the same
// transaction as the counts it moved.
//
// Keys:
//
//	'h' tenant 0 number 0 hour → counts (JSON)
//	'u' tenant 0 day 0 user    → nothing: users who wrote that day
//	'o' topic 0 partition      → next offset to apply
//	'a' time id                → an alert event (JSON)
type Rollups struct {
	db     *badger.DB
	log    stream.Log
	topic  string
	group  string
	logger *slog.Logger

	mu sync.Mutex // serializes apply
}

// RollupConfig configures the embedded rollups.
type RollupConfig struct {
	// Dir holds the store.
	Dir string
	// Topic and Group; empty means schemas.TopicEvents and
	// "wasp-analytics-rollups".
	Topic, Group string
	Logger       *slog.Logger
}

var rollupEvents = metrics.NewCounter(`wasp_analytics_events_total{store="embedded"}`)

// OpenRollups opens the store.
func OpenRollups(cfg RollupConfig, log stream.Log) (*Rollups, error) {
	if cfg.Dir == "" {
		return nil, errors.New("cannot open the analytics rollups: no directory")
	}
	if cfg.Topic == "" {
		cfg.Topic = schemas.TopicEvents
	}
	if cfg.Group == "" {
		cfg.Group = "wasp-analytics-rollups"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	db, err := badger.Open(stream.EdgeOptions(cfg.Dir, 8<<20, cfg.Logger))
	if err != nil {
		return nil, fmt.Errorf("cannot open the analytics rollups in %q: %w", cfg.Dir, err)
	}
	return &Rollups{db: db, log: log, topic: cfg.Topic, group: cfg.Group, logger: cfg.Logger}, nil
}

// Counts are the figures of one tenant, number and hour.
type Counts struct {
	Inbound      int64            `json:"inbound"`
	Accepted     int64            `json:"accepted"`    // sends Meta accepted
	BotReplies   int64            `json:"bot_replies"` // accepted sends of origin bot
	Handoffs     int64            `json:"handoffs"`
	Failed       int64            `json:"failed"` // sends failed for good
	FailedByCode map[string]int64 `json:"failed_by_code"`
	Throttled    int64            `json:"throttled"`
	Statuses     map[string]int64 `json:"statuses"` // sent, delivered, read, played, failed
	Tokens       int64            `json:"tokens"`
	Billable     map[string]int64 `json:"billable"`    // billable messages (delivered or read) by category
	LLMErrors    int64            `json:"llm_errors"`  // handoffs for LLM failures
	Response     []int64          `json:"response_ms"` // response-time histogram, see bucketOf
	Alerts       int64            `json:"alerts"`
}

// Response-time buckets: upper bounds in milliseconds, growing by a
// quarter, from 10 ms to about 30 minutes.
var bounds = func() []float64 {
	var b []float64
	for v := 10.0; v < 2e6; v *= 1.25 {
		b = append(b, v)
	}
	return b
}()

func bucketOf(ms int64) int {
	return min(sort.SearchFloat64s(bounds, float64(ms)), len(bounds)-1)
}

// Run applies events until ctx ends.
func (r *Rollups) Run(ctx context.Context) error {
	defer r.db.Close()
	c, err := r.log.Consume(r.group, r.topic)
	if err != nil {
		return fmt.Errorf("cannot consume %s: %w", r.topic, err)
	}
	defer c.Close()
	var last []stream.Offset
	err = stream.Pump(ctx, c, 10_000, time.Second, func(recs []*stream.Record) {
		for {
			if err := r.apply(recs); err != nil {
				r.logger.Error("cannot apply events to the rollups; trying again", "err", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				continue
			}
			break
		}
		last = last[:0]
		for _, rec := range recs {
			last = append(last, rec.NextOffset())
		}
	}, func() {
		if len(last) > 0 {
			c.Commit(ctx, last...) // an optimisation: the stored offsets decide
		}
	})
	if err != nil {
		return fmt.Errorf("cannot fetch events: %w", err)
	}
	return nil
}

func offsetKey(topic string, part int32) []byte {
	return binary.BigEndian.AppendUint32(append(append([]byte{'o'}, topic...), 0), uint32(part))
}

func hourKey(tenant, number string, hour time.Time) []byte {
	k := append([]byte{'h'}, tenant...)
	k = append(append(k, 0), number...)
	return binary.BigEndian.AppendUint64(append(k, 0), uint64(hour.Unix()))
}

// apply adds a batch of events to the counts, skipping what an earlier run
// applied.
func (r *Rollups) apply(recs []*stream.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.db.Update(func(txn *badger.Txn) error {
		next := map[string]int64{}
		counts := map[string]*Counts{}
		get := func(k []byte) (*Counts, error) {
			if c := counts[string(k)]; c != nil {
				return c, nil
			}
			c := &Counts{}
			item, err := txn.Get(k)
			if err == nil {
				err = item.Value(func(v []byte) error { return json.Unmarshal(v, c) })
			}
			if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
				return nil, err
			}
			counts[string(k)] = c
			return c, nil
		}
		for _, rec := range recs {
			ok := string(offsetKey(rec.Topic, rec.Partition))
			n, seen := next[ok]
			if !seen {
				item, err := txn.Get([]byte(ok))
				if err == nil {
					item.Value(func(v []byte) error { n = int64(binary.BigEndian.Uint64(v)); return nil })
				} else if !errors.Is(err, badger.ErrKeyNotFound) {
					return err
				}
			}
			if rec.Offset < n {
				next[ok] = n
				continue // applied by an earlier run
			}
			next[ok] = rec.Offset + 1
			var e schemas.Event
			if json.Unmarshal(rec.Value, &e) != nil || e.Kind == "" {
				continue
			}
			c, err := get(hourKey(e.Tenant, e.PhoneNumberID, e.Time.UTC().Truncate(time.Hour)))
			if err != nil {
				return err
			}
			c.add(&e)
			rollupEvents.Inc()
			if e.Kind == schemas.EventInbound && e.User != "" {
				day := e.Time.UTC().Format("20060102")
				if err := txn.Set([]byte("u"+e.Tenant+"\x00"+day+"\x00"+e.User), nil); err != nil {
					return err
				}
			}
			if e.Kind == schemas.EventAlert {
				k := binary.BigEndian.AppendUint64([]byte{'a'}, uint64(e.Time.UnixNano()))
				if err := txn.Set(append(k, e.ID...), rec.Value); err != nil {
					return err
				}
			}
		}
		for k, c := range counts {
			v, _ := json.Marshal(c)
			if err := txn.Set([]byte(k), v); err != nil {
				return err
			}
		}
		for k, n := range next {
			if err := txn.Set([]byte(k), binary.BigEndian.AppendUint64(nil, uint64(n))); err != nil {
				return err
			}
		}
		return nil
	})
}

func (c *Counts) add(e *schemas.Event) {
	inc := func(m *map[string]int64, k string) {
		if *m == nil {
			*m = map[string]int64{}
		}
		(*m)[k]++
	}
	switch e.Kind {
	case schemas.EventInbound:
		c.Inbound++
	case schemas.EventSendAccepted:
		if e.MessageType == "read" {
			return
		}
		c.Accepted++
		if e.Origin == schemas.OriginBot {
			c.BotReplies++
		}
		if e.ResponseMs > 0 {
			if c.Response == nil {
				c.Response = make([]int64, len(bounds))
			}
			c.Response[bucketOf(e.ResponseMs)]++
		}
	case schemas.EventSendFailed:
		c.Failed++
		inc(&c.FailedByCode, strconv.Itoa(e.ErrorCode))
	case schemas.EventThrottled:
		c.Throttled++
	case schemas.EventStatus:
		inc(&c.Statuses, e.Status)
		if e.Status == "failed" {
			inc(&c.FailedByCode, strconv.Itoa(e.ErrorCode))
		}
		// Meta sends pricing with sent and with one of delivered or read,
		// and charges on delivery: count it once, off the latter.
		if e.Billable && e.PricingCategory != "" && e.Status != "sent" {
			inc(&c.Billable, e.PricingCategory)
		}
	case schemas.EventBotReply:
		c.Tokens += int64(e.Tokens)
	case schemas.EventHandoff:
		c.Handoffs++
		if strings.HasPrefix(e.Reason, "llm") {
			c.LLMErrors++
		}
	case schemas.EventAlert:
		c.Alerts++
	}
}

// Period selects the events of a tenant (all tenants when empty) between
// From (included) and To (excluded).
type Period struct {
	Tenant   string
	From, To time.Time
}

// hours calls f with the counts of each hour of p, per number.
func (r *Rollups) hours(p Period, f func(number string, hour time.Time, c *Counts)) error {
	prefix := []byte{'h'}
	if p.Tenant != "" {
		prefix = append(append(prefix, p.Tenant...), 0)
	}
	return r.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			parts := strings.SplitN(string(k[1:len(k)-8]), "\x00", 3)
			if len(parts) < 2 {
				continue
			}
			hour := time.Unix(int64(binary.BigEndian.Uint64(k[len(k)-8:])), 0).UTC()
			if hour.Before(p.From.Truncate(time.Hour)) || !hour.Before(p.To) {
				continue
			}
			var c Counts
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &c) }); err != nil {
				return err
			}
			f(parts[1], hour, &c)
		}
		return nil
	})
}

// users counts the distinct users who wrote in p.
func (r *Rollups) users(p Period) (int64, error) {
	seen := map[string]bool{}
	err := r.db.View(func(txn *badger.Txn) error {
		prefix := []byte{'u'}
		if p.Tenant != "" {
			prefix = append(append(prefix, p.Tenant...), 0)
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		from, to := p.From.UTC().Format("20060102"), p.To.UTC().Format("20060102")
		for it.Rewind(); it.Valid(); it.Next() {
			parts := strings.SplitN(string(it.Item().Key()[1:]), "\x00", 3)
			if len(parts) == 3 && parts[1] >= from && parts[1] <= to {
				seen[parts[0]+"\x00"+parts[2]] = true
			}
		}
		return nil
	})
	return int64(len(seen)), err
}

// quantile reads the q-quantile of a response-time histogram, in ms.
func quantile(h []int64, q float64) float64 {
	var total int64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var acc int64
	for i, n := range h {
		acc += n
		if acc >= rank {
			return bounds[i]
		}
	}
	return bounds[len(bounds)-1]
}

// Alerts implements Source: the period's alert events, newest first.
func (r *Rollups) Alerts(_ context.Context, p Period, limit int) ([]schemas.Event, error) {
	out := []schemas.Event{}
	err := r.db.View(func(txn *badger.Txn) error {
		opts := badger.IteratorOptions{Prefix: []byte{'a'}, Reverse: true}
		it := txn.NewIterator(opts)
		defer it.Close()
		seek := binary.BigEndian.AppendUint64([]byte{'a'}, uint64(p.To.UnixNano()))
		for it.Seek(seek); it.Valid() && len(out) < limit; it.Next() {
			var e schemas.Event
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return err
			}
			if e.Time.Before(p.From) {
				break
			}
			if p.Tenant == "" || e.Tenant == p.Tenant {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}
