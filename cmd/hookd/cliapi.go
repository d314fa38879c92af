package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hookd/hookd/client"
)

// apiClient is what the resource commands call: the client package's
// typed operations as generated ([client.Client.Raw]), which keep the
// answer's body as received, so --json prints the API's JSON as it is
// (the convenience methods decode it into Go structs). The Client under
// it sends the key and user agent and retries idempotent calls on 429
// and 503.
type apiClient = *client.RawClientWithResponses

// apiFromFlags is clientFromFlags' generated layer, with the base URL for
// messages.
func apiFromFlags(cmd *cobra.Command) (apiClient, string, error) {
	c, err := clientFromFlags(cmd)
	if err != nil {
		return nil, "", err
	}
	return c.Raw(), c.BaseURL(), nil
}

// answer is what every operation of the client returns: the status and
// the raw body, which the commands print as they are (--json) or as a
// table.
type answer interface {
	StatusCode() int
	GetBody() []byte
}

// call is the body of an operation's answer, or its error: a problem
// answer as a *client.Error (exit 1), or no answer (exit 3).
func call[R answer](r R, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	if c := r.StatusCode(); c < 200 || c > 299 {
		return nil, problemError(c, r.GetBody())
	}
	return r.GetBody(), nil
}

// page is one page of a list answer.
type page struct {
	Data       []json.RawMessage `json:"data"`
	NextCursor *string           `json:"next_cursor"`
}

// pageSize is how many items a list asks for at once.
const pageSize = 100

// collect gathers a list's items, following next_cursor from page to page,
// up to --limit of them (all when 0). fetch gets the page size and the
// cursor (nil for the first page).
func collect[R answer](s *session, fetch func(limit *int64, cursor *string) (R, error)) ([]json.RawMessage, error) {
	limit, _ := s.cmd.Flags().GetInt("limit")
	if limit < 0 {
		return nil, usageError(fmt.Errorf("--limit %d: must be 0 (all) or more", limit))
	}
	var items []json.RawMessage
	var cursor *string
	for {
		n := int64(pageSize)
		if limit > 0 && int64(limit-len(items)) < n {
			n = int64(limit - len(items))
		}
		raw, err := call(fetch(&n, cursor))
		if err != nil {
			return nil, err
		}
		var p page
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("the server's list answer: %w", err)
		}
		items = append(items, p.Data...)
		if p.NextCursor == nil || *p.NextCursor == "" || len(p.Data) == 0 || limit > 0 && len(items) >= limit {
			break
		}
		cursor = p.NextCursor
	}
	if limit > 0 && len(items) > limit {
		items = items[:limit]
	}
	return items, nil
}

// listCmd prints a list gathered by collect.
func listCmd[R answer](s *session, columns []column, fetch func(limit *int64, cursor *string) (R, error)) error {
	items, err := collect(s, fetch)
	if err != nil {
		return err
	}
	return showList(s.cmd, items, columns)
}

// show prints the object an operation answered (see call): use it as
// s.show(columns)(call(s.api.GetAppWithResponse(ctx, app))).
func (s *session) show(columns []column) func([]byte, error) error {
	return func(raw []byte, err error) error {
		if err != nil {
			return err
		}
		return show(s.cmd, raw, columns)
	}
}
