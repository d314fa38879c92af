// Command reflow-receiver is the webhook endpoint a Reflow store owner runs
// to capture order payments, as in Reflow's "Capturing an Order Payment"
// guide, with hookd delivering Reflow-shaped events (an app created with
// "profile":"reflow").
//
//	go run ./examples/reflow-receiver -addr 127.0.0.1:9000 -secret whsec_...
//
// It verifies every request's Standard Webhooks signature (401 otherwise),
// decodes Reflow's event object, drops events it has already handled (a
// webhook may arrive more than once), and follows each order:
//
//	order.created                          -> awaiting_payment
//	order.updated, payment_status "paid"   -> fulfilling (ship it)
//	order.updated, payment_status "failed" -> contact_customer
//	order.updated, any other status        -> the order's data is refreshed
//
// Other event types are acknowledged and ignored. Orders live in memory:
// GET /orders lists them with their states, GET /stats counts requests.
// A real store keeps both in its database.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hookd/hookd/webhook"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	secret := flag.String("secret", os.Getenv("RECEIVER_SECRET"), "the endpoint's signing secret (whsec_...), or RECEIVER_SECRET")
	flag.Parse()
	if *secret == "" {
		log.Fatal("reflow-receiver: -secret (or RECEIVER_SECRET) is required")
	}
	rcv, err := NewReceiver(*secret, log.Default())
	if err != nil {
		log.Fatal("reflow-receiver: ", err)
	}

	srv := &http.Server{Addr: *addr, Handler: rcv, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("reflow-receiver listening: POST http://%s/webhooks, GET /orders, GET /stats", *addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal("reflow-receiver: ", err)
	}
}

// Order states.
const (
	// StateAwaitingPayment: the order was placed, its payment is pending.
	StateAwaitingPayment = "awaiting_payment"
	// StateFulfilling: the payment is confirmed; the order ships.
	StateFulfilling = "fulfilling"
	// StateContactCustomer: the payment failed; someone calls the customer.
	StateContactCustomer = "contact_customer"
)

// Event is Reflow's webhook event object.
type Event struct {
	ID         string `json:"id"`     // evt_...: the same on every retry
	Object     string `json:"object"` // always "event"
	APIVersion string `json:"api-version"`
	Created    int64  `json:"created"` // Unix seconds
	Data       struct {
		// Object is the resource the event is about, after the change.
		Object json.RawMessage `json:"object"`
		// PreviousAttributes holds the changed fields' old values
		// (*.updated events only).
		PreviousAttributes json.RawMessage `json:"previous_attributes,omitempty"`
	} `json:"data"`
	Livemode  bool   `json:"livemode"`
	RequestID string `json:"request_id"`
	Type      string `json:"type"`
}

// Order is what the store keeps of one order.
type Order struct {
	ID            string `json:"id"`
	State         string `json:"state"`
	PaymentStatus string `json:"payment_status"`
	// LastEvent is the id of the last event applied to the order, and
	// LastEventCreated its created time.
	LastEvent        string `json:"last_event"`
	LastEventCreated int64  `json:"last_event_created"`
	// Data is the order object as the last applied event sent it.
	Data json.RawMessage `json:"data"`
}

// Stats counts the webhook requests a Receiver has answered.
type Stats struct {
	Verified   int `json:"verified"`   // correctly signed
	Rejected   int `json:"rejected"`   // bad or missing signature: 401
	Malformed  int `json:"malformed"`  // signed, but not an event this receiver understands: 400
	Duplicates int `json:"duplicates"` // an event already handled: acknowledged, nothing done
	Ignored    int `json:"ignored"`    // an event type this receiver does not handle
	Applied    int `json:"applied"`    // order events handled (the first delivery of each)
}

// Receiver is the webhook endpoint and its order store. It serves
// POST /webhooks, GET /orders and GET /stats. It is safe for concurrent use.
type Receiver struct {
	verifier *webhook.Verifier
	log      *log.Logger
	mux      *http.ServeMux

	mu     sync.Mutex
	seen   map[string]bool // ids of the events handled
	orders map[string]*Order
	stats  Stats
}

// NewReceiver returns a Receiver that accepts requests signed with secret
// and logs what it does to logger.
func NewReceiver(secret string, logger *log.Logger) (*Receiver, error) {
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		return nil, err
	}
	r := &Receiver{verifier: v, log: logger, seen: map[string]bool{}, orders: map[string]*Order{}}
	r.mux = http.NewServeMux()
	r.mux.HandleFunc("POST /webhooks", r.webhook)
	r.mux.HandleFunc("GET /orders", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"orders": r.Orders()})
	})
	r.mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, r.Stats())
	})
	return r, nil
}

// ServeHTTP implements http.Handler.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.mux.ServeHTTP(w, req) }

// Orders returns a copy of the orders, by id.
func (r *Receiver) Orders() []Order {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Order, 0, len(r.orders))
	for _, o := range r.orders {
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b Order) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Stats returns the request counts so far.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

func (r *Receiver) count(n *int) {
	r.mu.Lock()
	*n++
	r.mu.Unlock()
}

// webhook handles one delivery.
func (r *Receiver) webhook(w http.ResponseWriter, req *http.Request) {
	// Verify needs the raw body, byte for byte: read it before decoding.
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusRequestEntityTooLarge)
		return
	}
	if err := r.verifier.Verify(req.Header, body); err != nil {
		r.count(&r.stats.Rejected)
		r.log.Printf("rejected %q from %s: %v", req.Header.Get(webhook.HeaderID), req.RemoteAddr, err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	r.count(&r.stats.Verified)

	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.Object != "event" || ev.ID == "" || ev.Type == "" {
		r.count(&r.stats.Malformed)
		r.log.Printf("malformed %q: not a Reflow event object (err %v): %.200s", req.Header.Get(webhook.HeaderID), err, body)
		http.Error(w, "not a Reflow event object", http.StatusBadRequest)
		return
	}
	if err := r.handle(&ev); err != nil {
		r.count(&r.stats.Malformed)
		r.log.Printf("malformed %s %s: %v", ev.Type, ev.ID, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Return a HTTP 200 response when we're done.
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
}

// handle applies one verified event, once.
func (r *Receiver) handle(ev *Event) error {
	var order struct {
		ID            string `json:"id"`
		PaymentStatus string `json:"payment_status"`
	}
	isOrder := ev.Type == "order.created" || ev.Type == "order.updated"
	if isOrder {
		if err := json.Unmarshal(ev.Data.Object, &order); err != nil || order.ID == "" {
			return errors.New("data.object is not an order with an id")
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[ev.ID] {
		// At-least-once delivery: a retry of an event already handled.
		r.stats.Duplicates++
		r.log.Printf("duplicate %s %s: already handled", ev.Type, ev.ID)
		return nil
	}
	r.seen[ev.ID] = true
	if !isOrder {
		r.stats.Ignored++
		r.log.Printf("ignored %s %s", ev.Type, ev.ID)
		return nil
	}
	r.stats.Applied++

	o, known := r.orders[order.ID]
	switch {
	case ev.Type == "order.created" && known:
		// Events can arrive in any order: an update got here first and
		// already holds the newer state and data.
		r.log.Printf("order %s created (%s): already known as %s, kept", order.ID, ev.ID, o.State)
		return nil
	case ev.Type == "order.updated" && known && ev.Created < o.LastEventCreated:
		// An older update than the one applied: nothing new in it.
		r.log.Printf("order %s updated (%s): older than %s, kept as %s", order.ID, ev.ID, o.LastEvent, o.State)
		return nil
	case !known:
		// A new order, or an update for an order whose order.created has
		// not arrived yet: the update carries the whole order.
		o = &Order{ID: order.ID, State: StateAwaitingPayment}
		r.orders[order.ID] = o
	}
	o.PaymentStatus = order.PaymentStatus
	o.LastEvent, o.LastEventCreated = ev.ID, ev.Created
	o.Data = ev.Data.Object
	if ev.Type == "order.updated" {
		switch order.PaymentStatus {
		case "paid":
			// The order payment has been completed: proceed with fulfillment.
			o.State = StateFulfilling
		case "failed":
			// Payment failed: contact the customer to assist them.
			o.State = StateContactCustomer
		}
	}
	r.log.Printf("order %s %s (%s): payment %s -> %s", order.ID, ev.Type[len("order."):], ev.ID, o.PaymentStatus, o.State)
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
