package envelope

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/hook"
)

// checkInvalid checks that err is a *hook.Error of code EInvalid for field
// whose message mentions want.
func checkInvalid(t *testing.T, err error, field, want string) {
	t.Helper()
	var he *hook.Error
	if !errors.As(err, &he) {
		t.Fatalf("err = %v (%T), want a *hook.Error", err, err)
	}
	if he.Code != hook.EInvalid || he.Field != field {
		t.Errorf("code/field = %q/%q, want %q/%q (%v)", he.Code, he.Field, hook.EInvalid, field, err)
	}
	if !strings.Contains(he.Message, want) {
		t.Errorf("message %q does not mention %q", he.Message, want)
	}
}

func TestValidateProfile(t *testing.T) {
	t.Parallel()
	for _, name := range append([]string{""}, hook.Profiles...) {
		if err := ValidateProfile("profile", name); err != nil {
			t.Errorf("ValidateProfile(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"stripe", "Reflow", " hookd", "hookd "} {
		checkInvalid(t, ValidateProfile("endpoint.profile", name), "endpoint.profile", "must be one of hookd, reflow, opentiendas, flo, flexprice")
	}
}

func TestValidateEnvelope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, wantErr string // wantErr "" when valid
	}{
		{"empty inherits", "", ""},
		{"identity", ".", ""},
		{"restructure", `{event: .type, order: .data, tenant: .app.uid}`, ""},
		{"a scalar is one JSON value", `.data.total`, ""},
		{"null is one JSON value", `null`, ""},
		{"one of several alternatives", `first(.data.nope, .data.total)`, ""},
		{"at the size limit", ". " + strings.Repeat(" ", MaxEnvelopeBytes-2), ""},
		{"over the size limit", ". " + strings.Repeat(" ", MaxEnvelopeBytes-1), "at most 16384 bytes"},
		{"syntax error", `{a: .type`, "does not compile: jq: unexpected EOF"},
		{"bad token", `.a | )`, `unexpected token ")"`},
		{"unknown function", `nosuch(1)`, "nosuch/1"},
		{"undefined variable", `$nope`, "$nope"},
		{"input is refused", `input`, "input"},
		{"no value", `empty`, "no value"},
		{"two values", `1, 2`, "several"},
		{"values of an object", `.data[]`, "several"},
		// Errors that depend on the data are not refused: the sample
		// is not the provider's data.
		{"runtime error", `error("x")`, ""},
		{"type error on the sample", `.data.total | ascii_downcase`, ""},
		{"endless", `def f: f; f`, "longer than"},
		{"long", `last(range(1e12))`, "longer than"},
		{"halt is no value", `halt`, "no value"},
		{"a value then halt is one value", `1, halt`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := NewRenderer(Options{}).ValidateEnvelope(context.Background(), "app_01", "envelope", tt.src)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateEnvelope = %v", err)
				}
				return
			}
			checkInvalid(t, err, "envelope", tt.wantErr)
		})
	}
}

func TestValidateFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, wantErr string
	}{
		{"empty is no filter", "", ""},
		{"comparison", `.type == "order.updated" and .data.payment_status == "paid"`, ""},
		{"missing fields are null", `.data.nope.deeper == 1`, ""},
		{"no output is not an error", `empty`, ""},
		{"several outputs are not an error", `true, false`, ""},
		{"over the size limit", strings.Repeat(" ", MaxFilterBytes) + ".", "at most 4096 bytes"},
		{"syntax error", `.type ==`, "does not compile"},
		{"unknown function", `nosuch`, "nosuch/0"},
		{"runtime error", `error("nope")`, ""},
		{"type error on the sample", `.data.total | test("a")`, ""},
		{"endless", `def f: f; f`, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := NewRenderer(Options{}).ValidateFilter(context.Background(), "app_01", "filter", tt.src)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateFilter = %v", err)
				}
				return
			}
			checkInvalid(t, err, "filter", tt.wantErr)
		})
	}
}

func TestNewEventID(t *testing.T) {
	t.Parallel()
	ulid := regexp.MustCompile(`^evt_[0-9a-z]{26}$`)
	tests := []struct {
		profile string
		re      *regexp.Regexp
	}{
		{hook.ProfileReflow, regexp.MustCompile(`^evt_[0-9a-f]{40}$`)},
		{hook.ProfileOpenTiendas, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)},
		{hook.ProfileHookd, ulid},
		{hook.ProfileFlo, ulid},
		{hook.ProfileFlexprice, ulid},
		{"", ulid},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			t.Parallel()
			seen := map[string]bool{}
			for range 500 {
				id := NewEventID(tt.profile)
				if !tt.re.MatchString(id) {
					t.Fatalf("NewEventID(%q) = %q, want %s", tt.profile, id, tt.re)
				}
				if err := hook.ValidateEventID("id", id); err != nil {
					t.Fatalf("NewEventID(%q) = %q, not a valid event id: %v", tt.profile, id, err)
				}
				if seen[id] {
					t.Fatalf("NewEventID(%q) repeated %q", tt.profile, id)
				}
				seen[id] = true
			}
		})
	}
}
