package store

import (
	"slices"
	"sync"
)

// LeaseSet is, per owner, the ids of the deliveries a store leased to that
// owner (issue 18): with it, a backend renews and releases "all of an
// owner's leases" by id, through the deliveries' unique id index, instead
// of keeping an index on the lease owner that every delivery enters when
// leased and leaves when done.
//
// A backend keeps it a superset of the leases its process holds in the
// database: it adds ids once the transaction that leased them has
// committed, and removes them once a committed transaction ended the
// leases or found them no longer held (ran out and claimed by another
// owner, retried by hand, deleted). An id left over costs one lookup by
// id: every statement that uses the set also checks the lease owner, and
// a renewal drops the ids it did not find. Leases granted by another
// process (or an earlier one) are not in the set; they run out.
//
// With several transactions in flight at once, a removal may be decided
// from a statement that ran before a concurrent claim leased the same id
// again and added it. So every Add is stamped, in order, and Remove
// forgets only the ids added no later than the stamp the caller took
// before its transaction began: an id added since then is a newer lease
// and stays.
//
// The zero value is an empty set. It is safe for concurrent use.
type LeaseSet struct {
	mu     sync.Mutex
	last   LeaseStamp
	owners map[string]map[string]LeaseStamp
}

// LeaseStamp orders a LeaseSet's additions: each Add gets a greater one.
type LeaseStamp uint64

// Stamp returns the stamp of the latest Add: a Remove with it forgets
// nothing added after this call.
func (l *LeaseSet) Stamp() LeaseStamp {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Add records that owner holds leases on ids (again, if it held them
// before), under a new stamp.
func (l *LeaseSet) Add(owner string, ids []string) {
	if len(ids) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last++
	if l.owners == nil {
		l.owners = map[string]map[string]LeaseStamp{}
	}
	m := l.owners[owner]
	if m == nil {
		m = make(map[string]LeaseStamp, len(ids))
		l.owners[owner] = m
	}
	for _, id := range ids {
		m[id] = l.last
	}
}

// Remove forgets owner's leases on those of ids added at or before at (a
// Stamp taken before the transaction that ended them began).
func (l *LeaseSet) Remove(owner string, ids []string, at LeaseStamp) {
	if len(ids) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.owners[owner]
	if m == nil {
		return
	}
	for _, id := range ids {
		if st, ok := m[id]; ok && st <= at {
			delete(m, id)
		}
	}
	if len(m) == 0 {
		delete(l.owners, owner)
	}
}

// RemoveAll forgets every owner's leases added at or before at.
func (l *LeaseSet) RemoveAll(at LeaseStamp) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for owner, m := range l.owners {
		for id, st := range m {
			if st <= at {
				delete(m, id)
			}
		}
		if len(m) == 0 {
			delete(l.owners, owner)
		}
	}
}

// IDs returns the ids of owner's leases, sorted, and the stamp to remove
// them with.
func (l *LeaseSet) IDs(owner string) ([]string, LeaseStamp) {
	l.mu.Lock()
	m := l.owners[owner]
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	at := l.last
	l.mu.Unlock()
	slices.Sort(out)
	return out, at
}

// Len returns how many leases of owner the set holds.
func (l *LeaseSet) Len(owner string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.owners[owner])
}

// Owners returns how many owners the set holds leases of.
func (l *LeaseSet) Owners() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.owners)
}
