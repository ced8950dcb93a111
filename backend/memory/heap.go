package memory

// jobHeap is a binary min-heap of entries under less. It keeps each entry's
// heapIdx up to date so a job can be removed from the middle (cancel, delete)
// in O(log n). It is hand-written rather than container/heap so the hot claim
// path makes no interface calls and no allocations.
type jobHeap struct {
	items []*entry
	less  func(a, b *entry) bool
}

// readyLess orders claimable jobs: priority desc, run_at asc, id asc.
func readyLess(a, b *entry) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if c := a.RunAt.Compare(b.RunAt); c != 0 {
		return c < 0
	}
	return a.ID < b.ID
}

// waitingLess orders scheduled and retrying jobs by run_at, then id.
func waitingLess(a, b *entry) bool {
	if c := a.RunAt.Compare(b.RunAt); c != 0 {
		return c < 0
	}
	return a.ID < b.ID
}

func (h *jobHeap) len() int { return len(h.items) }

func (h *jobHeap) peek() *entry { return h.items[0] }

func (h *jobHeap) push(e *entry) {
	e.heapIdx = len(h.items)
	h.items = append(h.items, e)
	h.up(e.heapIdx)
}

func (h *jobHeap) pop() *entry {
	return h.remove(0)
}

// remove takes out the entry at index i and returns it.
func (h *jobHeap) remove(i int) *entry {
	n := len(h.items) - 1
	e := h.items[i]
	if i != n {
		h.swap(i, n)
	}
	h.items[n] = nil // let the GC have it once it leaves the store
	h.items = h.items[:n]
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
	e.heapIdx = -1
	return e
}

func (h *jobHeap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].heapIdx = i
	h.items[j].heapIdx = j
}

func (h *jobHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.items[i], h.items[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts i down and reports whether it moved.
func (h *jobHeap) down(i int) bool {
	start := i
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(h.items[r], h.items[l]) {
			m = r
		}
		if !h.less(h.items[m], h.items[i]) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}
