package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/api"
)

// chart is a chart of the Overview page: inline SVG drawn here, styled
// by classes of the stylesheet (the CSP allows no inline style), with a
// <title> that sums it up for screen readers.
type chart struct {
	// SVG is the chart, at each of chartLayouts; empty when there is
	// nothing to draw.
	SVG template.HTML
	// Summary is the chart's data in a sentence (also its <title>).
	Summary string
}

// chartLayout is a chart's geometry, in viewBox units: the SVG scales
// to its box. Each chart is drawn twice, wide for large screens and
// narrow for phones (the stylesheet shows one), so that its text stays
// legible at both sizes.
type chartLayout struct {
	// Name tells the drawings apart: "wide", "narrow".
	Name          string
	Width, Height int
	// TimeLabels is how many times the x axis names, ends included.
	TimeLabels int
}

// The plot's margins inside a chart, and its labels.
const (
	plotLeft, plotRight = 52, 10
	plotTop, plotBottom = 26, 40
	chartTicks          = 4
	chartTimeLayout     = "15:04"
)

// chartLayouts are the sizes each chart is drawn at.
var chartLayouts = []chartLayout{{"wide", 960, 260, 4}, {"narrow", 360, 220, 3}}

func (l chartLayout) plotWidth() int  { return l.Width - plotLeft - plotRight }
func (l chartLayout) plotHeight() int { return l.Height - plotTop - plotBottom }

// niceCeil is the smallest of 1, 2, 2.5, 5 × 10^n that is at least v (1
// for v ≤ 0): the top of an axis.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// formatTick writes an axis value without needless decimals.
func formatTick(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// svgStart opens a chart's SVG at layout l, with its title and the
// axes: the y axis from 0 to top in unit, the x axis with the times of
// the buckets.
func svgStart(b *strings.Builder, l chartLayout, id, summary, yUnit string, top float64, buckets []api.StatsBucket, bucket time.Duration) {
	esc := template.HTMLEscapeString
	id += "-" + l.Name
	fmt.Fprintf(b, `<svg class="chart chart-%s" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title">`, l.Name, id, l.Width, l.Height, id)
	fmt.Fprintf(b, `<title id="%s-title">%s</title>`, id, esc(summary))
	for i := 0; i <= chartTicks; i++ {
		v := top * float64(i) / chartTicks
		y := float64(plotTop) + float64(l.plotHeight())*(1-float64(i)/chartTicks)
		cls := "grid"
		if i == 0 {
			cls = "axis"
		}
		fmt.Fprintf(b, `<line class="%s" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, cls, plotLeft, l.Width-plotRight, y, y)
		fmt.Fprintf(b, `<text class="tick" x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, plotLeft-6, y, formatTick(v))
	}
	fmt.Fprintf(b, `<text class="unit" x="2" y="2" dominant-baseline="hanging">%s</text>`, esc(yUnit))
	n := len(buckets)
	if n == 0 {
		return
	}
	// A window that spans days names the day at its ends.
	first, last := buckets[0].Start.UTC(), buckets[n-1].Start.UTC()
	days := first.YearDay() != last.YearDay() || first.Year() != last.Year()
	for i := 0; i < l.TimeLabels; i++ {
		k := i * (n - 1) / (l.TimeLabels - 1)
		layout := chartTimeLayout
		if days && (i == 0 || i == l.TimeLabels-1) {
			layout = "Jan 2 " + chartTimeLayout
		}
		x := float64(plotLeft) + (float64(k)+0.5)*float64(l.plotWidth())/float64(n)
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
			x = plotLeft
		case l.TimeLabels - 1:
			anchor = "end"
			x = float64(l.Width - plotRight)
		}
		fmt.Fprintf(b, `<text class="tick" x="%.1f" y="%d" text-anchor="%s">%s</text>`, x, plotTop+l.plotHeight()+16, anchor, buckets[k].Start.UTC().Format(layout))
	}
	fmt.Fprintf(b, `<text class="unit" x="%d" y="%d" text-anchor="middle">time (UTC), %s buckets</text>`, plotLeft+l.plotWidth()/2, l.Height-4, bucketLabel(bucket))
}

// bucketLabel names a bucket size: "1 min", "15 min", "1 h".
func bucketLabel(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d min", int(d.Minutes()))
}

// deliveriesChart draws the deliveries of each bucket by outcome as
// stacked bars: succeeded, failed attempts, exhausted.
func deliveriesChart(buckets []api.StatsBucket, bucket time.Duration, label string) chart {
	var succ, failed, exh, most int64
	for _, x := range buckets {
		succ += x.Succeeded
		failed += x.FailedAttempts
		exh += x.Exhausted
		most = max(most, x.Succeeded+x.FailedAttempts+x.Exhausted)
	}
	c := chart{Summary: fmt.Sprintf("Deliveries in the %s, per %s: %d succeeded, %d failed attempts, %d exhausted.",
		label, bucketLabel(bucket), succ, failed, exh)}
	if most == 0 {
		return c
	}
	top := niceCeil(float64(most))
	var b strings.Builder
	for _, l := range chartLayouts {
		svgStart(&b, l, "deliveries-chart", c.Summary, "count", top, buckets, bucket)
		slot := float64(l.plotWidth()) / float64(len(buckets))
		w := math.Max(slot*0.8, 0.5)
		for i, x := range buckets {
			bx := float64(plotLeft) + float64(i)*slot + (slot-w)/2
			base := float64(plotTop + l.plotHeight())
			for _, part := range []struct {
				class string
				v     int64
			}{{"bar-succeeded", x.Succeeded}, {"bar-failed", x.FailedAttempts}, {"bar-exhausted", x.Exhausted}} {
				if part.v == 0 {
					continue
				}
				h := float64(l.plotHeight()) * float64(part.v) / top
				base -= h
				fmt.Fprintf(&b, `<rect class="%s" x="%.2f" y="%.2f" width="%.2f" height="%.2f"><title>%s: %d</title></rect>`,
					part.class, bx, base, w, h, x.Start.UTC().Format(chartTimeLayout), part.v)
			}
		}
		b.WriteString(`</svg>`)
	}
	c.SVG = template.HTML(b.String())
	return c
}

// latencyChart draws the p50 and p99 delivery latency of each bucket as
// lines; a bucket without a succeeded delivery breaks them.
func latencyChart(buckets []api.StatsBucket, bucket time.Duration, label string) chart {
	var p50, p99 float64
	var any bool
	for _, x := range buckets {
		if x.P50MS != nil {
			any, p50 = true, math.Max(p50, *x.P50MS)
		}
		if x.P99MS != nil {
			any, p99 = true, math.Max(p99, *x.P99MS)
		}
	}
	if !any {
		return chart{Summary: fmt.Sprintf("No delivery succeeded in the %s, so there is no latency to show.", label)}
	}
	c := chart{Summary: fmt.Sprintf("Delivery latency in the %s, per %s: p50 at most %s ms, p99 at most %s ms.",
		label, bucketLabel(bucket), formatTick(p50), formatTick(p99))}
	top := niceCeil(math.Max(p50, p99))
	var b strings.Builder
	for _, l := range chartLayouts {
		svgStart(&b, l, "latency-chart", c.Summary, "ms", top, buckets, bucket)
		drawLines(&b, l, buckets, top, []chartLine{
			{"line-p99", func(x api.StatsBucket) *float64 { return x.P99MS }},
			{"line-p50", func(x api.StatsBucket) *float64 { return x.P50MS }},
		})
		b.WriteString(`</svg>`)
	}
	c.SVG = template.HTML(b.String())
	return c
}

// chartLine is a line of a line chart: its class in the stylesheet, and
// its value in a bucket (nil: none, which breaks the line).
type chartLine struct {
	class string
	v     func(api.StatsBucket) *float64
}

// drawLines draws lines over the buckets into a chart svgStart opened at
// layout l, with the y axis from 0 to top: each run of buckets with a
// value is a polyline (a lone value a dot).
func drawLines(b *strings.Builder, l chartLayout, buckets []api.StatsBucket, top float64, lines []chartLine) {
	slot := float64(l.plotWidth()) / float64(len(buckets))
	for _, line := range lines {
		var pts [][2]float64
		flush := func() {
			switch len(pts) {
			case 0:
			case 1:
				fmt.Fprintf(b, `<circle class="%s" cx="%.2f" cy="%.2f" r="3"/>`, line.class, pts[0][0], pts[0][1])
			default:
				xy := make([]string, len(pts))
				for i, p := range pts {
					xy[i] = fmt.Sprintf("%.2f,%.2f", p[0], p[1])
				}
				fmt.Fprintf(b, `<polyline class="%s" points="%s"/>`, line.class, strings.Join(xy, " "))
			}
			pts = pts[:0]
		}
		for i, x := range buckets {
			v := line.v(x)
			if v == nil {
				flush()
				continue
			}
			px := float64(plotLeft) + (float64(i)+0.5)*slot
			py := float64(plotTop) + float64(l.plotHeight())*(1-*v/top)
			pts = append(pts, [2]float64{px, py})
		}
		flush()
	}
}
