package memory

import "iter"

// jobIndex maps job IDs to entries. Canonical lowercase UUIDs (what the
// client generates) are keyed by their 128 bits: the key sits inline in the
// map slot, so a lookup hashes 16 bytes and never chases a string pointer,
// which matters when JobFinish looks up 1000 IDs in a large store. Other IDs
// use a string map.
type jobIndex struct {
	uuids map[[2]uint64]*entry
	other map[string]*entry
}

func newJobIndex() jobIndex {
	return jobIndex{uuids: make(map[[2]uint64]*entry), other: make(map[string]*entry)}
}

// get returns the entry with id, or nil.
func (x *jobIndex) get(id string) *entry { return x.getKey(id, newIDKey(id)) }

// getKey is get for an ID already parsed into k.
func (x *jobIndex) getKey(id string, k idKey) *entry {
	if !k.slow {
		return x.uuids[[2]uint64{k.hi, k.lo}]
	}
	return x.other[id]
}

// put adds e under its ID (e.idKey must be set).
func (x *jobIndex) put(e *entry) {
	if e.idKey.slow {
		x.other[e.ID] = e
		return
	}
	x.uuids[[2]uint64{e.idKey.hi, e.idKey.lo}] = e
}

// del removes e.
func (x *jobIndex) del(e *entry) {
	if e.idKey.slow {
		delete(x.other, e.ID)
		return
	}
	delete(x.uuids, [2]uint64{e.idKey.hi, e.idKey.lo})
}

// all yields every entry; the loop body may delete the yielded entry.
func (x *jobIndex) all() iter.Seq[*entry] {
	return func(yield func(*entry) bool) {
		for _, e := range x.uuids {
			if !yield(e) {
				return
			}
		}
		for _, e := range x.other {
			if !yield(e) {
				return
			}
		}
	}
}

// runList is the intrusive doubly linked list of running entries (through
// entry.runPrev/runNext): O(1) add and remove without hashing, and the
// rescuer walks only running jobs.
type runList struct {
	head *entry
	n    int
}

func (l *runList) add(e *entry) {
	e.runPrev, e.runNext = nil, l.head
	if l.head != nil {
		l.head.runPrev = e
	}
	l.head = e
	l.n++
}

func (l *runList) remove(e *entry) {
	if e.runPrev != nil {
		e.runPrev.runNext = e.runNext
	} else {
		l.head = e.runNext
	}
	if e.runNext != nil {
		e.runNext.runPrev = e.runPrev
	}
	e.runPrev, e.runNext = nil, nil
	l.n--
}
