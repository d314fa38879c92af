package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/webhook"
)

const (
	verifySecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	otherSecret  = "whsec_dGhlIG90aGVyIHNlY3JldCBrZXkgYnl0ZXM="
	verifyID     = "msg_2mYWvW4ZKJ8c1Yk3Xc0a9TfEqGh"
	verifyBody   = `{"type":"invoice.paid","data":{"id":"in_1"}}`
)

// verifyNow is the clock of the verify tests.
var verifyNow = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// signedHeaders returns the three Standard Webhooks headers, as a map of
// lower-case names, for body sent at ts and signed by the webhook package.
func signedHeaders(t *testing.T, ts time.Time, body string) map[string]string {
	t.Helper()
	sig, err := webhook.Sign(verifySecret, verifyID, ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		webhook.HeaderID:        verifyID,
		webhook.HeaderTimestamp: strconv.FormatInt(ts.Unix(), 10),
		webhook.HeaderSignature: sig,
	}
}

// curlDump writes headers as `curl -D` does: a status line, CRLF line ends,
// other headers around them, names in the case given by name.
func curlDump(h map[string]string, name func(string) string) string {
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
	for _, k := range []string{webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature} {
		if v, ok := h[k]; ok {
			b.WriteString(name(k) + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// runVerify runs `hookd verify args...` with stdin, on the test clock, and
// returns what it printed and its exit code.
func runVerify(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	cmd := newVerifyCmd(func() time.Time { return verifyNow })
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	if err != nil {
		var e *exitError
		if !errors.As(err, &e) || !e.silent {
			out.WriteString("error: " + err.Error() + "\n")
		}
		return out.String(), exitCode(err)
	}
	return out.String(), 0
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyHeaderAndBodyFiles(t *testing.T) {
	lower := strings.ToLower
	fresh := verifyNow.Add(-30 * time.Second)
	tests := []struct {
		name     string
		secrets  []string
		ts       time.Time
		body     string // the body on file; the signed one is verifyBody
		edit     func(map[string]string)
		caseName func(string) string
		extra    []string
		wantCode int
		want     string
	}{
		{name: "valid", wantCode: 0,
			want: "valid: msg_id " + verifyID + " timestamp " + strconv.FormatInt(fresh.Unix(), 10) + " (2026-12-02T11:59:30Z)"},
		{name: "valid, header names in another case", caseName: strings.ToUpper, wantCode: 0, want: "valid: msg_id " + verifyID},
		{name: "valid with the second of two secrets", secrets: []string{otherSecret, verifySecret}, wantCode: 0, want: "valid:"},
		{name: "wrong secret", secrets: []string{otherSecret}, wantCode: 1, want: "invalid: no matching signature"},
		{name: "tampered body", body: strings.Replace(verifyBody, "in_1", "in_2", 1), wantCode: 1, want: "invalid: no matching signature"},
		{name: "body with a trailing newline", body: verifyBody + "\n", wantCode: 1, want: "invalid: no matching signature"},
		{name: "old timestamp", ts: verifyNow.Add(-time.Hour), wantCode: 1,
			want: "invalid: timestamp out of tolerance: " + strconv.FormatInt(verifyNow.Add(-time.Hour).Unix(), 10) +
				" (2026-12-02T11:00:00Z) is 1h0m0s old, 55m0s beyond the 5m0s tolerance"},
		{name: "future timestamp", ts: verifyNow.Add(10 * time.Minute), wantCode: 1,
			want: "is 10m0s in the future, 5m0s beyond the 5m0s tolerance"},
		{name: "old timestamp within a longer --tolerance", ts: verifyNow.Add(-time.Hour), extra: []string{"--tolerance", "2h"}, wantCode: 0, want: "valid:"},
		{name: "missing webhook-id", edit: func(h map[string]string) { delete(h, webhook.HeaderID) }, wantCode: 1,
			want: "invalid: missing required headers: webhook-id\n"},
		{name: "missing webhook-timestamp", edit: func(h map[string]string) { delete(h, webhook.HeaderTimestamp) }, wantCode: 1,
			want: "invalid: missing required headers: webhook-timestamp\n"},
		{name: "missing webhook-signature", edit: func(h map[string]string) { delete(h, webhook.HeaderSignature) }, wantCode: 1,
			want: "invalid: missing required headers: webhook-signature\n"},
		{name: "unparseable timestamp", edit: func(h map[string]string) { h[webhook.HeaderTimestamp] = "yesterday" }, wantCode: 1,
			want: `invalid: webhook-timestamp "yesterday" is not a time in Unix seconds`},
		{name: "bad secret is a usage error", secrets: []string{"whsec_!!!"}, wantCode: 2, want: "invalid secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := tt.ts
			if ts.IsZero() {
				ts = fresh
			}
			h := signedHeaders(t, ts, verifyBody)
			if tt.edit != nil {
				tt.edit(h)
			}
			caseName := tt.caseName
			if caseName == nil {
				caseName = lower
			}
			body := tt.body
			if body == "" {
				body = verifyBody
			}
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{verifySecret}
			}
			args := []string{"--headers", writeFile(t, "headers.txt", curlDump(h, caseName)), "--body", writeFile(t, "body.json", body)}
			for _, s := range secrets {
				args = append(args, "--secret", s)
			}
			out, code := runVerify(t, "", append(args, tt.extra...)...)
			if code != tt.wantCode || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, printed %q; want exit %d and %q", code, out, tt.wantCode, tt.want)
			}
		})
	}
}

func TestVerifyHeaderLines(t *testing.T) {
	// Two responses (a redirect followed): the last block's headers count.
	// LF line ends, no final blank line, odd spacing.
	h := signedHeaders(t, verifyNow, verifyBody)
	dump := "HTTP/1.1 301 Moved Permanently\nWebhook-Id: msg_stale\nLocation: /x\n\n" +
		"HTTP/2 200\nwebhook-id:" + h[webhook.HeaderID] + "\nWEBHOOK-TIMESTAMP:   " + h[webhook.HeaderTimestamp] +
		"\nwebhook-signature: v1,bm90IHRoZSBvbmU= " + h[webhook.HeaderSignature]
	out, code := runVerify(t, verifyBody, "--secret", verifySecret, "--headers", writeFile(t, "h", dump), "--body", "-")
	if code != 0 || !strings.HasPrefix(out, "valid: msg_id "+verifyID) {
		t.Errorf("exit %d, printed %q; want valid", code, out)
	}

	out, code = runVerify(t, "", "--secret", verifySecret, "--headers", writeFile(t, "h", "HTTP/1.1 200 OK\r\nnot a header\r\n"), "--body", writeFile(t, "b", "x"))
	if code != 2 || !strings.Contains(out, `line 2: want a `+"`Name: value`"+` header line, got "not a header"`) {
		t.Errorf("exit %d, printed %q; want a usage error naming line 2", code, out)
	}
}

func TestVerifyRawRequestOnStdin(t *testing.T) {
	h := signedHeaders(t, verifyNow, verifyBody)
	request := func(body string, contentLength bool) string {
		var b strings.Builder
		b.WriteString("POST /webhooks HTTP/1.1\r\nHost: localhost:3000\r\nContent-Type: application/json\r\n")
		if contentLength {
			b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
		}
		for k, v := range h {
			b.WriteString(k + ": " + v + "\r\n")
		}
		b.WriteString("\r\n" + body)
		return b.String()
	}
	tests := []struct {
		name     string
		stdin    string
		wantCode int
		want     string
	}{
		{name: "valid", stdin: request(verifyBody, true), wantCode: 0, want: "valid: msg_id " + verifyID},
		{name: "valid without Content-Length", stdin: request(verifyBody, false), wantCode: 0, want: "valid: msg_id " + verifyID},
		{name: "tampered", stdin: request(strings.Replace(verifyBody, "paid", "void", 1), true), wantCode: 1, want: "invalid: no matching signature"},
		{name: "not a request", stdin: "hello\r\n\r\n", wantCode: 2, want: "reading a raw HTTP request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runVerify(t, tt.stdin, "--secret", verifySecret)
			if code != tt.wantCode || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, printed %q; want exit %d and %q", code, out, tt.wantCode, tt.want)
			}
		})
	}
}

func TestVerifyUsageErrors(t *testing.T) {
	body := writeFile(t, "b", verifyBody)
	for _, args := range [][]string{
		{"--headers", body, "--body", body},            // no --secret
		{"--secret", verifySecret, "--body", body},     // --body without --headers
		{"--secret", verifySecret, "--headers", body},  // --headers without --body
		{"--secret", verifySecret, "--tolerance", "x"}, // bad flag value
		{"--secret", verifySecret, "extra"},            // an argument
		{"--secret", verifySecret, "--headers", filepath.Join(t.TempDir(), "none"), "--body", body},
	} {
		if out, code := runVerify(t, "", args...); code != 2 {
			t.Errorf("verify %q: exit %d (%q), want 2", args, code, out)
		}
	}
}

// TestVerifyExitCodesOfTheBinary runs the built binary, so main's mapping
// of errors to exit codes and what it prints are covered too.
func TestVerifyExitCodesOfTheBinary(t *testing.T) {
	h := signedHeaders(t, time.Now(), verifyBody)
	var req strings.Builder
	req.WriteString("POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(verifyBody)) + "\r\n")
	for k, v := range h {
		req.WriteString(k + ": " + v + "\r\n")
	}
	req.WriteString("\r\n" + verifyBody)
	for _, tt := range []struct {
		secret   string
		wantCode int
		want     string
	}{
		{verifySecret, 0, "valid: msg_id " + verifyID},
		{otherSecret, 1, "invalid: no matching signature"},
		{"", 2, "hookd: verify: at least one --secret is needed"},
	} {
		args := []string{"verify"}
		if tt.secret != "" {
			args = append(args, "--secret", tt.secret)
		}
		cmd := exec.Command(binary, args...)
		cmd.Stdin = strings.NewReader(req.String())
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.wantCode || !strings.Contains(string(out), tt.want) || strings.Count(string(out), "\n") != 1 {
			t.Errorf("hookd %q: exit %d, printed %q; want exit %d and one line with %q", args, code, out, tt.wantCode, tt.want)
		}
	}
}
