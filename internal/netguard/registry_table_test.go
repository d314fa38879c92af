package netguard

import (
	"fmt"
	"testing"
)

// TestTableMatchesSpec holds the guard's table to registrySpec, the
// registries as the tests transcribe them: the same blocks, each with the
// same verdict, no block twice, and a name and source for each.
func TestTableMatchesSpec(t *testing.T) {
	t.Parallel()
	describe := func(v verdict, v4At int) string {
		switch v {
		case allow:
			return "allowed"
		case embedded:
			return fmt.Sprintf("judged by the IPv4 address at byte %d", v4At)
		}
		return "refused"
	}
	spec := make(map[string]string, len(registrySpec))
	for _, r := range registrySpec {
		want := describe(refuse, 0)
		switch {
		case r.v4At != 0:
			want = describe(embedded, r.v4At)
		case r.global:
			want = describe(allow, 0)
		}
		if _, dup := spec[r.prefix.String()]; dup {
			t.Errorf("registrySpec lists %s twice", r.prefix)
		}
		spec[r.prefix.String()] = want
	}
	seen := make(map[string]bool, len(specialPurpose))
	for _, r := range specialPurpose {
		key := r.prefix.String()
		if seen[key] {
			t.Errorf("the table lists %s twice", key)
		}
		seen[key] = true
		if r.prefix != r.prefix.Masked() {
			t.Errorf("%s has host bits set", r.prefix)
		}
		if r.name == "" || r.source == "" {
			t.Errorf("%s has no name or source", r.prefix)
		}
		if r.verdict == embedded && (r.v4At < 1 || r.v4At > 12) {
			t.Errorf("%s carries its IPv4 address at byte %d, outside the address", r.prefix, r.v4At)
		}
		want, ok := spec[key]
		switch got := describe(r.verdict, r.v4At); {
		case !ok:
			t.Errorf("the table has %s (%s), which registrySpec does not", key, r.name)
		case got != want:
			t.Errorf("%s (%s) is %s, registrySpec says %s", key, r.name, got, want)
		}
	}
	for key := range spec {
		if !seen[key] {
			t.Errorf("registrySpec has %s, which the table does not", key)
		}
	}
}
