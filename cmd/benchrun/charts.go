package main

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Charts of a run, drawn by the harness itself as plain SVG (no dependencies) and written
// next to the report, which embeds them: stampede p99, delivered throughput and peak RSS
// per case and configuration, and distinct throughput.

type chart struct {
	File  string // base name, next to the report
	Title string
}

// barSeries is one configuration's values, one per group; a value <= 0 is not drawn.
type barSeries struct {
	Name   string
	Values []float64
}

var seriesColors = map[string]string{"A": "#8c8c8c", "B": "#e8710a", "C": "#1e8e3e", "D": "#1a73e8", "L": "#9334e6"}

func colorOf(name string, i int) string {
	if c, ok := seriesColors[strings.SplitN(name, " ", 2)[0]]; ok {
		return c
	}
	palette := []string{"#d93025", "#12b5cb", "#f9ab00", "#5f6368"}
	return palette[i%len(palette)]
}

// barChartSVG draws grouped bars: one group per label, one bar per series. logY draws the
// value axis in decades (for latencies that span 200 ms to minutes).
func barChartSVG(title, unit string, groups []string, series []barSeries, logY bool) string {
	const (
		left, right, bottom = 70.0, 20.0, 90.0
		barW, groupGap      = 12.0, 18.0
		plotH               = 280.0
	)
	groupW := float64(len(series))*barW + groupGap
	width := left + right + math.Max(float64(len(groups))*groupW, 420)
	// The legend wraps to the width; the plot starts below it.
	type legendItem struct{ x, y float64 }
	items := make([]legendItem, len(series))
	lx, ly := left, 32.0
	for i, s := range series {
		w := 24 + 6.5*float64(len(s.Name))
		if lx > left && lx+w > width-right {
			lx, ly = left, ly+16
		}
		items[i] = legendItem{lx, ly}
		lx += w
	}
	top := ly + 28
	height := top + plotH + bottom
	lo, hi := math.Inf(1), 0.0
	for _, s := range series {
		for _, v := range s.Values {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if hi == 0 {
		lo, hi = 1, 1
	}
	var ticks []float64
	var scale func(float64) float64 // value -> height above the axis
	if logY {
		from, to := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if to == from {
			to++
		}
		for e := from; e <= to; e++ {
			for _, m := range []float64{1, 2, 5} {
				if v := m * math.Pow(10, e); m == 1 || (to-from <= 2 && e < to) {
					ticks = append(ticks, v)
				}
			}
		}
		scale = func(v float64) float64 { return (math.Log10(v) - from) / (to - from) * plotH }
	} else {
		step := niceStep(hi / 5)
		ceil := math.Ceil(hi/step) * step
		for v := 0.0; v <= ceil+step/2; v += step {
			ticks = append(ticks, v)
		}
		scale = func(v float64) float64 { return v / ceil * plotH }
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`, width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>`)
	p(`<text x="%.0f" y="20" font-size="14" font-weight="bold">%s</text>`, left, html.EscapeString(title))
	axisY := top + plotH
	for _, t := range ticks {
		y := axisY - scale(t)
		p(`<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#e0e0e0"/>`, left, y, width-right, y)
		p(`<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`, left-6, y+4, html.EscapeString(formatTick(t)))
	}
	p(`<text x="14" y="%.0f" transform="rotate(-90 14 %.0f)" text-anchor="middle">%s</text>`, top+plotH/2, top+plotH/2, html.EscapeString(unit))
	p(`<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`, left, axisY, width-right, axisY)
	for gi, g := range groups {
		x0 := left + float64(gi)*groupW + groupGap/2
		for si, s := range series {
			if gi >= len(s.Values) || s.Values[gi] <= 0 {
				continue
			}
			h := math.Max(scale(s.Values[gi]), 1)
			p(`<rect x="%.1f" y="%.1f" width="%.0f" height="%.1f" fill="%s"><title>%s, %s: %s %s</title></rect>`,
				x0+float64(si)*barW, axisY-h, barW-1, h, colorOf(s.Name, si),
				html.EscapeString(s.Name), html.EscapeString(g), formatTick(s.Values[gi]), html.EscapeString(unit))
		}
		cx := x0 + float64(len(series))*barW/2
		p(`<text x="%.1f" y="%.0f" text-anchor="end" transform="rotate(-35 %.1f %.0f)">%s</text>`, cx, axisY+14, cx, axisY+14, html.EscapeString(g))
	}
	for si, s := range series {
		it := items[si]
		p(`<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`,
			it.x, it.y, colorOf(s.Name, si), it.x+14, it.y+9, html.EscapeString(s.Name))
	}
	p(`</svg>`)
	return b.String()
}

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func formatTick(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

// stampedeCases lists the stampede's (size, N) cases in the order they ran.
func (r *report) stampedeCases() (labels []string, sizes []int64, ns []int) {
	seen := map[string]bool{}
	for _, row := range r.stampede {
		l := fmt.Sprintf("%s x %d", human(row.Size), row.N)
		if !seen[l] {
			seen[l] = true
			labels, sizes, ns = append(labels, l), append(sizes, row.Size), append(ns, row.N)
		}
	}
	return labels, sizes, ns
}

func (r *report) stampedeSeries(value func(*stampedeRow) float64) []barSeries {
	_, sizes, ns := r.stampedeCases()
	var out []barSeries
	for _, t := range r.targets {
		s := barSeries{Name: t.key + " " + t.name}
		for i := range sizes {
			v := 0.0
			if row := r.stampedeRowFor(sizes[i], ns[i], t.key); row != nil {
				v = value(row)
			}
			s.Values = append(s.Values, v)
		}
		out = append(out, s)
	}
	return out
}

// writeCharts draws the run's charts next to out (the report's path) and records them for
// chartsSection.
func (r *report) writeCharts(out string) error {
	dir := filepath.Dir(out)
	base := strings.TrimSuffix(filepath.Base(out), filepath.Ext(out))
	labels, sizes, ns := r.stampedeCases()
	const mib = 1 << 20
	tput := r.stampedeSeries(func(row *stampedeRow) float64 { return row.rate() / mib })
	limit := barSeries{Name: "L file_server (loopback limit)"}
	for i := range sizes {
		v := 0.0
		if l := r.loopbackFor(sizes[i], ns[i]); l != nil {
			v = l.rate() / mib
		}
		limit.Values = append(limit.Values, v)
	}
	tput = append(tput, limit)
	var latLabels []string
	var distinct []barSeries
	for _, t := range r.targets {
		s := barSeries{Name: t.key + " " + t.name}
		for _, lat := range r.opts.distinctLatencies {
			v := 0.0
			if row := r.distinctRow(lat, t.key); row != nil {
				v = row.median(throughput)
			}
			s.Values = append(s.Values, v)
		}
		distinct = append(distinct, s)
	}
	for _, lat := range r.opts.distinctLatencies {
		latLabels = append(latLabels, "Bee latency "+lat.String())
	}
	charts := []struct {
		chart
		svg string
	}{
		{chart{base + "-stampede-p99.svg", "Stampede p99 latency per size and N (log scale)"},
			barChartSVG("Stampede: p99 latency per size x N", "p99 (ms, log scale)", labels,
				r.stampedeSeries(func(row *stampedeRow) float64 { return float64(row.Summary.Latency.P99) / 1e6 }), true)},
		{chart{base + "-stampede-throughput.svg", "Stampede delivered throughput, with the loopback limit"},
			barChartSVG("Stampede: delivered throughput (first byte to last byte)", "MiB/s", labels, tput, false)},
		{chart{base + "-stampede-rss.svg", "Stampede peak RSS of the proxy"},
			barChartSVG("Stampede: peak RSS of the proxy", "MiB", labels,
				r.stampedeSeries(func(row *stampedeRow) float64 { return float64(row.PeakRSS) / mib }), false)},
		{chart{base + "-distinct-throughput.svg", "Distinct GETs: throughput"},
			barChartSVG("Distinct GETs: throughput (median of rounds)", "requests/s", latLabels, distinct, false)},
	}
	r.charts = nil
	for _, c := range charts {
		if err := os.WriteFile(filepath.Join(dir, c.File), []byte(c.svg), 0o644); err != nil {
			return err
		}
		r.charts = append(r.charts, c.chart)
	}
	return nil
}

// chartsSection embeds the charts (relative links: they sit next to the report).
func (r *report) chartsSection(w func(string, ...any)) {
	if len(r.charts) == 0 {
		return
	}
	w("## Charts")
	w("")
	for _, c := range r.charts {
		w("![%s](%s)", c.Title, c.File)
		w("")
	}
}
