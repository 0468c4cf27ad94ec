package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"wasp/schemas"
)

// Tests of the Grafana dashboards in deploy/grafana and of the example
// queries of docs/analytics.md.

const (
	clickhousePlugin = "grafana-clickhouse-datasource"
	prometheusPlugin = "prometheus"
)

// grafanaDashboard is what the test reads of a dashboard's JSON.
type grafanaDashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	Title         string         `json:"title"`
	SchemaVersion int            `json:"schemaVersion"`
	Panels        []grafanaPanel `json:"panels"`
	Templating    struct {
		List []grafanaVariable `json:"list"`
	} `json:"templating"`
}

type grafanaDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaPanel struct {
	ID         int                `json:"id"`
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Datasource *grafanaDatasource `json:"datasource"`
	Targets    []struct {
		RefID      string             `json:"refId"`
		Datasource *grafanaDatasource `json:"datasource"`
		RawSQL     string             `json:"rawSql"`
		Expr       string             `json:"expr"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // of a collapsed row
}

type grafanaVariable struct {
	Type       string             `json:"type"`
	Name       string             `json:"name"`
	Datasource *grafanaDatasource `json:"datasource"`
	Query      json.RawMessage    `json:"query"` // SQL, PromQL or a custom list
	IncludeAll bool               `json:"includeAll"`
	AllValue   string             `json:"allValue"`
	Current    struct {
		Value any `json:"value"`
	} `json:"current"`
}

// grafanaQuery is a panel's query.
type grafanaQuery struct {
	where      string // "panel Title/A", for messages
	title      string // the panel's
	datasource string // the plugin id
	sql, expr  string // ClickHouse's or Prometheus'
}

// queries lists d's panel targets, those of collapsed rows included.
func (d *grafanaDashboard) queries(t *testing.T) []grafanaQuery {
	var out []grafanaQuery
	ids := map[int]bool{}
	var walk func(ps []grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
			}
			ids[p.ID] = true
			walk(p.Panels)
			for _, tg := range p.Targets {
				ds := tg.Datasource
				if ds == nil {
					ds = p.Datasource
				}
				if ds == nil {
					t.Errorf("panel %q: a target without a datasource", p.Title)
					continue
				}
				d.checkDatasource(t, "panel "+p.Title, ds)
				out = append(out, grafanaQuery{where: "panel " + p.Title + "/" + tg.RefID, title: p.Title,
					datasource: ds.Type, sql: tg.RawSQL, expr: tg.Expr})
			}
		}
	}
	walk(d.Panels)
	return out
}

// checkDatasource checks that ds is an input of the dashboard, so that
// Grafana asks for it on import.
func (d *grafanaDashboard) checkDatasource(t *testing.T, where string, ds *grafanaDatasource) {
	for _, in := range d.Inputs {
		if ds.UID == "${"+in.Name+"}" && ds.Type == in.PluginID {
			return
		}
	}
	t.Errorf("%s: datasource %+v is not one of the dashboard's __inputs", where, *ds)
}

// grafanaRange is the time range and interval a panel is drawn for.
type grafanaRange struct {
	from, to time.Time
	interval time.Duration
}

// grafanaRef is a template variable ($name, ${name}) or a macro of the
// ClickHouse plugin ($__name, $__name(args)).
var grafanaRef = regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)(\(([^()]*)\))?`)

// expandGrafana does to sql what Grafana and the ClickHouse plugin do
// before it reaches ClickHouse: the variables' values replace them, then
// the plugin's macros expand as its pkg/macros does. Anything else
// starting with $ is an error.
func expandGrafana(sql string, vars map[string]string, r grafanaRange) (string, error) {
	var errs []string
	out := grafanaRef.ReplaceAllStringFunc(sql, func(m string) string {
		sub := grafanaRef.FindStringSubmatch(m)
		name, call, arg := sub[1]+sub[2], sub[3], strings.TrimSpace(sub[4])
		if !strings.HasPrefix(name, "__") {
			v, ok := vars[name]
			if !ok {
				errs = append(errs, "unknown variable "+m)
			}
			return v + call
		}
		from, to, secs := r.from.Unix(), r.to.Unix(), max(int64(r.interval/time.Second), 1)
		switch name {
		case "__timeFilter":
			return fmt.Sprintf("%s >= toDateTime(%d) AND %s <= toDateTime(%d)", arg, from, arg, to)
		case "__timeInterval":
			return fmt.Sprintf("toStartOfInterval(toDateTime(%s), INTERVAL %d second)", arg, secs)
		case "__fromTime":
			return fmt.Sprintf("toDateTime(%d)", from) + call
		case "__toTime":
			return fmt.Sprintf("toDateTime(%d)", to) + call
		case "__interval_s":
			return strconv.FormatInt(secs, 10) + call
		}
		errs = append(errs, "unknown macro "+m)
		return m
	})
	if len(errs) > 0 {
		return "", fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

// inDatabase points the queries at the test's database instead of wasp.
func (db *testDB) inDatabase(sql string) string {
	return regexp.MustCompile(`\bwasp\.`).ReplaceAllString(sql, db.name+".")
}

// sqlResult is a query's answer.
type sqlResult struct {
	cols []string
	rows [][]any
}

func (db *testDB) run(sql string) (*sqlResult, error) {
	rows, err := db.conn.Query(context.Background(), sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res := &sqlResult{cols: rows.Columns()}
	types := rows.ColumnTypes()
	for rows.Next() {
		ptrs := make([]any, len(types))
		for i, ct := range types {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]any, len(ptrs))
		for i, p := range ptrs {
			row[i] = reflect.ValueOf(p).Elem().Interface()
		}
		res.rows = append(res.rows, row)
	}
	return res, rows.Err()
}

// strings returns the rows' values of the columns cols, each row's
// formatted by grafanaRow, sorted.
func (res *sqlResult) strings(cols ...string) ([]string, error) {
	var idx []int
	for _, c := range cols {
		i := slices.Index(res.cols, c)
		if i < 0 {
			return nil, fmt.Errorf("no column %s in %v", c, res.cols)
		}
		idx = append(idx, i)
	}
	out := []string{}
	for _, row := range res.rows {
		var vs []any
		for _, i := range idx {
			vs = append(vs, row[i])
		}
		out = append(out, grafanaRow(vs...))
	}
	slices.Sort(out)
	return out, nil
}

// grafanaRow formats values as the figures are compared: times in UTC,
// floats to 9 significant digits.
func grafanaRow(vs ...any) string {
	var s []string
	for _, v := range vs {
		rv := reflect.ValueOf(v)
		for rv.Kind() == reflect.Pointer && !rv.IsNil() {
			rv = rv.Elem()
		}
		switch {
		case rv.Kind() == reflect.Pointer:
			s = append(s, "NULL")
		case rv.CanFloat():
			s = append(s, strconv.FormatFloat(rv.Float(), 'g', 9, 64))
		case rv.Type() == reflect.TypeFor[time.Time]():
			s = append(s, rv.Interface().(time.Time).UTC().Format(time.RFC3339))
		default:
			s = append(s, fmt.Sprint(rv.Interface()))
		}
	}
	return strings.Join(s, " ")
}

// grafanaEvents is the stream the dashboards and the examples are run
// over: the test events of helpers_test.go from base, 1.1 s apart, and
// what those lack: read receipts, replies by agents, throttling, failed
// statuses, every priced pricing category and a free one, a model
// failure, retries, alerts firing and resolved, a release.
func grafanaEvents(base time.Time) []schemas.Event {
	var es []schemas.Event
	for i := range 4000 {
		e := testEvent("grafana", i)
		e.Time = base.Add(time.Duration(i) * 1100 * time.Millisecond)
		es = append(es, e)
	}
	numbers := []string{"106540352242922", "106540352242923", "106540352242924"}
	tenantOf := func(i int) string { return map[bool]string{true: "acme", false: "globex"}[i%3 != 2] }
	add := func(e schemas.Event) {
		e.ID = schemas.EventID("grafana-extra", strconv.Itoa(len(es)))
		es = append(es, e)
	}
	cats := slices.Sorted(func(yield func(string) bool) {
		for c := range Prices {
			if !yield(c) {
				return
			}
		}
	})
	cats = append(cats, "service") // free: not in Prices
	for i := range 400 {
		e := schemas.Event{Time: base.Add(time.Duration(i) * 11 * time.Second), Tenant: tenantOf(i),
			PhoneNumberID: numbers[i%3], User: fmt.Sprintf("52155500%05d", i%40),
			Wamid: fmt.Sprintf("wamid.grafana-extra.%d", i/10)}
		switch i % 10 {
		case 0:
			e.Kind, e.MessageType, e.Origin, e.LatencyMs = schemas.EventSendAccepted, "read", schemas.OriginBot, 70
		case 1:
			e.Kind, e.MessageType, e.Origin = schemas.EventSendAccepted, "text", schemas.OriginAgent
			e.LatencyMs, e.ResponseMs = 110, 45_000+int64(i)*10
		case 2:
			e.Kind, e.ErrorCode, e.ErrorClass, e.Reason = schemas.EventThrottled, 130429, "pace", "throughput limit"
		case 3:
			e.Kind, e.Status, e.ErrorCode, e.ErrorClass = schemas.EventStatus, "failed", 131049, "wait_long"
			e.Reason = "This message was not delivered to maintain healthy ecosystem engagement."
		case 4, 5, 6:
			e.Kind, e.Status = schemas.EventStatus, []string{"sent", "delivered", "read"}[i%10-4]
			e.PricingCategory, e.PricingType, e.Billable = cats[i/10%len(cats)], "regular", true
			if e.Status == "read" {
				e.Wamid += "r" // Meta prices a message with one of delivered or read
			}
		case 7:
			e.Kind, e.Reason = schemas.EventHandoff, "llm error"
		case 8:
			e.Kind, e.ErrorCode, e.ErrorClass, e.Attempt = schemas.EventSendRetried, 131000, "retry", 1
		case 9:
			e.Kind, e.Reason, e.LatencyMs, e.Tokens = schemas.EventBotReply, "llm", 900, 300+i
		}
		add(e)
	}
	alert := func(at time.Duration, tenant, number, status, reason string, code int) {
		add(schemas.Event{Kind: schemas.EventAlert, Time: base.Add(at), Tenant: tenant, PhoneNumberID: number,
			Status: status, ErrorCode: code, Reason: reason})
	}
	alert(5*time.Minute, "acme", numbers[0], schemas.AlertFiring, "token_errors: 3 sends refused in 5m for the access token (190)", 190)
	alert(20*time.Minute, "acme", numbers[0], schemas.AlertFiring, "pace_usage: sent at 93% of the number's 80 messages/s in the last minute", 0)
	alert(25*time.Minute, "acme", numbers[0], schemas.AlertResolved, "pace_usage: sent at 93% of the number's 80 messages/s in the last minute", 0)
	alert(30*time.Minute, "", "", schemas.AlertFiring, "consumer_lag: consumer group wasp-sender is 61000 records behind", 0)
	alert(40*time.Minute, "globex", numbers[2], schemas.AlertFiring, "delivery_failure_rate: 14% of 120 sends failed in 15m", 0)
	add(schemas.Event{Kind: schemas.EventRelease, Time: base.Add(50 * time.Minute), Tenant: "acme",
		PhoneNumberID: numbers[1], User: "5215550000007", Reason: "api"})
	return es
}

// grafanaFile is a dashboard of deploy/grafana.
type grafanaFile struct {
	name string
	d    grafanaDashboard
}

// readDashboards reads every dashboard of deploy/grafana.
func readDashboards(t *testing.T) []grafanaFile {
	files, err := filepath.Glob("../deploy/grafana/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in deploy/grafana (%v)", err)
	}
	var out []grafanaFile
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		g := grafanaFile{name: filepath.Base(f)}
		if err := json.Unmarshal(b, &g.d); err != nil {
			t.Fatalf("cannot parse %s: %v", f, err)
		}
		out = append(out, g)
	}
	return out
}

// docsExamples returns the statements of the sql blocks of
// docs/analytics.md.
func docsExamples(t *testing.T) []string {
	b, err := os.ReadFile("../docs/analytics.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		out = append(out, strings.TrimSuffix(strings.TrimSpace(m[1]), ";"))
	}
	if len(out) < 10 {
		t.Errorf("docs/analytics.md: %d sql examples; want at least 10", len(out))
	}
	return out
}

// firstLine names a query in messages.
func firstLine(sql string) string {
	line, _, _ := strings.Cut(sql, "\n")
	return line
}

// TestGrafanaDashboards checks what needs no server: the dashboards parse,
// ask for their datasources on import, read metrics the code registers,
// and the prices and error titles written into SQL, there and in
// docs/analytics.md, are those of the code.
func TestGrafanaDashboards(t *testing.T) {
	names := repoMetricNames(t)
	for _, f := range readDashboards(t) {
		t.Run(f.name, func(t *testing.T) {
			d := &f.d
			if d.Title == "" || d.SchemaVersion < 36 {
				t.Errorf("title %q, schemaVersion %d; want a title and a schema of Grafana 10 or later", d.Title, d.SchemaVersion)
			}
			qs := d.queries(t)
			if len(qs) == 0 {
				t.Fatal("no queries")
			}
			for _, q := range qs {
				switch q.datasource {
				case clickhousePlugin:
					checkTransforms(t, q.where, q.sql)
				case prometheusPlugin:
					checkMetricNames(t, q.where, q.expr, names)
				default:
					t.Errorf("%s: datasource %q; want %s or %s", q.where, q.datasource, clickhousePlugin, prometheusPlugin)
				}
			}
			for _, v := range d.Templating.List {
				if v.Datasource != nil {
					d.checkDatasource(t, "variable "+v.Name, v.Datasource)
				}
			}
		})
	}
	for _, sql := range docsExamples(t) {
		checkTransforms(t, "docs/analytics.md: "+firstLine(sql), sql)
	}
}

// TestGrafanaQueries runs every ClickHouse query of the dashboards in
// deploy/grafana (panels and variables, for one tenant, for all and for
// one number) and every statement of docs/analytics.md against a database
// loaded with test events, and checks the panels that show a figure of
// the dashboard API against ClickHouseSource on the same data.
func TestGrafanaQueries(t *testing.T) {
	db := newTestDB(t)
	l := openTestLog(t, t.TempDir())
	base := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	es := grafanaEvents(base)
	appendEvents(t, l, es)
	runLoader(t, LoaderConfig{Addr: db.addr, Database: db.name}, l)
	db.waitLoaded(t, time.Minute, len(es))
	src, err := NewClickHouseSource(db.conn, db.name)
	if err != nil {
		t.Fatal(err)
	}
	// Some events before the range, none at its end: the API's To is
	// excluded, $__timeFilter's included.
	r := grafanaRange{from: base.Add(10 * time.Minute), to: base.Add(3 * time.Hour), interval: time.Hour}

	checked := map[string]bool{} // the panels compared with the API
	compared := false            // whether a selection was
	for _, f := range readDashboards(t) {
		t.Run(f.name, func(t *testing.T) {
			var ch []grafanaQuery
			for _, q := range f.d.queries(t) {
				if q.datasource == clickhousePlugin {
					ch = append(ch, q)
				}
			}
			if len(ch) == 0 {
				return
			}
			for _, sel := range []struct {
				name   string
				values map[string]string // chosen values; the others All
				period *Period           // the API's period to compare, if any
			}{
				{"tenant acme", map[string]string{"tenant": "acme"}, &Period{Tenant: "acme", From: r.from, To: r.to}},
				{"all", nil, &Period{From: r.from, To: r.to}},
				{"one number", map[string]string{"tenant": "globex", "phone_number_id": "106540352242924"}, nil},
			} {
				t.Run(sel.name, func(t *testing.T) {
					vars := db.grafanaVariables(t, &f.d, r, sel.values)
					var want map[string]panelWant
					if sel.period != nil {
						want, compared = apiPanels(t, src, *sel.period), true
					}
					for _, q := range ch {
						sql, err := expandGrafana(q.sql, vars, r)
						if err != nil {
							t.Errorf("%s: %v", q.where, err)
							continue
						}
						res, err := db.run(db.inDatabase(sql))
						if err != nil {
							t.Errorf("%s: %v\n%s", q.where, err, sql)
							continue
						}
						w, ok := want[q.title]
						if !ok {
							continue
						}
						checked[q.title] = true
						got, err := res.strings(w.cols...)
						if err != nil {
							t.Errorf("%s: %v", q.where, err)
						} else if !w.equal(got) {
							t.Errorf("%s: got %q; want the API's %q (within %v%%)", q.where, got, w.rows, 100*w.tol)
						}
					}
				})
			}
		})
	}
	for title := range apiPanels(t, src, Period{From: r.from, To: r.to}) {
		if compared && !checked[title] {
			t.Errorf("no panel %q compared with the API: renamed or gone?", title)
		}
	}

	t.Run("docs/analytics.md", func(t *testing.T) {
		for _, sql := range docsExamples(t) {
			body := strings.TrimSpace(regexp.MustCompile(`(?m)^--.*$`).ReplaceAllString(sql, ""))
			if !strings.HasPrefix(body, "SELECT") && !strings.HasPrefix(body, "WITH") {
				if err := db.conn.Exec(context.Background(), db.inDatabase(sql)); err != nil {
					t.Errorf("%s: %v", firstLine(sql), err)
				}
				continue
			}
			res, err := db.run(db.inDatabase(sql))
			if err != nil {
				t.Errorf("%s: %v", firstLine(sql), err)
			} else if len(res.rows) == 0 {
				t.Errorf("%s: no rows on the test data; each example must answer something", firstLine(sql))
			}
		}
	})
}

// grafanaVariables evaluates d's variables in order, as Grafana does: a
// query variable runs its query and takes the value chosen in values (which
// must be one of its options) or All; the others take their current value.
// The values are as Grafana interpolates them into the ClickHouse plugin's
// queries: All is the allValue, else every option quoted.
func (db *testDB) grafanaVariables(t *testing.T, d *grafanaDashboard, r grafanaRange, values map[string]string) map[string]string {
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		where := "variable " + v.Name
		switch v.Type {
		case "query":
			if v.Datasource == nil || v.Datasource.Type != clickhousePlugin {
				t.Fatalf("%s: want a %s query", where, clickhousePlugin)
			}
			var sql string
			if err := json.Unmarshal(v.Query, &sql); err != nil {
				t.Fatalf("%s: the query is not SQL text: %v", where, err)
			}
			sql, err := expandGrafana(sql, vars, r)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			res, err := db.run(db.inDatabase(sql))
			if err != nil {
				t.Fatalf("%s: %v\n%s", where, err, sql)
			}
			options, _ := res.strings(res.cols[0])
			if len(options) == 0 {
				t.Fatalf("%s: no options", where)
			}
			if want, ok := values[v.Name]; ok {
				if !slices.Contains(options, want) {
					t.Fatalf("%s: options %q; want %s among them", where, options, want)
				}
				vars[v.Name] = want
			} else if !v.IncludeAll {
				vars[v.Name] = options[0]
			} else if v.AllValue != "" {
				vars[v.Name] = v.AllValue
			} else {
				vars[v.Name] = "'" + strings.Join(options, "','") + "'"
			}
		case "custom", "constant", "textbox":
			vars[v.Name] = fmt.Sprint(v.Current.Value)
		default:
			t.Fatalf("%s: type %q is not handled by this test", where, v.Type)
		}
	}
	return vars
}

// panelWant is a panel's figures as the dashboard API gives them: the
// result's columns to compare and the rows formatted by grafanaRow,
// sorted.
type panelWant struct {
	cols []string
	rows []string
	tol  float64 // for one number: how far from it, relative
}

func (w panelWant) equal(got []string) bool {
	if w.tol == 0 || len(got) != 1 || len(w.rows) != 1 {
		return slices.Equal(got, w.rows)
	}
	g, err := strconv.ParseFloat(got[0], 64)
	x, err2 := strconv.ParseFloat(w.rows[0], 64)
	return err == nil && err2 == nil && math.Abs(g-x) <= w.tol*math.Abs(x)
}

// apiPanels answers, for the panels that show the dashboard API's
// figures, what the API answers for p, by panel title.
func apiPanels(t *testing.T, src *ClickHouseSource, p Period) map[string]panelWant {
	ctx := context.Background()
	sum, err := src.Summary(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	trends, err := src.Trends(ctx, p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	numbers, err := src.Numbers(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := src.Alerts(ctx, p, 100)
	if err != nil {
		t.Fatal(err)
	}
	one := func(col string, v any) panelWant {
		return panelWant{cols: []string{col}, rows: []string{grafanaRow(v)}}
	}
	many := func(cols ...string) panelWant { return panelWant{cols: cols, rows: []string{}} }
	p50, p95 := one("response_p50_ms", sum.ResponseP50Ms), one("response_p95_ms", sum.ResponseP95Ms)
	p50.tol, p95.tol = 0.05, 0.05 // the API estimates percentiles (t-digest), the panels are exact
	w := map[string]panelWant{
		"Conversations":     one("conversations", sum.Conversations),
		"Messages in":       one("messages_in", sum.MessagesIn),
		"Messages out":      one("messages_out", sum.MessagesOut),
		"Bot reply rate":    one("bot_reply_rate", sum.BotReplyRate),
		"Handoff rate":      one("handoff_rate", sum.HandoffRate),
		"Response time p50": p50,
		"Response time p95": p95,
		"Delivery rate":     one("delivery_rate", sum.DeliveryRate),
		"Read rate":         one("read_rate", sum.ReadRate),
		"LLM tokens":        one("llm_tokens", sum.Tokens),
		"Estimated cost":    one("cost_usd", sum.CostEstimate),
	}
	var failures int64
	fw := many("error_code", "failures")
	for code, n := range sum.Failures {
		failures += n
		fw.rows = append(fw.rows, grafanaRow(code, n))
	}
	w["Failures"] = one("failures", failures)
	w["Failures by error code"] = fw
	bw := many("category", "messages", "price_usd")
	for cat, n := range sum.Billable {
		bw.rows = append(bw.rows, grafanaRow(cat, n, Prices[cat]))
	}
	w["Billable messages by category"] = bw
	tw := many("time", "messages_in", "messages_out", "handoffs", "failed")
	for _, pt := range trends {
		tw.rows = append(tw.rows, grafanaRow(pt.Time, pt.MessagesIn, pt.MessagesOut, pt.Handoffs, pt.Failed))
	}
	w["Trends"] = tw
	nw := many("phone_number_id", "accepted", "throttled", "failed", "peak_per_hour")
	for _, n := range numbers {
		nw.rows = append(nw.rows, grafanaRow(n.PhoneNumberID, n.Accepted, n.Throttled, n.Failed, n.PeakPerHour))
	}
	w["Sending per number"] = nw
	aw := many("id", "status")
	last := map[string]string{} // the newest status per rule, tenant and number
	for _, a := range alerts {
		aw.rows = append(aw.rows, grafanaRow(a.ID, a.Status))
		rule, _, _ := strings.Cut(a.Reason, ":")
		if k := rule + "\x00" + a.Tenant + "\x00" + a.PhoneNumberID; last[k] == "" {
			last[k] = a.Status
		}
	}
	w["Alerts"] = aw
	var firing int
	for _, s := range last {
		if s == schemas.AlertFiring {
			firing++
		}
	}
	w["Alerts firing"] = one("firing", firing)
	for k := range w {
		slices.Sort(w[k].rows)
	}
	return w
}

var (
	transformRe = regexp.MustCompile(`transform\((pricing_category|error_code),\s*\[([^\]]*)\],\s*\[([^\]]*)\]`)
	quotedRe    = regexp.MustCompile(`'((?:[^'\\]|\\.)*)'`)
	metricRe    = regexp.MustCompile(`\bwasp_[a-z0-9_]+`)
)

// checkTransforms checks the tables written into SQL as transform(): the
// prices by pricing category must be analytics.Prices, the titles of
// error codes those of schemas/errorcodes.tsv.
func checkTransforms(t *testing.T, where, sql string) {
	for _, m := range transformRe.FindAllStringSubmatch(sql, -1) {
		var keys, values []string
		for _, q := range quotedRe.FindAllStringSubmatch(m[2], -1) {
			keys = append(keys, q[1])
		}
		for _, q := range quotedRe.FindAllStringSubmatch(m[3], -1) {
			values = append(values, q[1])
		}
		switch m[1] {
		case "pricing_category":
			prices := strings.Split(m[3], ",")
			if len(keys) != len(Prices) || len(prices) != len(keys) {
				t.Errorf("%s: prices for %q; want those of analytics.Prices, %v", where, keys, Prices)
				continue
			}
			for i, c := range keys {
				price := strings.TrimSpace(prices[i])
				p, err := strconv.ParseFloat(price, 64)
				if want, ok := Prices[c]; !ok || err != nil || p != want {
					t.Errorf("%s: price of %s %s; want analytics.Prices' %v", where, c, price, want)
				}
			}
		case "error_code":
			codes := strings.Split(m[2], ",")
			if len(codes) != len(values) {
				t.Errorf("%s: %d error codes, %d titles", where, len(codes), len(values))
				continue
			}
			for i, c := range codes {
				c = strings.TrimSpace(c)
				code, err := strconv.Atoi(c)
				if info, ok := schemas.LookupError(code); err != nil || !ok || info.Title != values[i] {
					t.Errorf("%s: error %s titled %q; want the title of schemas/errorcodes.tsv, %q", where, c, values[i], info.Title)
				}
			}
		}
	}
}

// repoMetricNames returns the wasp_ metric names the code registers
// (non-test Go files of the repository).
func repoMetricNames(t *testing.T) map[string]bool {
	names := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		for _, n := range metricRe.FindAllString(string(b), -1) {
			names[n] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// checkMetricNames checks that the wasp_ metrics a PromQL expression reads
// exist (a histogram's series by their base name).
func checkMetricNames(t *testing.T, where, expr string, names map[string]bool) {
	if expr == "" {
		t.Errorf("%s: no PromQL expression", where)
	}
	for _, n := range metricRe.FindAllString(expr, -1) {
		base := n
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if s, ok := strings.CutSuffix(n, suffix); ok && names[s] {
				base = s
			}
		}
		if !names[base] {
			t.Errorf("%s: metric %s is not registered by the code (grep metrics.New)", where, n)
		}
	}
}
