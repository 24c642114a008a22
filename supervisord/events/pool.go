package events

import "math"

// Serial is a counter that starts at 0 and wraps back to 0 after
// math.MaxInt64, as the reference's new_serial does. The zero value is
// ready: its first Next is 0.
type Serial struct{ next int64 }

// Next returns the next serial.
func (s *Serial) Next() int64 {
	v := s.next
	if v == math.MaxInt64 {
		s.next = 0
	} else {
		s.next = v + 1
	}
	return v
}

// Peek is the serial the next call to Next returns.
func (s *Serial) Peek() int64 { return s.next }

// Restore makes next the serial the next call to Next returns: a daemon
// upgraded in place continues its predecessor's count.
func (s *Serial) Restore(next int64) { s.next = next }

// Emitted is one event as it travels through pools. Its global serial is
// assigned by the first pool that accepts it; an event no pool subscribes
// to consumes no serial.
type Emitted struct {
	Type    Type
	Payload string
	serial  int64
	hasSer  bool
}

// New is an event of type t (never an abstract type) with its payload.
func New(t Type, payload string) *Emitted { return &Emitted{Type: t, Payload: payload} }

// Restored is an event handed over by a daemon upgraded in place, with
// the global serial it was given there (-1: none).
func Restored(t Type, payload string, serial int64) *Emitted {
	return &Emitted{Type: t, Payload: payload, serial: serial, hasSer: serial >= 0}
}

// Serial is the global serial, -1 when no pool has accepted the event.
func (e *Emitted) Serial() int64 {
	if !e.hasSer {
		return -1
	}
	return e.serial
}

// Entry is an event waiting in one pool, with its serial in that pool.
type Entry struct {
	Event      *Emitted
	PoolSerial int64
}

// Pool is an event listener pool's subscription and FIFO buffer. Which
// listener process gets an event is the engine's business.
type Pool struct {
	Name   string
	types  []Type
	max    int
	buf    []Entry
	serial Serial
}

// NewPool is a pool subscribed to types (abstract types subscribe to
// their descendants) holding at most bufferSize events (at least 1).
func NewPool(name string, types []Type, bufferSize int) *Pool {
	return &Pool{Name: name, types: append([]Type(nil), types...), max: max(bufferSize, 1)}
}

// Subscribes reports whether the pool accepts events of type t.
func (p *Pool) Subscribes(t Type) bool {
	for _, s := range p.types {
		if t.Is(s) {
			return true
		}
	}
	return false
}

// Len is the number of buffered events.
func (p *Pool) Len() int { return len(p.buf) }

// Accept appends a new event, assigning its global serial from global
// when it has none yet and a pool serial. When the buffer is full the
// oldest event is dropped and returned (ok true) for the caller to report.
func (p *Pool) Accept(ev *Emitted, global *Serial) (dropped Entry, ok bool) {
	if !ev.hasSer {
		ev.serial, ev.hasSer = global.Next(), true
	}
	dropped, ok = p.makeRoom()
	p.buf = append(p.buf, Entry{Event: ev, PoolSerial: p.serial.Next()})
	return dropped, ok
}

// Requeue puts an event that could not be delivered, or that a listener
// refused, back at the head; it keeps its serials. A full buffer drops
// its oldest event first, as the reference does.
func (p *Pool) Requeue(e Entry) (dropped Entry, ok bool) {
	dropped, ok = p.makeRoom()
	p.buf = append([]Entry{e}, p.buf...)
	return dropped, ok
}

func (p *Pool) makeRoom() (Entry, bool) {
	if len(p.buf) < p.max {
		return Entry{}, false
	}
	dropped := p.buf[0]
	p.buf[0] = Entry{}
	p.buf = p.buf[1:]
	return dropped, true
}

// Entries is a copy of the buffer, oldest first.
func (p *Pool) Entries() []Entry { return append([]Entry(nil), p.buf...) }

// NextSerial is the pool serial the next accepted event gets.
func (p *Pool) NextSerial() int64 { return p.serial.Peek() }

// Restore replaces the buffer with entries (oldest first; beyond the
// buffer size the oldest are dropped) and the pool serial count with
// next: the state a daemon upgraded in place handed over.
func (p *Pool) Restore(entries []Entry, next int64) {
	p.buf = append([]Entry(nil), entries[max(0, len(entries)-p.max):]...)
	p.serial.Restore(next)
}

// Peek is the oldest buffered event.
func (p *Pool) Peek() (Entry, bool) {
	if len(p.buf) == 0 {
		return Entry{}, false
	}
	return p.buf[0], true
}

// Pop removes the oldest buffered event.
func (p *Pool) Pop() (Entry, bool) {
	e, ok := p.Peek()
	if ok {
		p.buf[0] = Entry{}
		p.buf = p.buf[1:]
	}
	return e, ok
}
