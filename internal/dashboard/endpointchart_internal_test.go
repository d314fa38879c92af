package dashboard

import "testing"

// TestSuccessRate: the share of attempts that succeeded, to a tenth of a
// percent, never rounded to 100% while one failed nor to 0% while one
// succeeded; nothing without attempts.
func TestSuccessRate(t *testing.T) {
	for _, c := range []struct {
		succeeded, attempts int64
		want                string
	}{
		{0, 0, ""},
		{0, 3, "0%"},
		{3, 3, "100%"},
		{2, 3, "66.7%"},
		{1, 8, "12.5%"},
		{9999, 10000, "99.9%"},
		{19999, 20000, "99.9%"}, // 99.995 rounds to 100
		{1, 20000, "0.1%"},      // 0.005 rounds to 0
	} {
		if got := successRate(c.succeeded, c.attempts); got != c.want {
			t.Errorf("successRate(%d, %d) = %q, want %q", c.succeeded, c.attempts, got, c.want)
		}
	}
}
