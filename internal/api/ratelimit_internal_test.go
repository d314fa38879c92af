package api

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hookd/hookd/internal/store"
)

func TestLimiterBucket(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(time.Unix(1_700_000_000, 0))
	l := newLimiter(1, 2, clk.Now)
	for i := range 2 {
		if _, ok := l.take("k"); !ok {
			t.Fatalf("take %d of a full bucket refused", i+1)
		}
	}
	if wait, ok := l.take("k"); ok || wait != time.Second {
		t.Fatalf("take of an empty bucket: %v %v, want refused with 1s", wait, ok)
	}
	if w := l.wait("k"); w != time.Second {
		t.Errorf("wait %v, want 1s", w)
	}
	clk.Advance(250 * time.Millisecond)
	if wait, ok := l.take("k"); ok || wait != 750*time.Millisecond {
		t.Errorf("after 250ms: %v %v, want refused with 750ms", wait, ok)
	}
	if w := l.wait("other"); w != 0 {
		t.Errorf("wait of an unknown key: %v", w)
	}
	if l.len() != 1 {
		t.Errorf("wait made a bucket: %d", l.len())
	}
	clk.Advance(750 * time.Millisecond)
	if w := l.wait("k"); w != 0 {
		t.Errorf("wait after the refill: %v", w)
	}
	if _, ok := l.take("k"); !ok {
		t.Error("a token after 1s was refused")
	}
}

func TestLimiterEvictsFullBuckets(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(time.Unix(1_700_000_000, 0))
	l := newLimiter(10, 20, clk.Now) // full in 2s
	for i := range 100 {
		l.take(fmt.Sprint(i))
	}
	if l.len() != 100 {
		t.Fatalf("%d buckets", l.len())
	}
	clk.Advance(1999 * time.Millisecond)
	l.take("0") // touched: stays
	if l.len() != 100 {
		t.Fatalf("buckets evicted before they were full: %d left", l.len())
	}
	clk.Advance(time.Millisecond)
	l.take("new")
	if l.len() != 2 { // "0" and "new"
		t.Fatalf("%d buckets after the others filled up, want 2", l.len())
	}
	// Forgetting a full bucket changes nothing: it comes back full.
	for range 20 {
		if _, ok := l.take("1"); !ok {
			t.Fatal("a re-made bucket is not full")
		}
	}
}

func TestLimiterBounded(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(time.Unix(1_700_000_000, 0))
	l := newLimiter(0.001, 1, clk.Now) // fills in 1000 s: no eviction by age here
	l.max = 3
	for _, k := range []string{"a", "b", "c"} {
		l.take(k)
		clk.Advance(time.Millisecond)
	}
	l.take("a") // a is now the most recent
	l.take("d") // the longest idle, b, goes
	if l.len() != 3 {
		t.Fatalf("%d buckets, want 3", l.len())
	}
	if _, ok := l.m["b"]; ok {
		t.Error("b kept; want the longest idle bucket dropped")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := l.m[k]; !ok {
			t.Errorf("%s dropped", k)
		}
	}
	if wait, ok := l.take("a"); ok || wait < 999*time.Second {
		t.Errorf("a: %v %v, want refused for about 1000s", wait, ok)
	}
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.7:5123":           "192.0.2.7",
		"[2001:db8:1:2::1]:443":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::9]:1": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":    "192.0.2.7",
		"192.0.2.7":                "192.0.2.7",
		"not an address":           "not an address",
	} {
		if got := clientAddr(in); got != want {
			t.Errorf("clientAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCountUpTo(t *testing.T) {
	t.Parallel()
	pages := []int{250, 250, 250, 250, 10}
	for _, c := range []struct{ limit, want, pages int }{
		{1000, 1000, 4}, {1001, 1010, 5}, {5000, 1010, 5}, {100, 250, 1},
	} {
		read := 0
		got, err := countUpTo(c.limit, func(cursor string) (int, string, error) {
			if want := fmt.Sprint(read); read > 0 && cursor != want || read == 0 && cursor != "" {
				return 0, "", fmt.Errorf("cursor %q on page %d", cursor, read)
			}
			i := read
			read++
			next := ""
			if read < len(pages) {
				next = fmt.Sprint(read)
			}
			return pages[i], next, nil
		})
		if err != nil || got != c.want || read != c.pages {
			t.Errorf("limit %d: %d in %d pages (%v), want %d in %d", c.limit, got, read, err, c.want, c.pages)
		}
	}
	boom := errors.New("boom")
	if _, err := countUpTo(10, func(string) (int, string, error) { return 0, "", boom }); !errors.Is(err, boom) {
		t.Errorf("error %v", err)
	}
}

func TestKeyCacheForgetWinsOverSlowReader(t *testing.T) {
	t.Parallel()
	c := newKeyCache(time.Minute)
	k := &store.APIKey{ID: "key_1", AppID: "app_1"}
	// A reader starts before a deletion and puts after it: not cached.
	epoch := c.current()
	c.forget(func(x *store.APIKey) bool { return x.ID == "key_1" })
	c.putIfCurrent([]byte("h"), k, epoch)
	if _, ok := c.get([]byte("h")); ok {
		t.Fatal("a key read before its deletion was cached after it")
	}
	c.putIfCurrent([]byte("h"), k, c.current())
	if _, ok := c.get([]byte("h")); !ok {
		t.Fatal("not cached")
	}
	c.forget(func(x *store.APIKey) bool { return x.AppID == "app_1" })
	if _, ok := c.get([]byte("h")); ok {
		t.Fatal("forgotten key still cached")
	}
	short := newKeyCache(time.Nanosecond)
	short.putIfCurrent([]byte("h"), k, short.current())
	time.Sleep(time.Millisecond)
	if _, ok := short.get([]byte("h")); ok {
		t.Fatal("an expired entry was returned")
	}
}
