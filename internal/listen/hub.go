package listen

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/jonboulle/clockwork"

	"github.com/hookd/hookd/internal/dispatch"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// Dispatcher is what the hub tells the dispatcher.
type Dispatcher interface {
	// Wake makes it look for due work: a stream attached, so the
	// deliveries of its endpoint are claimable here now.
	Wake()
	// EndpointDeleted makes it forget an endpoint the hub deleted.
	EndpointDeleted(endpointID string)
}

// Config configures a Hub. Zero values take the defaults noted.
type Config struct {
	Store  store.Store
	Clock  clockwork.Clock // default: the real clock
	Logger *slog.Logger
	// Heartbeat is how often the endpoints held here are marked alive
	// and stale ones reaped (default DefaultHeartbeat).
	Heartbeat time.Duration
	// Grace is how long a listen endpoint not marked alive is kept
	// (default DefaultGrace). It must exceed Heartbeat.
	Grace time.Duration
}

// Hub holds this node's `hookd listen` streams. It implements
// dispatch.Relay. Create it with NewHub, bind the dispatcher with Bind,
// run its heartbeat with Run, and end its streams with Close.
type Hub struct {
	cfg   Config
	st    store.Store
	clock clockwork.Clock
	log   *slog.Logger

	mu      sync.Mutex
	disp    Dispatcher
	streams map[string]*stream // by endpoint id
	closed  bool
}

var _ dispatch.Relay = (*Hub)(nil)

// NewHub builds a Hub.
func NewHub(cfg Config) (*Hub, error) {
	if cfg.Store == nil {
		return nil, errors.New("listen: Config.Store is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Grace <= cfg.Heartbeat {
		return nil, errors.New("listen: Config.Grace must exceed Config.Heartbeat")
	}
	return &Hub{cfg: cfg, st: cfg.Store, clock: cfg.Clock, log: cfg.Logger.With("component", "listen"),
		streams: map[string]*stream{}}, nil
}

// Bind sets the dispatcher the hub wakes and tells of deleted endpoints.
func (h *Hub) Bind(d Dispatcher) {
	h.mu.Lock()
	h.disp = d
	h.mu.Unlock()
}

func (h *Hub) dispatcher() Dispatcher {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.disp
}

// stream is one CLI's connection.
type stream struct {
	ep   *hook.Endpoint
	conn *websocket.Conn
	done chan struct{} // closed when the stream ends

	mu      sync.Mutex
	pending map[string]chan *Message // by request id
}

// Attached lists the listen endpoints whose streams this node holds.
func (h *Hub) Attached() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]string, 0, len(h.streams))
	for id := range h.streams {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Holds reports whether this node holds the endpoint's stream.
func (h *Hub) Holds(endpointID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.streams[endpointID]
	return ok
}

// Relay sends one delivery down its endpoint's stream and waits for the
// CLI's answer, until ctx is done or the stream ends.
func (h *Hub) Relay(ctx context.Context, req *dispatch.RelayRequest) (*dispatch.RelayAnswer, error) {
	h.mu.Lock()
	s := h.streams[req.EndpointID]
	h.mu.Unlock()
	if s == nil {
		return nil, dispatch.ErrNotAttached
	}
	reqID := hook.NewID("req")
	ch := make(chan *Message, 1)
	s.mu.Lock()
	s.pending[reqID] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, reqID)
		s.mu.Unlock()
	}()
	hdr := make(map[string]string, len(req.Header))
	for k, v := range req.Header {
		if len(v) > 0 {
			hdr[k] = v[0]
		}
	}
	msg, err := json.Marshal(&Message{
		Type: TypeDelivery, RequestID: reqID, DeliveryID: req.DeliveryID, EventID: req.EventID,
		EventType: req.EventType, Attempt: req.Attempt, Headers: hdr, Body: string(req.Body),
	})
	if err != nil {
		return nil, err
	}
	if err := s.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return nil, errors.New("sending down the hookd listen stream: " + err.Error())
	}
	select {
	case a := <-ch:
		body := a.Body
		if len(body) > MaxAnswerBody {
			body = body[:MaxAnswerBody]
		}
		return &dispatch.RelayAnswer{Status: a.Status, Body: []byte(body), ErrorKind: a.ErrorKind, Error: a.Error}, nil
	case <-s.done:
		return nil, errors.New("the hookd listen stream ended before the answer")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Serve runs one stream for ep, a listen endpoint the caller created (or
// resumed: resumed set) for the request, until it ends. It upgrades the
// request to a WebSocket; if that fails, a new endpoint is deleted. When
// the client closes the stream cleanly the endpoint is deleted at once;
// otherwise it is left to the reaper, after the grace period, unless the
// client resumes it meanwhile.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, ep *hook.Endpoint, resumed bool) {
	// The server's read and write timeouts do not cut the stream:
	// net/http clears a hijacked connection's deadlines (a test checks).
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		h.log.Warn("hookd listen: WebSocket upgrade failed", "endpoint", ep.ID, "err", err)
		if !resumed {
			h.deleteEndpoint(ep)
		}
		return
	}
	conn.SetReadLimit(MaxAnswerBytes)
	s := &stream{ep: ep, conn: conn, done: make(chan struct{}), pending: map[string]chan *Message{}}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = conn.Close(websocket.StatusGoingAway, "hookd is stopping")
		return
	}
	old := h.streams[ep.ID]
	h.streams[ep.ID] = s
	disp := h.disp
	h.mu.Unlock()
	if old != nil {
		// A reconnection that resumed the endpoint while this node
		// still held its old stream (a half-open connection).
		_ = old.conn.Close(websocket.StatusPolicyViolation, "replaced by a newer stream")
	}
	h.log.Info("hookd listen: stream attached", "endpoint", ep.ID, "app", ep.AppID, "resumed", resumed)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hello, _ := json.Marshal(&Message{Type: TypeHello, EndpointID: ep.ID, AppID: ep.AppID, Secret: ep.Secret,
		EventTypes: ep.EventTypes, Resumed: resumed})
	helloErr := conn.Write(ctx, websocket.MessageText, hello)
	if disp != nil {
		disp.Wake() // its deliveries are claimable here now
	}

	pingDone := make(chan struct{})
	go func() {
		defer close(pingDone)
		h.ping(ctx, conn)
	}()
	readErr := helloErr
	if readErr == nil {
		readErr = h.read(ctx, s)
	}
	cancel()
	<-pingDone
	close(s.done)

	h.mu.Lock()
	if h.streams[ep.ID] == s {
		delete(h.streams, ep.ID)
	}
	replaced := h.streams[ep.ID] != nil
	h.mu.Unlock()
	_ = conn.CloseNow()

	if websocket.CloseStatus(readErr) == websocket.StatusNormalClosure && !replaced {
		h.log.Info("hookd listen: stream closed; endpoint deleted", "endpoint", ep.ID)
		h.deleteEndpoint(ep)
		return
	}
	h.log.Info("hookd listen: stream lost; endpoint kept for the grace period", "endpoint", ep.ID,
		"grace", h.cfg.Grace, "err", readErr)
}

// read reads the client's answers until the stream ends, and returns why.
func (h *Hub) read(ctx context.Context, s *stream) error {
	for {
		typ, b, err := s.conn.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			continue
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil || m.Type != TypeAnswer {
			continue // not an answer: ignored, as unknown messages are
		}
		s.mu.Lock()
		ch := s.pending[m.RequestID]
		delete(s.pending, m.RequestID)
		s.mu.Unlock()
		if ch != nil {
			ch <- &m
		}
	}
}

// ping checks the client's liveness every PingInterval; a ping not
// answered within the interval ends the stream.
func (h *Hub) ping(ctx context.Context, conn *websocket.Conn) {
	t := time.NewTicker(PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, PingInterval)
		err := conn.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				_ = conn.CloseNow()
			}
			return
		}
	}
}

// deleteEndpoint deletes a listen endpoint now (its stream closed).
func (h *Hub) deleteEndpoint(ep *hook.Endpoint) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := h.st.DeleteEndpoint(ctx, ep.AppID, ep.ID)
	if err != nil && hook.ErrorCode(err) != hook.ENotFound {
		// The reaper deletes it after the grace period.
		h.log.Error("hookd listen: deleting the endpoint", "endpoint", ep.ID, "err", err)
		return
	}
	if d := h.dispatcher(); d != nil {
		d.EndpointDeleted(ep.ID)
	}
}

// Run marks the endpoints held here alive and reaps stale ones every
// Heartbeat, until ctx is done.
func (h *Hub) Run(ctx context.Context) {
	t := h.clock.NewTicker(h.cfg.Heartbeat)
	defer t.Stop()
	for {
		h.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
	}
}

// Tick is one heartbeat: it marks the listen endpoints whose streams this
// node holds as seen now, then deletes every listen endpoint (any node's)
// not seen for the grace period: its stream was lost and its CLI did not
// come back, or its node died.
func (h *Hub) Tick(ctx context.Context) {
	now := h.clock.Now()
	if ids := h.Attached(); len(ids) > 0 {
		n, err := h.st.TouchListenEndpoints(ctx, &store.TouchListenEndpointsParams{IDs: ids, Now: now})
		if err != nil {
			if ctx.Err() == nil {
				h.log.Error("hookd listen: heartbeat", "err", err)
			}
			return // reaping now could reap our own
		}
		if n < len(ids) {
			h.endDeleted(ctx, ids)
		}
	}
	gone, err := h.st.DeleteStaleListenEndpoints(ctx, &store.DeleteStaleListenEndpointsParams{Before: now.Add(-h.cfg.Grace)})
	if err != nil {
		if ctx.Err() == nil {
			h.log.Error("hookd listen: reaping stale endpoints", "err", err)
		}
		return
	}
	d := h.dispatcher()
	for _, ep := range gone {
		h.log.Info("hookd listen: stale endpoint removed", "endpoint", ep.ID, "app", ep.AppID)
		if d != nil {
			d.EndpointDeleted(ep.ID)
		}
		h.mu.Lock()
		s := h.streams[ep.ID]
		h.mu.Unlock()
		if s != nil {
			go func() { _ = s.conn.Close(StatusEndpointDeleted, "the endpoint was removed") }()
		}
	}
}

// StatusEndpointDeleted is the close status of a stream whose endpoint was
// deleted (through the API, or with its app): the CLI stops, as resuming
// is not possible.
const StatusEndpointDeleted websocket.StatusCode = 4404

// endDeleted closes the streams, among ids, whose endpoints no longer
// exist.
func (h *Hub) endDeleted(ctx context.Context, ids []string) {
	for _, id := range ids {
		h.mu.Lock()
		s := h.streams[id]
		h.mu.Unlock()
		if s == nil {
			continue
		}
		if _, err := h.st.GetEndpoint(ctx, s.ep.AppID, id); hook.ErrorCode(err) == hook.ENotFound {
			h.log.Info("hookd listen: the endpoint was deleted; its stream ends", "endpoint", id)
			go func() { _ = s.conn.Close(StatusEndpointDeleted, "the endpoint was deleted") }()
		}
	}
}

// Close ends every stream this node holds with "going away", keeping their
// endpoints for the grace period so their CLIs can reconnect (to another
// node). Streams that attach afterwards are refused.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	streams := make([]*stream, 0, len(h.streams))
	for _, s := range h.streams {
		streams = append(streams, s)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Go(func() { _ = s.conn.Close(websocket.StatusGoingAway, "hookd is stopping") })
	}
	wg.Wait()
}
