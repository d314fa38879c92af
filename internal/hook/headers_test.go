package hook

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestValidateHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		h     map[string]string
		field string // "" accepted
	}{
		{"credentials", map[string]string{"Authorization": "Bearer abc.def", "X-Api-Key": "k"}, ""},
		{"tab and spaces inside", map[string]string{"X-A": "a\tb  c"}, ""},
		{"empty value", map[string]string{"X-A": ""}, ""},
		{"every token character", map[string]string{"X-!#$%&'*+.^_`|~-9": "v"}, ""},
		{"visible ASCII", map[string]string{"X-A": `!"#$%&'()*+,-./:;<=>?@[\]^_{|}~`}, ""},

		{"Upgrade", map[string]string{"Upgrade": "websocket"}, "headers.Upgrade"},
		{"upgrade lower case", map[string]string{"upgrade": "h2c"}, "headers.upgrade"},
		{"TE", map[string]string{"TE": "trailers"}, "headers.TE"},
		{"te mixed case", map[string]string{"tE": "trailers"}, "headers.tE"},
		{"Keep-Alive", map[string]string{"Keep-Alive": "timeout=5"}, "headers.Keep-Alive"},
		{"Expect", map[string]string{"Expect": "100-continue"}, "headers.Expect"},
		{"Proxy-Authorization", map[string]string{"Proxy-Authorization": "Basic eA=="}, "headers.Proxy-Authorization"},
		{"Proxy-Authenticate", map[string]string{"Proxy-Authenticate": "Basic"}, "headers.Proxy-Authenticate"},
		{"Proxy-Connection", map[string]string{"Proxy-Connection": "keep-alive"}, "headers.Proxy-Connection"},
		{"Trailer", map[string]string{"Trailer": "X-Checksum"}, "headers.Trailer"},
		{"Content-Encoding", map[string]string{"Content-Encoding": "gzip"}, "headers.Content-Encoding"},
		{"HTTP2-Settings", map[string]string{"HTTP2-Settings": "AAMAAABkAAQAAP__"}, "headers.HTTP2-Settings"},
		{"Connection", map[string]string{"Connection": "close"}, "headers.Connection"},
		{"Transfer-Encoding", map[string]string{"Transfer-Encoding": "chunked"}, "headers.Transfer-Encoding"},
		{"Content-Length", map[string]string{"Content-Length": "0"}, "headers.Content-Length"},
		{"Host", map[string]string{"Host": "internal"}, "headers.Host"},
		{"Content-Type", map[string]string{"Content-Type": "text/plain"}, "headers.Content-Type"},
		{"webhook-signature", map[string]string{"Webhook-Signature": "v1,x"}, "headers.Webhook-Signature"},

		{"space in name", map[string]string{"X A": "v"}, "headers.X A"},
		{"colon in name", map[string]string{"X:A": "v"}, "headers.X:A"},
		{"pseudo-header", map[string]string{":authority": "v"}, "headers.:authority"},
		{"empty name", map[string]string{"": "v"}, "headers."},
		{"non-ASCII name", map[string]string{"X-Ä": "v"}, "headers.X-Ä"},
		{"name too long", map[string]string{strings.Repeat("x", 257): "v"}, "headers." + strings.Repeat("x", 257)},
		{"same name in two cases", map[string]string{"X-Token": "a", "x-token": "b"}, "headers.x-token"},

		{"CR", map[string]string{"X-A": "a\rb"}, "headers.X-A"},
		{"LF", map[string]string{"X-A": "a\nInjected: 1"}, "headers.X-A"},
		{"CRLF", map[string]string{"X-A": "a\r\nInjected: 1"}, "headers.X-A"},
		{"NUL", map[string]string{"X-A": "a\x00b"}, "headers.X-A"},
		{"other control", map[string]string{"X-A": "a\x1bb"}, "headers.X-A"},
		{"DEL", map[string]string{"X-A": "a\x7fb"}, "headers.X-A"},
		{"non-ASCII value", map[string]string{"X-A": "café"}, "headers.X-A"},
		{"obs-text byte", map[string]string{"X-A": "a\xffb"}, "headers.X-A"},
		{"leading tab", map[string]string{"X-A": "\tv"}, "headers.X-A"},
		{"trailing space", map[string]string{"X-A": "v "}, "headers.X-A"},
		{"value too long", map[string]string{"X-A": strings.Repeat("v", 4097)}, "headers.X-A"},
		{"first in name order", map[string]string{"Upgrade": "x", "Expect": "y", "X-Ok": "z"}, "headers.Expect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateHeaders("headers", tc.h)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var he *Error
			if !errors.As(err, &he) || he.Code != EInvalid || he.Field != tc.field {
				t.Fatalf("got %v, want an %s error on %q", err, EInvalid, tc.field)
			}
			for _, v := range tc.h {
				if len(v) > 1 && strings.Contains(he.Message, v) {
					t.Fatalf("the message %q repeats the value", he.Message)
				}
			}
		})
	}
}

func TestValidateSignatureSchemeRefusesHopByHopHeader(t *testing.T) {
	t.Parallel()
	s := &SignatureScheme{Scheme: SchemeHMAC, Header: "Upgrade", Encoding: SignatureHex, Payload: SignBody, Key: KeySecretBytes}
	var he *Error
	if err := ValidateSignatureScheme("signature", s); !errors.As(err, &he) || he.Field != "signature.header" {
		t.Fatalf("got %v, want an error on signature.header", err)
	}
}

func TestMaskHeaders(t *testing.T) {
	t.Parallel()
	h := map[string]string{"Authorization": "Bearer x", "X-Empty": ""}
	got := MaskHeaders(h)
	if want := map[string]string{"Authorization": HeaderValueMask, "X-Empty": HeaderValueMask}; !maps.Equal(got, want) {
		t.Fatalf("MaskHeaders: %v, want %v", got, want)
	}
	if h["Authorization"] != "Bearer x" {
		t.Fatal("MaskHeaders changed its input")
	}
	if got := MaskHeaders(nil); got == nil || len(got) != 0 {
		t.Fatalf("MaskHeaders(nil) = %#v, want an empty map", got)
	}
}

func TestUnmaskHeaders(t *testing.T) {
	t.Parallel()
	current := map[string]string{"Authorization": "Bearer old", "X-Key": "k1"}
	tests := []struct {
		name    string
		current map[string]string
		next    map[string]string
		want    map[string]string
		field   string // the error's, if any
	}{
		{"sent back as read", current, map[string]string{"Authorization": HeaderValueMask, "X-Key": HeaderValueMask}, current, ""},
		{"one changed", current, map[string]string{"Authorization": "Bearer new", "X-Key": HeaderValueMask},
			map[string]string{"Authorization": "Bearer new", "X-Key": "k1"}, ""},
		{"one dropped", current, map[string]string{"X-Key": HeaderValueMask}, map[string]string{"X-Key": "k1"}, ""},
		{"name in another case", current, map[string]string{"x-key": HeaderValueMask}, map[string]string{"x-key": "k1"}, ""},
		{"no mask", current, map[string]string{"X-New": "v"}, map[string]string{"X-New": "v"}, ""},
		{"mask for a new header", current, map[string]string{"X-Key": HeaderValueMask, "X-New": HeaderValueMask}, nil, "headers.X-New"},
		{"mask on a new endpoint", nil, map[string]string{"Authorization": HeaderValueMask}, nil, "headers.Authorization"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			next := maps.Clone(tc.next)
			got, err := UnmaskHeaders("headers", tc.current, next)
			if !maps.Equal(next, tc.next) {
				t.Fatalf("UnmaskHeaders changed next: %v", next)
			}
			if tc.field != "" {
				var he *Error
				if !errors.As(err, &he) || he.Code != EInvalid || he.Field != tc.field {
					t.Fatalf("got %v, want an %s error on %q", err, EInvalid, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
