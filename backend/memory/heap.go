package memory

import "time"

// item is one heap slot. It carries copies of the sort keys so that sifting
// compares contiguous memory and never touches the (cold, large) entry: on a
// 100k-job backlog that is most of a claim's cost.
type item struct {
	prio int
	sec  int64 // run_at as Unix seconds and nanoseconds: valid for any year
	nsec int32
	// gen matches e.gen while this item is the entry's live slot; a stale
	// item (job cancelled, deleted, or moved) is skipped when it surfaces.
	gen uint32
	id  idKey
	e   *entry
}

// idKey orders IDs without comparing strings: a lowercase canonical UUID
// (what the client generates) is parsed once at enqueue into 128 bits whose
// numeric order is the string order. Other IDs (slow) compare as strings.
type idKey struct {
	hi, lo uint64
	slow   bool
}

// newIDKey parses id when it is a lowercase canonical UUID.
func newIDKey(id string) idKey {
	if len(id) != 36 {
		return idKey{slow: true}
	}
	var words [2]uint64
	n := 0 // hex digits consumed
	for i := 0; i < 36; i++ {
		c := id[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return idKey{slow: true}
			}
			continue
		}
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		default:
			return idKey{slow: true}
		}
		words[n/16] = words[n/16]<<4 | uint64(v)
		n++
	}
	return idKey{hi: words[0], lo: words[1]}
}

// idLess orders two items by ID.
func idLess(a, b *item) bool {
	if !a.id.slow && !b.id.slow {
		if a.id.hi != b.id.hi {
			return a.id.hi < b.id.hi
		}
		return a.id.lo < b.id.lo
	}
	return a.e.ID < b.e.ID
}

// timeLess orders two items by run_at.
func timeLess(a, b *item) (less, equal bool) {
	if a.sec != b.sec {
		return a.sec < b.sec, false
	}
	if a.nsec != b.nsec {
		return a.nsec < b.nsec, false
	}
	return false, true
}

// readyLess orders claimable jobs: priority desc, run_at asc, id asc.
func readyLess(a, b *item) bool {
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	if less, equal := timeLess(a, b); !equal {
		return less
	}
	return idLess(a, b)
}

// waitingLess orders scheduled and retrying jobs by run_at, then id.
func waitingLess(a, b *item) bool {
	if less, equal := timeLess(a, b); !equal {
		return less
	}
	return idLess(a, b)
}

// jobHeap is a binary min-heap of items under less, with lazy deletion:
// drop marks an entry's item stale in O(1) and pops skip stale items. When
// stale items outnumber live ones the heap is compacted, so memory and sift
// depth stay proportional to the live jobs.
type jobHeap struct {
	items []item
	stale int
	less  func(a, b *item) bool
}

// compactMin is the heap size below which stale items are left to pops.
const compactMin = 1024

// live returns the number of live items.
func (h *jobHeap) live() int { return len(h.items) - h.stale }

// push adds e, keyed by its current priority, run_at and ID.
func (h *jobHeap) push(e *entry) {
	e.gen++
	h.items = append(h.items, item{
		prio: e.Priority,
		sec:  e.RunAt.Unix(),
		nsec: int32(e.RunAt.Nanosecond()),
		gen:  e.gen,
		id:   e.idKey,
		e:    e,
	})
	h.up(len(h.items) - 1)
}

// drop logically removes e, which must have a live item in h.
func (h *jobHeap) drop(e *entry) {
	e.gen++
	h.stale++
	if h.stale > compactMin && h.stale > len(h.items)/2 {
		h.compact()
	}
}

// popLive removes and returns the least live entry, or nil.
func (h *jobHeap) popLive() *entry {
	for len(h.items) > 0 {
		it := h.popItem()
		if it.gen == it.e.gen {
			it.e.gen++ // it has left the heap: no item of it is live
			return it.e
		}
		h.stale--
	}
	return nil
}

// peekLive returns the least live entry without removing it, or nil.
func (h *jobHeap) peekLive() *entry {
	for len(h.items) > 0 {
		if it := &h.items[0]; it.gen == it.e.gen {
			return it.e
		}
		h.popItem()
		h.stale--
	}
	return nil
}

// minRunAt returns the earliest run_at of the live entries (zero if none).
func (h *jobHeap) minRunAt() time.Time {
	var best *item
	for i := range h.items {
		it := &h.items[i]
		if it.gen != it.e.gen {
			continue
		}
		if best == nil {
			best = it
		} else if less, _ := timeLess(it, best); less {
			best = it
		}
	}
	if best == nil {
		return time.Time{}
	}
	return best.e.RunAt
}

func (h *jobHeap) popItem() item {
	n := len(h.items) - 1
	it := h.items[0]
	h.items[0] = h.items[n]
	h.items[n] = item{} // let the GC have the entry once it leaves the store
	h.items = h.items[:n]
	if n > 0 {
		h.down(0)
	}
	return it
}

// compact drops stale items and restores the heap order in O(n).
func (h *jobHeap) compact() {
	kept := h.items[:0]
	for _, it := range h.items {
		if it.gen == it.e.gen {
			kept = append(kept, it)
		}
	}
	clear(h.items[len(kept):])
	h.items = kept
	h.stale = 0
	for i := len(h.items)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *jobHeap) up(i int) {
	items := h.items
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(&items[i], &items[p]) {
			return
		}
		items[i], items[p] = items[p], items[i]
		i = p
	}
}

func (h *jobHeap) down(i int) {
	items := h.items
	n := len(items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(&items[r], &items[l]) {
			m = r
		}
		if !h.less(&items[m], &items[i]) {
			return
		}
		items[i], items[m] = items[m], items[i]
		i = m
	}
}
