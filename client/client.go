package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultUserAgent is the User-Agent of a Client's requests unless
// [WithUserAgent] says otherwise.
const DefaultUserAgent = "hookd-go-client"

// Client calls one hookd deployment's /v1 API with one API key.
//
// Its methods take a context, send the key as a bearer token, retry
// idempotent calls answered 429 or 503 (see [RetryPolicy]), and return any
// answer other than 2xx as an [*Error]. Apps are addressed by id (app_...)
// or by their uid, wherever a method takes an app.
//
// Every operation is also available, as generated, on [Client.Raw].
// A Client is safe for concurrent use.
type Client struct {
	base  string
	key   string
	ua    string
	http  *http.Client
	retry RetryPolicy
	raw   *RawClientWithResponses
}

// Option configures a Client made by [New].
type Option func(*Client) error

// WithHTTPClient makes the Client send its requests with hc (its
// transport, timeout, TLS settings) instead of a new http.Client.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("client: WithHTTPClient(nil)")
		}
		c.http = hc
		return nil
	}
}

// WithUserAgent sets the User-Agent header of the Client's requests
// (default [DefaultUserAgent]).
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.ua = ua
		return nil
	}
}

// WithRetryPolicy replaces the Client's retry policy
// ([DefaultRetryPolicy]). RetryPolicy{} never retries.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.MaxRetries < 0 || p.MaxWait < 0 || p.Backoff < 0 {
			return fmt.Errorf("client: negative retry policy %+v", p)
		}
		c.retry = p
		return nil
	}
}

// New returns a Client of the hookd at baseURL (e.g.
// https://hooks.example.com, where /v1/... is served), calling it with
// apiKey. An empty apiKey sends no Authorization header (only /healthz and
// /readyz answer such requests).
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q: want http(s)://host[:port][/path]", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: base URL %q has a query or fragment", baseURL)
	}
	c := &Client{
		base:  strings.TrimSuffix(u.String(), "/"),
		key:   apiKey,
		ua:    DefaultUserAgent,
		http:  &http.Client{},
		retry: DefaultRetryPolicy,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	c.raw, err = NewRawClientWithResponses(c.base, WithRawHTTPDoer(doerFunc(c.do)))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return c, nil
}

// Raw returns the generated client for this Client: every operation of
// hookd's OpenAPI document, with typed parameters, bodies and answers
// (XxxWithResponse methods), sending the Client's key and user agent and
// retrying as it does. Its answers are not turned into errors: see
// [ResponseError].
func (c *Client) Raw() *RawClientWithResponses { return c.raw }

// BaseURL returns the base URL the Client was made with, without a trailing
// slash.
func (c *Client) BaseURL() string { return c.base }

// doerFunc makes a function an HttpRequestDoer.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// do sends r with the Client's key and user agent, retrying it under the
// retry policy when it may be.
func (c *Client) do(r *http.Request) (*http.Response, error) {
	if c.key != "" {
		r.Header.Set("Authorization", "Bearer "+c.key)
	}
	if c.ua != "" {
		r.Header.Set("User-Agent", c.ua)
	}
	return c.retry.send(r, c.http)
}

// sleepContext waits d, or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
