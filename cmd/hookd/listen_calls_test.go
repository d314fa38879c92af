package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// call makes a raw API request and decodes the answer into out.
func (p *hookdProc) call(method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+e2eKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, nil
}

// mustCall makes a raw API request that must answer want.
func (p *hookdProc) mustCall(method, path string, body any, want int, out any) {
	p.t.Helper()
	code, err := p.call(method, path, body, out)
	if err != nil || code != want {
		p.t.Fatalf("%s %s: status %d, err %v; want %d", method, path, code, err, want)
	}
}
