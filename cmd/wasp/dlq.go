package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"wasp/internal/jsonapi"
	"wasp/schemas"
	"wasp/stream"
)

// The dead letters: what a stage could not handle, kept in wa.dlq with the
// reason and the original bytes. The admin API lists them and replays one
// to the topic it came from; `wasp dlq` is that API's client, since the
// embedded log belongs to the running wasp.

// deadLetter is one record of the dead-letter topic. Its ID is
// "partition-offset".
type deadLetter struct {
	ID            string          `json:"id"`
	Time          time.Time       `json:"time"`
	PhoneNumberID string          `json:"phone_number_id,omitzero"`
	Source        string          `json:"source"`
	Reason        string          `json:"reason"`
	Code          string          `json:"code,omitzero"`
	Origin        string          `json:"origin,omitzero"` // topic/partition/offset it was read from
	Bytes         int             `json:"bytes"`
	Body          json.RawMessage `json:"body,omitzero"` // with GET …/{id}, when it is JSON
	Replay        string          `json:"replay_to,omitzero"`
}

// dlqAPI serves the dead letters of one log.
type dlqAPI struct {
	log    stream.Log
	topics TopicsConfig
}

func (d *dlqAPI) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/dlq", d.list)
	mux.HandleFunc("GET /api/v1/dlq/{id}", d.get)
	mux.HandleFunc("POST /api/v1/dlq/{id}/replay", d.replay)
}

// read returns every record the dead-letter topic holds now: it reads
// without a group (readers neither share partitions nor wait for a group
// to form) up to the ends the log gives, or until nothing comes for
// dlqIdle when a write that failed left a gap just before an end.
func (d *dlqAPI) read(ctx context.Context) ([]*stream.Record, error) {
	bounds, err := d.log.Bounds(ctx, d.topics.DLQ)
	if err != nil {
		return nil, err
	}
	ends := map[int32]int64{} // the partitions still to read to their end
	for _, b := range bounds {
		if b.End > b.Start {
			ends[b.Partition] = b.End
		}
	}
	if len(ends) == 0 {
		return nil, nil
	}
	c, err := d.log.Consume("", d.topics.DLQ)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var out []*stream.Record
	for len(ends) > 0 {
		fctx, cancel := context.WithTimeout(ctx, dlqIdle)
		recs, err := c.Fetch(fctx, 10_000)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) {
				break
			}
			return nil, err
		}
		for _, r := range recs {
			end, ok := ends[r.Partition]
			if !ok {
				continue
			}
			if r.Offset < end {
				out = append(out, r)
			}
			if r.Offset >= end-1 {
				delete(ends, r.Partition)
			}
		}
	}
	return out, nil
}

// dlqIdle is how long read waits for a record before an end.
const dlqIdle = 5 * time.Second

func (d *dlqAPI) letter(r *stream.Record, body bool) deadLetter {
	l := deadLetter{ID: fmt.Sprintf("%d-%d", r.Partition, r.Offset), Time: r.Time.UTC(), PhoneNumberID: string(r.Key),
		Source: string(r.Header(schemas.HeaderSource)), Reason: string(r.Header(schemas.HeaderReason)),
		Code: string(r.Header("code")), Origin: string(r.Header("offset")), Bytes: len(r.Value), Replay: d.replayTopic(r)}
	if body && json.Valid(r.Value) {
		l.Body = r.Value
	}
	return l
}

// replayTopic is where a dead letter goes again: webhooks to the webhook
// topic, send commands to the outbound topic.
func (d *dlqAPI) replayTopic(r *stream.Record) string {
	if string(r.Header(schemas.HeaderSource)) == "sender" {
		return d.topics.Outbound
	}
	return d.topics.Webhooks
}

// maxDLQList is the most dead letters one list shows.
const maxDLQList = 10_000

func (d *dlqAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := jsonapi.Limit(r, 100, maxDLQList)
	if err != nil {
		jsonapi.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	recs, err := d.read(r.Context())
	if err != nil {
		jsonapi.Error(w, http.StatusServiceUnavailable, "cannot read the dead letters: "+err.Error())
		return
	}
	slices.SortFunc(recs, func(a, b *stream.Record) int { return b.Time.Compare(a.Time) })
	out := []deadLetter{}
	for _, rec := range recs {
		if s := q.Get("source"); s != "" && string(rec.Header(schemas.HeaderSource)) != s {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, d.letter(rec, false))
	}
	jsonapi.Write(w, http.StatusOK, map[string]any{"dead_letters": out, "total": len(recs)})
}

// find returns the dead letter named id, or nil.
func (d *dlqAPI) find(ctx context.Context, id string) (*stream.Record, error) {
	p, o, ok := strings.Cut(id, "-")
	part, err1 := strconv.ParseInt(p, 10, 32)
	off, err2 := strconv.ParseInt(o, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, errors.New("a dead letter's id is partition-offset, e.g. 3-1207")
	}
	recs, err := d.read(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Partition == int32(part) && r.Offset == off {
			return r, nil
		}
	}
	return nil, nil
}

func (d *dlqAPI) get(w http.ResponseWriter, r *http.Request) {
	rec, err := d.find(r.Context(), r.PathValue("id"))
	switch {
	case err != nil:
		jsonapi.Error(w, http.StatusBadRequest, err.Error())
	case rec == nil:
		jsonapi.Error(w, http.StatusNotFound, "no dead letter "+r.PathValue("id"))
	default:
		jsonapi.Write(w, http.StatusOK, d.letter(rec, true))
	}
}

// replay appends the dead letter's bytes to the topic it came from. A send
// command gets a command id of its own, derived from the dead letter, so
// that the ledger, which remembers the failed one, lets it through once
// and replaying it again sends nothing more.
func (d *dlqAPI) replay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rec, err := d.find(r.Context(), id)
	switch {
	case err != nil:
		jsonapi.Error(w, http.StatusBadRequest, err.Error())
		return
	case rec == nil:
		jsonapi.Error(w, http.StatusNotFound, "no dead letter "+id)
		return
	}
	value := rec.Value
	topic := d.replayTopic(rec)
	if topic == d.topics.Outbound {
		var cmd schemas.SendCommand
		if err := json.Unmarshal(rec.Value, &cmd); err != nil || cmd.ID == "" {
			jsonapi.Error(w, http.StatusUnprocessableEntity, "dead letter "+id+" is not a send command; nothing to replay")
			return
		}
		cmd.ID += "~replay-" + id
		cmd.Attempt = 0
		value, _ = json.Marshal(cmd)
	}
	out := &stream.Record{Topic: topic, Key: rec.Key, Value: value, Headers: []stream.Header{
		{Key: "replayed-from", Value: []byte(d.topics.DLQ + "/" + id)},
		{Key: schemas.HeaderReceivedAt, Value: strconv.AppendInt(nil, time.Now().UnixMilli(), 10)},
	}}
	if err := d.log.Append(r.Context(), out); err != nil {
		jsonapi.Error(w, http.StatusServiceUnavailable, "cannot replay: "+err.Error())
		return
	}
	jsonapi.Write(w, http.StatusAccepted, map[string]any{"replayed": id, "topic": topic,
		"partition": out.Partition, "offset": out.Offset})
}

const dlqUsage = `wasp dlq — the dead letters of a running wasp, through its admin API

Usage:
  wasp dlq list [--source ingest|processor|sender] [--limit N] [--json]
  wasp dlq show ID [--json]
  wasp dlq replay ID

Flags (all commands):
  --admin ADDR  the admin listener, host:port or URL (default $WASP_ADMIN_LISTEN, 127.0.0.1:9090)
  --config FILE the YAML configuration, for admin_listen and api_token

WASP_API_TOKEN is sent as the bearer token. A replayed webhook goes back to
wa.webhooks; a replayed send command to wa.outbound under a command id of
its own, so it is sent once however often it is replayed.
Exit codes: 0 done, 1 the API failed, 2 bad usage.
`

// runDLQ is `wasp dlq`.
func runDLQ(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, dlqUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("wasp dlq "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	admin := fs.String("admin", "", "admin listener URL")
	configPath := fs.String("config", "", "YAML configuration file")
	source := fs.String("source", "", "only dead letters of this stage")
	limit := fs.Int("limit", 50, "how many, newest first")
	asJSON := fs.Bool("json", false, "print JSON")
	// The id may come before or after the flags.
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if exit, done := parseFlags(fs, args, stdout); done {
		return exit
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	cfg, err := loadConfig(*configPath, getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	base := *admin
	if base == "" {
		base = displayAddr(cfg.AdminListen)
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base // host:port, as WASP_ADMIN_LISTEN
	}
	base = strings.TrimSuffix(base, "/")
	if u, err := url.Parse(base); err != nil || u.Host == "" {
		fmt.Fprintf(stderr, "wasp dlq %s: --admin %q is not the admin listener's address: give host:port or a URL, e.g. 127.0.0.1:9090\n", cmd, *admin)
		return 2
	}
	call := func(method, path string) (map[string]any, int) {
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			fmt.Fprintf(stderr, "wasp dlq %s: %v\n", cmd, err)
			return nil, 2
		}
		if cfg.APIToken != "" {
			req.Header.Set("Authorization", "Bearer "+cfg.APIToken)
		}
		resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
		if err != nil {
			fmt.Fprintf(stderr, "wasp dlq %s: cannot reach the admin API at %s (is wasp running? --admin): %v\n", cmd, base, err)
			return nil, 1
		}
		defer resp.Body.Close()
		var v map[string]any
		b, _ := io.ReadAll(resp.Body)
		json.Unmarshal(b, &v)
		if resp.StatusCode/100 != 2 {
			fmt.Fprintf(stderr, "wasp dlq %s: %s: %v\n", cmd, resp.Status, v["error"])
			return nil, 1
		}
		if *asJSON {
			stdout.Write(b)
		}
		return v, 0
	}
	switch cmd {
	case "list":
		if *limit < 1 || *limit > maxDLQList {
			fmt.Fprintf(stderr, "wasp dlq list: --limit must be from 1 to %d (got %d)\n", maxDLQList, *limit)
			return 2
		}
		q := "?limit=" + strconv.Itoa(*limit)
		if *source != "" {
			q += "&source=" + url.QueryEscape(*source)
		}
		v, code := call("GET", "/api/v1/dlq"+q)
		if code != 0 || *asJSON {
			return code
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTIME\tSOURCE\tPHONE_NUMBER_ID\tCODE\tBYTES\tREASON")
		letters, _ := v["dead_letters"].([]any)
		for _, x := range letters {
			l, _ := x.(map[string]any)
			at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(l["time"]))
			fmt.Fprintf(tw, "%v\t%s\t%v\t%v\t%v\t%v\t%v\n", l["id"], at.Format(time.DateTime), l["source"], or(l["phone_number_id"]),
				or(l["code"]), l["bytes"], l["reason"])
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%d shown of %v\n", len(letters), v["total"])
		return 0
	case "show", "replay":
		if id == "" {
			fmt.Fprintf(stderr, "wasp dlq %s: give the dead letter's id (from wasp dlq list), e.g. 3-1207\n", cmd)
			return 2
		}
		if cmd == "show" {
			v, code := call("GET", "/api/v1/dlq/"+id)
			if code == 0 && !*asJSON {
				b, _ := json.MarshalIndent(v, "", "  ")
				fmt.Fprintln(stdout, string(b))
			}
			return code
		}
		v, code := call("POST", "/api/v1/dlq/"+id+"/replay")
		if code == 0 && !*asJSON {
			fmt.Fprintf(stdout, "dead letter %s replayed to %v (partition %v, offset %v)\n", id, v["topic"], v["partition"], v["offset"])
		}
		return code
	}
	fmt.Fprintf(stderr, "wasp dlq: unknown command %q\n\n%s", cmd, dlqUsage)
	return 2
}

func or(v any) any {
	if v == nil || v == "" {
		return "-"
	}
	return v
}
