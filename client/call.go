package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
)

// decode reads the JSON of a 2xx answer into a new T; any other answer is
// returned as an [*Error].
func decode[T any](resp *http.Response, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if e := ErrorFromResponse(resp); e != nil {
		return nil, e
	}
	var v T
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, fmt.Errorf("client: %s %s: reading the answer: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return &v, nil
}

// noContent checks that an answer is 2xx, returning any other as an
// [*Error].
func noContent(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if e := ErrorFromResponse(resp); e != nil {
		return e
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return nil
}

// paginate iterates over the items of a list, page after page: fetch
// returns the page at cursor (nil: the first) with the next page's cursor
// (nil or "": none). An error is yielded once, with T's zero value, and
// ends the iteration.
func paginate[T any](ctx context.Context, cursor *string, fetch func(ctx context.Context, cursor *string) ([]T, *string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, next, err := fetch(ctx, cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == nil || *next == "" {
				return
			}
			cursor = next
		}
	}
}

// orZero returns *p, or a new zero T when p is nil: a copy of a list's
// parameters that the iterator can move the cursor of.
func orZero[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
