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

// attemptCounts sums the buckets' attempts and the succeeded ones among
// them: a delivery succeeds by one attempt, and every failed attempt
// counts (retries too).
func attemptCounts(buckets []api.StatsBucket) (succeeded, attempts int64) {
	for _, x := range buckets {
		succeeded += x.Succeeded
		attempts += x.Succeeded + x.FailedAttempts
	}
	return succeeded, attempts
}

// successRate is the share of attempts that succeeded, as a percentage to
// a tenth ("97.5%"); never "100%" unless every one did. "" without
// attempts.
func successRate(succeeded, attempts int64) string {
	if attempts == 0 {
		return ""
	}
	rate := math.Round(float64(succeeded)*1000/float64(attempts)) / 10
	if rate == 100 && succeeded < attempts {
		rate = 99.9
	}
	if rate == 0 && succeeded > 0 {
		rate = 0.1
	}
	return strconv.FormatFloat(rate, 'f', -1, 64) + "%"
}

// successRateChart draws the share of each bucket's attempts that
// succeeded, in percent, as a line; a bucket without attempts breaks it.
// Drawn like the Overview's latency chart (svgStart, drawLines).
func successRateChart(buckets []api.StatsBucket, bucket time.Duration, label string) chart {
	succeeded, attempts := attemptCounts(buckets)
	if attempts == 0 {
		return chart{Summary: fmt.Sprintf("No attempt in the %s, so there is no success rate to show.", label)}
	}
	c := chart{Summary: fmt.Sprintf("Success rate in the %s, per %s: %d of %d attempts succeeded (%s).",
		label, bucketLabel(bucket), succeeded, attempts, successRate(succeeded, attempts))}
	var b strings.Builder
	for _, l := range chartLayouts {
		svgStart(&b, l, "rate-chart", c.Summary, "% of attempts", 100, buckets, bucket)
		drawLines(&b, l, buckets, 100, []chartLine{{"line-rate", func(x api.StatsBucket) *float64 {
			n := x.Succeeded + x.FailedAttempts
			if n == 0 {
				return nil
			}
			v := float64(x.Succeeded) * 100 / float64(n)
			return &v
		}}})
		b.WriteString(`</svg>`)
	}
	c.SVG = template.HTML(b.String())
	return c
}
