package logrot

// Trail remembers where one Pump's own writes landed in its Writer's
// file: the last ones, at least limit bytes of them when there were
// that many. A supervised program's instance and the next one (an
// autorestart spawns it at once) write to the same log through two
// pumps, so the file's end alone does not say what one instance wrote
// last; its trail does. A Trail belongs to one Pump: it is filled while
// the Pump runs and read after it has returned, on the same goroutine.
type Trail struct {
	limit int64
	gen   uint64 // the Writer's file the spans are in
	spans []span // oldest first
	total int64  // bytes in spans
	// Cut is set once spans were dropped from the front: what Read
	// returns then starts anywhere in a line.
	Cut bool
}

// span is one write: n bytes at offset off.
type span struct{ off, n int64 }

// maxSpans bounds a Trail's spans (many tiny writes interleaved with
// another pump's): the oldest go first.
const maxSpans = 64

// NewTrail returns a Trail that keeps at least limit bytes' worth of
// writes.
func NewTrail(limit int64) *Trail { return &Trail{limit: limit} }

// add notes a write of n bytes at offset off in the Writer's file gen.
// A nil Trail notes nothing.
func (t *Trail) add(gen uint64, off, n int64) {
	if t == nil || n <= 0 {
		return
	}
	if gen != t.gen {
		// A new file (rotated, cleared, reopened): the earlier spans are
		// in another file now.
		t.Cut = t.Cut || len(t.spans) > 0
		t.spans, t.total, t.gen = t.spans[:0], 0, gen
	}
	if k := len(t.spans) - 1; k >= 0 && t.spans[k].off+t.spans[k].n == off {
		t.spans[k].n += n
	} else {
		t.spans = append(t.spans, span{off, n})
	}
	t.total += n
	for len(t.spans) > 1 && (t.total-t.spans[0].n >= t.limit || len(t.spans) > maxSpans) {
		t.total -= t.spans[0].n
		t.spans = t.spans[1:]
		t.Cut = true
	}
}

// Read reads the noted writes back from w's file, the last limit bytes of
// them (Cut is set when that drops some); nil when w has moved to another
// file since (a rotation) or the file was truncated under it.
func (t *Trail) Read(w *Writer) []byte {
	if len(t.spans) == 0 {
		return nil
	}
	w.mu.Lock()
	gen := w.gen
	w.mu.Unlock()
	if gen != t.gen {
		return nil
	}
	l, err := OpenLog(w.Path())
	if err != nil {
		return nil // removed meanwhile
	}
	defer l.Close()
	var out []byte
	for _, s := range t.spans {
		b, err := l.ReadRange(s.off, s.n)
		if err != nil || int64(len(b)) != s.n {
			return nil // truncated or removed meanwhile
		}
		out = append(out, b...)
	}
	if extra := int64(len(out)) - t.limit; extra > 0 {
		out = out[extra:]
		t.Cut = true
	}
	return out
}
