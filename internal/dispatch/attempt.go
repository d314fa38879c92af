package dispatch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/webhook"
)

// newHTTPClient builds the client deliveries go out with: the SSRF-guarded
// dialer, no redirects followed, no proxy, bounded timeouts.
func newHTTPClient(allowPrivate bool, timeout time.Duration, perHost int) *http.Client {
	dialer := netguard.NewDialer(allowPrivate, min(timeout, 10*time.Second))
	tr := &http.Transport{
		Proxy:                  nil, // a proxy would dial for us and bypass the guard
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           4096,
		MaxIdleConnsPerHost:    perHost,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    min(timeout, 10*time.Second),
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// signerSet caches the endpoint's signers and the secrets they were built from.
type signerSet struct {
	secrets []string
	signers []*webhook.Signer
}

// attempt makes one HTTP attempt for j and records it.
func (d *Dispatcher) attempt(q *endpointQueue, ep *hook.Endpoint, app *hook.App, j *store.Job) {
	defer d.attempts.Done()
	// A test event goes to the endpoint it was sent to whatever its
	// filter says: the filter is not evaluated.
	if ep.Filter != "" && !j.FilterChecked && j.AttemptCount == 0 && !j.Manual && !j.Event.Test && !d.checkFilter(q, ep, app, j) {
		return
	}
	start := d.clock.Now()

	var outcome hook.Outcome
	var respBody []byte
	var errMsg string
	realStart := time.Now()
	// A jq envelope waits for a sandbox worker at most the sandbox's
	// MaxWait; a profile is Go code and does not wait.
	body, err := d.render.Render(d.attemptCtx, envelope.Resolve(app, ep), &envelope.Context{
		Event: j.Event, App: app, EndpointID: ep.ID, EndpointUID: ep.UID, DeliveryID: j.DeliveryID,
		Attempt: j.AttemptCount + 1,
	})
	var sig []header
	var se *envelope.SandboxError
	if errors.As(err, &se) && d.attemptCtx.Err() == nil {
		// The sandbox had no worker for the envelope: not an attempt.
		d.log.Warn("envelope could not be rendered now; the delivery waits", "endpoint", ep.ID, "delivery", j.DeliveryID, "err", err)
		d.putOff(q, j)
		return
	}
	if err != nil {
		// A broken envelope is recorded on the attempt and retried on
		// the schedule, so fixing the program lets the delivery through.
		outcome, errMsg = hook.Outcome{ErrorKind: hook.ErrorKindInternal}, "envelope: "+strings.TrimPrefix(err.Error(), "envelope: ")
	} else if sig, err = d.signatureHeaders(q, ep, app, j.Event.ID, start, body); err != nil {
		outcome, errMsg = hook.Outcome{ErrorKind: hook.ErrorKindInternal}, "signing: "+err.Error()
	} else {
		outcome, respBody, errMsg = d.send(ep, j, body, sig, start)
	}
	elapsed := time.Since(realStart)

	manual := j.Manual
	scheduled := j.ScheduledAttempts
	trigger := hook.TriggerScheduled
	if manual {
		trigger = hook.TriggerManual
	} else {
		scheduled++
	}
	now := d.clock.Now()
	decision := d.cfg.Schedule.Decide(outcome, max(scheduled, 1), manual, now, d.cfg.Jitter)
	att := &hook.Attempt{
		ID:             hook.NewID("att"),
		DeliveryID:     j.DeliveryID,
		Number:         j.AttemptCount + 1,
		Trigger:        trigger,
		StartedAt:      start,
		Duration:       elapsed,
		DurationMillis: elapsed.Milliseconds(),
		ResponseStatus: outcome.StatusCode,
		ResponseBody:   string(respBody),
		ErrorKind:      outcome.ErrorKind,
		Error:          errMsg,
	}
	d.metrics.observe(outcome, elapsed)
	// An attempt cut short because hookd is stopping is not the
	// receiver's failure: it is not recorded, and its lease is released.
	cut := outcome.ErrorKind != "" && d.attemptCtx.Err() != nil
	d.mu.Lock()
	disable := d.noteHealthLocked(q, outcome, cut)
	d.sentLocked(q)
	d.mu.Unlock()

	if !cut {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = d.st.RecordAttempt(ctx, &store.RecordAttemptParams{
			Owner:             d.owner,
			Attempt:           att,
			ScheduledAttempts: scheduled,
			Decision:          decision,
			EndpointID:        j.EndpointID,
			Now:               now,
		})
		cancel()
		if err != nil {
			// The lease runs out and the delivery is attempted again:
			// at least once, never lost.
			d.log.Error("recording attempt", "delivery", j.DeliveryID, "err", err)
		}
	}

	d.mu.Lock()
	reclaimed := d.releaseReclaimedLocked(j)
	if decision.DisableEndpoint && q.ep != nil && !q.ep.Disabled {
		disabled := *q.ep
		disabled.Disabled = true
		q.ep = &disabled
		d.log.Warn("endpoint answered 410 Gone and was disabled", "endpoint", j.EndpointID)
	}
	d.finishLocked(q, j)
	var released []string
	if q.ep != nil && q.ep.Disabled {
		released = d.takeQueuedLocked(q)
	}
	d.mu.Unlock()
	d.release(released)
	if reclaimed {
		d.Wake() // a reclaimed delivery given back is due now
	}
	d.emitAttemptOps(ep, j, att, outcome, decision)
	if disable && !decision.DisableEndpoint {
		d.disableFailing(q, ep)
	}
	if decision.Status == hook.DeliveryPending {
		d.noteDue(decision.NextAttemptAt)
	} else if ep.Ordering == hook.OrderingFIFO {
		d.Wake() // the next of a FIFO endpoint can go now
	}
}

// header is one header of a request.
type header struct{ name, value string }

// signatureHeaders returns the headers that sign body: Standard Webhooks'
// webhook-signature, or the app's own scheme's headers.
func (d *Dispatcher) signatureHeaders(q *endpointQueue, ep *hook.Endpoint, app *hook.App, id string, now time.Time, body []byte) ([]header, error) {
	if app == nil || app.Signature == nil || app.Signature.Scheme != hook.SchemeHMAC {
		signers, err := d.signersFor(q, ep, now)
		if err != nil {
			return nil, err
		}
		return []header{{webhook.HeaderSignature, webhook.SignatureHeader(signers, id, now, body)}}, nil
	}
	s := app.Signature
	v, err := providerSignature(s, ep.SigningSecrets(now), id, now.Unix(), body)
	if err != nil {
		return nil, err
	}
	hs := []header{{s.Header, v}}
	if s.TimestampHeader != "" {
		hs = append(hs, header{s.TimestampHeader, strconv.FormatInt(now.Unix(), 10)})
	}
	if s.IDHeader != "" {
		hs = append(hs, header{s.IDHeader, id})
	}
	return hs, nil
}

// signersFor returns the signers for the endpoint's current secrets.
func (d *Dispatcher) signersFor(q *endpointQueue, ep *hook.Endpoint, now time.Time) ([]*webhook.Signer, error) {
	secrets := ep.SigningSecrets(now)
	d.mu.Lock()
	set := q.signers
	d.mu.Unlock()
	if set != nil && equalStrings(set.secrets, secrets) {
		return set.signers, nil
	}
	set = &signerSet{secrets: secrets}
	for _, s := range secrets {
		sg, err := webhook.NewSigner(s)
		if err != nil {
			return nil, err
		}
		set.signers = append(set.signers, sg)
	}
	d.mu.Lock()
	if q.ep == ep {
		q.signers = set
	}
	d.mu.Unlock()
	return set.signers, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// send POSTs one signed delivery and classifies what happened. A listen
// endpoint's delivery goes down its stream instead (see relay).
func (d *Dispatcher) send(ep *hook.Endpoint, j *store.Job, body []byte, sig []header, now time.Time) (hook.Outcome, []byte, string) {
	if ep.IsListen() {
		return d.relay(ep, j, body, sig, now)
	}
	ctx, cancel := context.WithTimeout(d.attemptCtx, d.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return hook.Outcome{ErrorKind: hook.ErrorKindInternal}, nil, err.Error()
	}
	req.Header = d.requestHeader(ep, j, sig, now)

	resp, err := d.client.Do(req)
	if err != nil {
		kind := classify(err)
		return hook.Outcome{ErrorKind: kind}, nil, err.Error()
	}
	defer resp.Body.Close()
	// A body cut off by the timeout does not undo a status that arrived
	// in time, so a read error is not an outcome of its own.
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, hook.MaxResponseBodyBytes))
	// Drain a little more so the connection can be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	out := hook.Outcome{StatusCode: resp.StatusCode}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		out.ErrorKind = hook.ErrorKindStatus
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			out.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		}
		return out, respBody, "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return out, respBody, ""
}

// parseRetryAfter reads a Retry-After value: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return min(time.Duration(n)*time.Second, hook.MaxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, hook.MaxRetryAfter)
		}
	}
	return 0
}

// classify names the kind of a transport error.
func classify(err error) string {
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) {
		return hook.ErrorKindBlocked
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTimeout {
			return hook.ErrorKindTimeout
		}
		return hook.ErrorKindDNS
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return hook.ErrorKindTimeout
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return hook.ErrorKindTimeout
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return hook.ErrorKindRefused
	}
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidErr x509.CertificateInvalidError
	var alertErr tls.AlertError
	if errors.As(err, &certErr) || errors.As(err, &recErr) || errors.As(err, &unknownAuth) ||
		errors.As(err, &hostErr) || errors.As(err, &invalidErr) || errors.As(err, &alertErr) ||
		strings.Contains(err.Error(), "tls: ") {
		return hook.ErrorKindTLS
	}
	return hook.ErrorKindNetwork
}
