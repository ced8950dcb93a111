package worker

import "sync"

// pool runs a queue's tasks on up to slots goroutines. Handing each task to
// a parked goroutine costs a wake-up (about as much as a no-op job itself),
// so it wakes goroutines one at a time in a chain: a woken goroutine takes a
// task and, if more wait, wakes the next before running its own. Blocking
// handlers thus still all start within microseconds, while fast handlers are
// drained by the goroutines already awake instead of one wake-up per task.
type pool struct {
	mu      sync.Mutex
	tasks   []*task // FIFO: tasks[head:] wait
	head    int
	idle    []chan struct{} // parked goroutines' wake channels, LIFO
	waking  int             // goroutines woken and not yet running
	closed  bool
	execute func(*task)
}

func newPool(slots int, execute func(*task)) *pool {
	p := &pool{execute: execute, tasks: make([]*task, 0, slots), idle: make([]chan struct{}, 0, slots)}
	for range slots {
		go p.loop(make(chan struct{}, 1))
	}
	return p
}

// push queues ts and wakes a goroutine unless one is already on its way.
func (p *pool) push(ts []*task) {
	p.mu.Lock()
	if p.head == len(p.tasks) {
		p.tasks, p.head = p.tasks[:0], 0
	}
	p.tasks = append(p.tasks, ts...)
	wake := p.wakeOneLocked()
	p.mu.Unlock()
	if wake != nil {
		wake <- struct{}{}
	}
}

// wakeOneLocked picks a parked goroutine to wake if tasks wait and no other
// wake-up is pending (p.mu held).
func (p *pool) wakeOneLocked() chan struct{} {
	if p.waking > 0 || len(p.idle) == 0 || p.head == len(p.tasks) {
		return nil
	}
	n := len(p.idle) - 1
	c := p.idle[n]
	p.idle = p.idle[:n]
	p.waking++
	return c
}

// close makes the goroutines exit once the queue is empty.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.waking += len(idle) // each decrements it when it runs
	p.mu.Unlock()
	for _, c := range idle {
		c <- struct{}{}
	}
}

func (p *pool) loop(wake chan struct{}) {
	woken := false
	for {
		p.mu.Lock()
		if woken {
			p.waking--
			woken = false
		}
		if p.head == len(p.tasks) {
			if p.closed {
				p.mu.Unlock()
				return
			}
			p.idle = append(p.idle, wake)
			p.mu.Unlock()
			<-wake
			woken = true
			continue
		}
		t := p.tasks[p.head]
		p.tasks[p.head] = nil
		p.head++
		next := p.wakeOneLocked()
		p.mu.Unlock()
		if next != nil {
			next <- struct{}{}
		}
		p.execute(t)
	}
}
