package listen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/hookd/hookd/internal/hook"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// URL is hookd's base URL (http://localhost:8080); APIKey a key that
	// reaches App (an admin key, or the app's own).
	URL    string
	APIKey string
	// App is the app's id or uid.
	App string
	// Events are the event types to receive (names or patterns); none
	// receives every type.
	Events []string
	// ForwardTo is the local URL each delivery is POSTed to.
	ForwardTo string
	// Out receives the start banner and one line per delivery.
	Out io.Writer
	// HTTPClient forwards deliveries (default: a client with a 30 s
	// timeout that follows no redirects).
	HTTPClient *http.Client
	// MaxBackoff bounds the wait between reconnections (default 10 s).
	MaxBackoff time.Duration
	// DialTimeout bounds each WebSocket handshake with hookd (default
	// 15 s).
	DialTimeout time.Duration
}

// Client is the CLI side of `hookd listen`.
type Client struct {
	cfg  ClientConfig
	http *http.Client

	mu       sync.Mutex
	endpoint string // the endpoint to resume after a lost connection
	secret   string
}

// NewClient checks cfg and builds a Client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.URL == "" || cfg.APIKey == "" || cfg.App == "" || cfg.ForwardTo == "" {
		return nil, errors.New("listen: URL, APIKey, App and ForwardTo are required")
	}
	if u, err := url.Parse(cfg.ForwardTo); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--forward-to %q: want an http:// or https:// URL", cfg.ForwardTo)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 15 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	return &Client{cfg: cfg, http: hc}, nil
}

// FatalError is an error reconnecting cannot fix: the server refused the
// stream (a key that is not valid, an unknown app, a bad pattern, ...;
// Status is the HTTP status), or ended it for good (the endpoint was
// deleted; Status 0).
type FatalError struct {
	Status int
	Detail string
	// Body is the refusal's body (a problem+json document), when Status
	// is not 0.
	Body []byte
}

func (e *FatalError) Error() string {
	if e.Status == 0 {
		return "hookd ended the stream: " + e.Detail
	}
	return fmt.Sprintf("hookd refused the stream (HTTP %d): %s", e.Status, e.Detail)
}

// Run holds the stream until ctx is done, reconnecting (and resuming the
// endpoint) with backoff after a lost connection. When ctx is done it
// closes the stream cleanly, which deletes the endpoint, and returns nil.
// It returns a *FatalError when the server refuses the stream. The first
// opening of the stream is not retried: when it fails (hookd cannot be
// reached, or answers with an error), Run returns that error.
func (c *Client) Run(ctx context.Context) error {
	backoff := 500 * time.Millisecond
	everConnected := false
	for {
		connected, err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		everConnected = everConnected || connected
		if !everConnected {
			return err
		}
		var fe *FatalError
		if errors.As(err, &fe) {
			if fe.Status == http.StatusNotFound && c.resuming() {
				// The endpoint was removed meanwhile (the grace ran
				// out): start afresh, with a new endpoint and secret.
				fmt.Fprintf(c.cfg.Out, "%s  the endpoint was removed while disconnected; opening a new one\n", stamp())
				c.forget()
				continue
			}
			return err
		}
		if connected {
			backoff = 500 * time.Millisecond
		}
		fmt.Fprintf(c.cfg.Out, "%s  connection lost (%v); reconnecting in %s\n", stamp(), err, backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, c.cfg.MaxBackoff)
	}
}

func (c *Client) resuming() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endpoint != ""
}

func (c *Client) forget() {
	c.mu.Lock()
	c.endpoint, c.secret = "", ""
	c.mu.Unlock()
}

// streamURL is the listen route's URL, resuming the endpoint if any.
func (c *Client) streamURL() (string, http.Header) {
	q := url.Values{}
	if len(c.cfg.Events) > 0 {
		q.Set("events", strings.Join(c.cfg.Events, ","))
	}
	q.Set("forward_to", c.cfg.ForwardTo)
	h := http.Header{}
	h.Set("Authorization", "Bearer "+c.cfg.APIKey)
	c.mu.Lock()
	if c.endpoint != "" {
		q.Set("resume", c.endpoint)
		h.Set(ResumeSecretHeader, c.secret)
	}
	c.mu.Unlock()
	return strings.TrimRight(c.cfg.URL, "/") + "/v1/apps/" + url.PathEscape(c.cfg.App) + "/listen?" + q.Encode(), h
}

// session runs one connection. connected reports that the stream was
// established (the backoff starts over).
func (c *Client) session(ctx context.Context) (connected bool, err error) {
	u, h := c.streamURL()
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	conn, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPHeader: h})
	cancel()
	if err != nil {
		if resp != nil && resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			body := readBody(resp)
			return false, &FatalError{Status: resp.StatusCode, Detail: problemDetail(body), Body: body}
		}
		return false, err
	}
	conn.SetReadLimit(MaxDeliveryBytes)
	defer conn.CloseNow()

	_, b, err := conn.Read(ctx)
	if err != nil {
		return false, err
	}
	var hello Message
	if err := json.Unmarshal(b, &hello); err != nil || hello.Type != TypeHello {
		return false, errors.New("the server's first message is not a hello")
	}
	c.mu.Lock()
	c.endpoint, c.secret = hello.EndpointID, hello.Secret
	c.mu.Unlock()
	if hello.Resumed {
		fmt.Fprintf(c.cfg.Out, "%s  reconnected; endpoint %s resumed\n", stamp(), hello.EndpointID)
	} else {
		types := "every event type"
		if len(hello.EventTypes) > 0 {
			types = strings.Join(hello.EventTypes, ", ")
		}
		fmt.Fprintf(c.cfg.Out, "Listening on app %s (%s), forwarding to %s\n", hello.AppID, types, c.cfg.ForwardTo)
		fmt.Fprintf(c.cfg.Out, "Endpoint:       %s (kind listen; removed when this command exits)\n", hello.EndpointID)
		fmt.Fprintf(c.cfg.Out, "Signing secret: %s (deliveries are signed with it: verify them locally)\n", hello.Secret)
		fmt.Fprintf(c.cfg.Out, "Press Ctrl-C to stop.\n\n")
	}

	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // after stop: forwards in flight are cut
	defer stop()
	go func() {
		// Liveness: a server that stops answering pings is gone.
		t := time.NewTicker(PingInterval)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
			pctx, cancel := context.WithTimeout(sctx, PingInterval)
			err := conn.Ping(pctx)
			cancel()
			if err != nil && sctx.Err() == nil {
				_ = conn.CloseNow()
				return
			}
		}
	}()
	// Ctrl-C closes the stream cleanly, which deletes the endpoint at
	// once. (A read cancelled by its context would drop the connection
	// instead: reads use a context that is never cancelled.)
	closed := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = conn.Close(websocket.StatusNormalClosure, "hookd listen stopped")
		case <-closed:
		}
	}()
	defer close(closed)
	for {
		_, b, err := conn.Read(context.WithoutCancel(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return true, nil
			}
			if websocket.CloseStatus(err) == StatusEndpointDeleted {
				return true, &FatalError{Detail: "the endpoint " + hello.EndpointID + " was deleted"}
			}
			return true, err
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil || m.Type != TypeDelivery {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := c.forward(sctx, &m)
			out, _ := json.Marshal(a)
			if err := conn.Write(sctx, websocket.MessageText, out); err != nil && sctx.Err() == nil {
				_ = conn.CloseNow()
			}
		}()
	}
}

// forward POSTs one delivery to the local URL, prints its line, and
// returns the answer for the server.
func (c *Client) forward(ctx context.Context, m *Message) *Message {
	a := &Message{Type: TypeAnswer, RequestID: m.RequestID}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.ForwardTo, strings.NewReader(m.Body))
	if err == nil {
		for k, v := range m.Headers {
			req.Header.Set(k, v)
		}
		var resp *http.Response
		resp, err = c.http.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBody))
			_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
			resp.Body.Close()
			a.Status, a.Body = resp.StatusCode, string(bytes.ToValidUTF8(body, []byte("\uFFFD")))
		}
	}
	elapsed := time.Since(start)
	a.DurationMS = elapsed.Milliseconds()
	status := fmt.Sprint(a.Status)
	if err != nil {
		a.ErrorKind, a.Error = errorKind(err), err.Error()
		status = "ERR " + a.ErrorKind
	}
	attempt := ""
	if m.Attempt > 1 {
		attempt = fmt.Sprintf("  (attempt %d)", m.Attempt)
	}
	fmt.Fprintf(c.cfg.Out, "%s  %-22s %-30s -> %s  %dms%s\n", stamp(), m.EventType, m.EventID, status, a.DurationMS, attempt)
	if err != nil {
		fmt.Fprintf(c.cfg.Out, "    %v\n", err)
	}
	return a
}

// errorKind names what kept a local request from an answer.
func errorKind(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return hook.ErrorKindRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return hook.ErrorKindTimeout
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return hook.ErrorKindDNS
	}
	return hook.ErrorKindNetwork
}

// readBody reads (the first 64 KiB of) the body of a refused handshake.
func readBody(resp *http.Response) []byte {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return b
}

// problemDetail is the problem+json detail of a refused handshake's body.
func problemDetail(b []byte) string {
	var p struct {
		Detail string `json:"detail"`
		Errors []struct {
			Location string `json:"location"`
			Message  string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(b, &p) != nil || p.Detail == "" {
		return strings.TrimSpace(string(b))
	}
	d := p.Detail
	for _, e := range p.Errors {
		if e.Location != "" && !strings.Contains(d, e.Location) {
			d += "; " + e.Location + ": " + e.Message
		}
	}
	return d
}

func stamp() string { return time.Now().Format("15:04:05") }
