package load

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteHTML writes r as one self-contained page: the table, and charts
// of throughput, latency and memory over the run and of the latency
// percentiles, in inline SVG. No script, no external URL.
func (r *Result) WriteHTML(w io.Writer) error {
	var table bytes.Buffer
	r.WriteTable(&table)
	xs := make([]float64, len(r.Series))
	col := func(f func(Second) float64) []float64 {
		ys := make([]float64, len(r.Series))
		for i, s := range r.Series {
			xs[i], ys[i] = s.T, f(s)
		}
		return ys
	}
	charts := []template.HTML{
		chart{title: "Throughput", unit: "per second", xs: xs, series: []series{
			{"offered", "#999", col(func(s Second) float64 { return s.Rate })},
			{"inbound delivered", "#1f77b4", col(func(s Second) float64 { return s.Inbound })},
			{"replies", "#2ca02c", col(func(s Second) float64 { return s.Replies })},
		}}.svg(),
		chart{title: "Latency, each second", unit: "ms, log scale", xs: xs, log: true, series: []series{
			{"webhook ack p99", "#1f77b4", col(func(s Second) float64 { return s.AckP99 })},
			{"end to end p50", "#98df8a", col(func(s Second) float64 { return s.E2EP50 })},
			{"end to end p99", "#2ca02c", col(func(s Second) float64 { return s.E2EP99 })},
		}}.svg(),
		percentiles(r.Acks, r.EndToEnd),
	}
	if r.Wasp != nil {
		charts = append(charts, chart{title: "wasp memory and CPU", unit: "MB; cores × 100", xs: xs, series: []series{
			{"RSS MB", "#9467bd", col(func(s Second) float64 { return s.RSSMB })},
			{"CPU cores × 100", "#ff7f0e", col(func(s Second) float64 { return 100 * s.Cores })},
		}}.svg())
	}
	return page.Execute(w, struct {
		R      *Result
		Table  string
		Charts []template.HTML
	}{r, table.String(), charts})
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>wasp bench: {{.R.Scenario}}, {{.R.Mode}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 780px; color: #222; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 12px; }
td, th { padding: 2px 10px; text-align: left; }
.met { color: #2ca02c; } .not { color: #d62728; font-weight: bold; }
svg { display: block; margin: 1.5em 0; }
</style></head><body>
<h1>wasp bench: {{.R.Scenario}}</h1>
<p>{{.R.About}}. {{if eq .R.Mode "remote"}}A remote wasp{{else}}The {{.R.Mode}} log{{end}}, started {{.R.Started.Format "2006-01-02 15:04:05 MST"}}, {{.R.Machine.CPUs}} CPUs, {{.R.Machine.GoVersion}}{{with .R.Machine.Wasp}}, wasp {{.}}{{end}}.</p>
<h2>Targets</h2>
<table>{{range .R.Targets}}<tr><td>{{.Name}}</td><td>{{.Want}}</td><td>{{.Got}}</td><td class="{{if .Met}}met">met{{else}}not">not met{{end}}</td></tr>{{end}}</table>
<h2>Figures</h2>
<pre>{{.Table}}</pre>
<h2>Charts</h2>
{{range .Charts}}{{.}}{{end}}
</body></html>
`))

// series is one line of a chart.
type series struct {
	name, color string
	ys          []float64
}

// chart is a line chart; xlabels, when set, name the xs. A log chart
// has a logarithmic y axis from 0.1 up, for latencies.
type chart struct {
	title, unit string
	xs          []float64
	xlabels     []string
	series      []series
	log         bool
}

const (
	chartW, chartH           = 760, 260
	padL, padR, padT, padB   = 60, 20, 40, 30
	plotW, plotH             = chartW - padL - padR, chartH - padT - padB
	chartFont                = `font-family="system-ui, sans-serif" font-size="11"`
	chartGrid, chartAxisText = "#e5e5e5", "#555"
)

func (c chart) svg() template.HTML {
	maxX, maxY := 0.0, 0.0
	for _, x := range c.xs {
		maxX = max(maxX, x)
	}
	for _, s := range c.series {
		for _, y := range s.ys {
			maxY = max(maxY, y)
		}
	}
	maxX, maxY = max(maxX, 1), niceCeil(max(maxY, 1))
	if c.xlabels != nil {
		maxX = float64(len(c.xlabels))
	}
	ticks := []float64{0, maxY / 4, maxY / 2, 3 * maxY / 4, maxY}
	py := func(y float64) float64 { return padT + plotH - y/maxY*plotH }
	if c.log {
		maxY = math.Pow(10, math.Ceil(math.Log10(maxY)))
		ticks = nil
		for t := 0.1; t <= maxY; t *= 10 {
			ticks = append(ticks, t)
		}
		decades := math.Log10(maxY) + 1
		py = func(y float64) float64 {
			return padT + plotH - (math.Log10(max(y, 0.1))+1)/decades*plotH
		}
	}
	px := func(x float64) float64 { return padL + x/maxX*plotW }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d" viewBox="0 0 %d %d" role="img" %s>`,
		chartW, chartH, chartW, chartH, chartFont)
	fmt.Fprintf(&b, `<text x="%d" y="14" font-size="14" font-weight="bold">%s</text><text x="%d" y="30" fill="%s">%s</text>`,
		padL, html.EscapeString(c.title), padL, chartAxisText, html.EscapeString(c.unit))
	for _, y := range ticks {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s"/><text x="%d" y="%.1f" text-anchor="end" fill="%s">%s</text>`,
			padL, padL+plotW, py(y), py(y), chartGrid, padL-6, py(y)+4, chartAxisText, axisNum(y))
	}
	if c.xlabels != nil {
		for i, l := range c.xlabels {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="%s">%s</text>`, px(c.xs[i]), chartH-10, chartAxisText, html.EscapeString(l))
		}
	} else {
		step := niceCeil(maxX / 8)
		for x := 0.0; x <= maxX; x += step {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="%s">%ss</text>`, px(x), chartH-10, chartAxisText, axisNum(x))
		}
	}
	for i, s := range c.series {
		var pts []string
		for j, y := range s.ys {
			// A second without a value (no reply in it) has none to
			// draw on a log axis.
			if j < len(c.xs) && !(c.log && y <= 0) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(c.xs[j]), py(y)))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.color, strings.Join(pts, " "))
		if c.xlabels != nil {
			for _, p := range pts {
				xy := strings.Split(p, ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`, xy[0], xy[1], s.color)
			}
		}
		lx := chartW - padR - 140*(len(c.series)-i)
		fmt.Fprintf(&b, `<rect x="%d" y="22" width="12" height="4" fill="%s"/><text x="%d" y="28">%s</text>`,
			lx, s.color, lx+16, html.EscapeString(s.name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// percentiles charts the latency distributions: p50 to max.
func percentiles(acks, e2e Latency) template.HTML {
	labels := []string{"p50", "p90", "p99", "p99.9", "max"}
	pick := func(l Latency) []float64 { return []float64{l.P50, l.P90, l.P99, l.P999, l.Max} }
	return chart{title: "Latency percentiles, whole run", unit: "ms, log scale", xs: []float64{0.5, 1.5, 2.5, 3.5, 4.5},
		xlabels: labels, log: true, series: []series{
			{"webhook ack", "#1f77b4", pick(acks)},
			{"end to end", "#2ca02c", pick(e2e)},
		}}.svg()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func axisNum(v float64) string {
	if v == math.Trunc(v) {
		return thousands(v)
	}
	return fmt.Sprintf("%.2g", v)
}
