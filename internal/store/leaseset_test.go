package store

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestLeaseSet(t *testing.T) {
	var l LeaseSet // the zero value is usable
	if ids, _ := l.IDs("A"); len(ids) != 0 || l.Len("A") != 0 || l.Owners() != 0 {
		t.Fatalf("empty set: %v, %d, %d", ids, l.Len("A"), l.Owners())
	}
	l.Remove("A", []string{"x"}, l.Stamp()) // nothing to remove: no panic
	l.Add("A", nil)                         // nothing added: no new stamp
	if l.Stamp() != 0 {
		t.Fatalf("stamp after adding nothing: %d", l.Stamp())
	}

	l.Add("A", []string{"c", "a"})
	l.Add("B", []string{"b"})
	l.Add("A", []string{"b"}) // another owner's id, as far as the set cares
	ids, st := l.IDs("A")
	if !slices.Equal(ids, []string{"a", "b", "c"}) || st != l.Stamp() || st != 3 {
		t.Fatalf("A's ids %v at %d, want [a b c] at 3", ids, st)
	}
	if ids, _ := l.IDs("B"); !slices.Equal(ids, []string{"b"}) {
		t.Fatalf("B's ids %v", ids)
	}

	// Remove touches only the owner's, and only those it names.
	l.Remove("A", []string{"a", "zz"}, st)
	if ids, _ := l.IDs("A"); !slices.Equal(ids, []string{"b", "c"}) {
		t.Fatalf("A's ids after removing a: %v", ids)
	}
	if l.Len("B") != 1 {
		t.Fatal("B's lease removed with A's")
	}

	// An id added (again) after the stamp a removal took stays: it is a
	// newer lease than the one that removal ended.
	before := l.Stamp()
	l.Add("A", []string{"c", "d"})
	l.Remove("A", []string{"b", "c", "d"}, before)
	if ids, _ := l.IDs("A"); !slices.Equal(ids, []string{"c", "d"}) {
		t.Fatalf("A's ids after a removal older than their lease: %v, want [c d]", ids)
	}
	l.Remove("A", []string{"c", "d"}, l.Stamp())
	if l.Len("A") != 0 || l.Owners() != 1 {
		t.Fatalf("after removing all of A's: %d left, %d owners", l.Len("A"), l.Owners())
	}

	// RemoveAll, with the same rule.
	l.Add("A", []string{"a"})
	at := l.Stamp()
	l.Add("C", []string{"c"})
	l.RemoveAll(at)
	if l.Len("A") != 0 || l.Len("B") != 0 || l.Len("C") != 1 || l.Owners() != 1 {
		t.Fatalf("after RemoveAll: A %d, B %d, C %d, owners %d; want 0, 0, 1, 1", l.Len("A"), l.Len("B"), l.Len("C"), l.Owners())
	}
	l.RemoveAll(l.Stamp())
	if l.Owners() != 0 {
		t.Fatalf("owners after RemoveAll: %d", l.Owners())
	}
}

// TestLeaseSetConcurrent: adds and removes from many goroutines (run with
// -race) leave exactly what was not removed.
func TestLeaseSetConcurrent(t *testing.T) {
	var l LeaseSet
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			owner := fmt.Sprint("owner", g%2)
			for i := range 200 {
				id := fmt.Sprint(g, "-", i)
				l.Add(owner, []string{id})
				if i%2 == 0 {
					l.Remove(owner, []string{id}, l.Stamp())
				}
				l.IDs(owner)
			}
		})
	}
	wg.Wait()
	if l.Len("owner0") != 400 || l.Len("owner1") != 400 {
		t.Fatalf("left: %d and %d, want 400 each", l.Len("owner0"), l.Len("owner1"))
	}
}
