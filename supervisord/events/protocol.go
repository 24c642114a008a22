package events

import (
	"bytes"
	"strconv"
)

// ListenerState is an event listener process's protocol state, with the
// reference's numbering.
type ListenerState int

// The listener states (supervisor.states.EventListenerStates).
const (
	ListenerReady        ListenerState = 10
	ListenerBusy         ListenerState = 20
	ListenerAcknowledged ListenerState = 30
	ListenerUnknown      ListenerState = 40
)

// String is the name the reference logs ("READY -> BUSY").
func (s ListenerState) String() string {
	switch s {
	case ListenerReady:
		return "READY"
	case ListenerBusy:
		return "BUSY"
	case ListenerAcknowledged:
		return "ACKNOWLEDGED"
	case ListenerUnknown:
		return "UNKNOWN"
	}
	return "None"
}

// Protocol tokens.
var (
	readyToken       = []byte("READY\n")
	resultTokenStart = []byte("RESULT ")
)

// StepKind says what a Step reports.
type StepKind int

// What parsing listener output can lead to, in the order the engine must
// act on it.
const (
	// StepState: the listener moved From -> To.
	StepState StepKind = iota + 1
	// StepProcessed: the current event's result was OK.
	StepProcessed
	// StepRefused: the current event's result was not OK (Body); a
	// StepRequeue follows once the state has changed.
	StepRefused
	// StepBadResult: the result line (Body) has no integer length.
	StepBadResult
	// StepRequeue: the current event goes back to the head of its pool.
	StepRequeue
)

// Step is one outcome of Listener.Feed.
type Step struct {
	Kind     StepKind
	From, To ListenerState // StepState
	Body     []byte        // StepRefused: the result; StepBadResult: the line
}

// Listener parses one listener instance's stdout as the reference's
// PEventListenerDispatcher does. A new instance starts ACKNOWLEDGED. The
// zero value is not ready for use: call NewListener.
type Listener struct {
	state     ListenerState
	buf       []byte
	result    []byte
	resultLen int // -1 until the result line has been read
}

// NewListener is a listener instance that has just been spawned.
func NewListener() *Listener {
	return &Listener{state: ListenerAcknowledged, resultLen: -1}
}

// State is the current protocol state.
func (l *Listener) State() ListenerState { return l.state }

// Dispatched records that an event was written to the listener: READY
// becomes BUSY. The reference logs nothing for this move.
func (l *Listener) Dispatched() { l.state = ListenerBusy }

// Feed consumes output the listener wrote on stdout and returns what it
// caused, in order.
func (l *Listener) Feed(data []byte) []Step {
	l.buf = append(l.buf, data...)
	var steps []Step
	change := func(to ListenerState) {
		steps = append(steps, Step{Kind: StepState, From: l.state, To: to})
		l.state = to
	}
	for len(l.buf) > 0 {
		switch l.state {
		case ListenerUnknown:
			l.buf = nil
			return steps
		case ListenerAcknowledged:
			if len(l.buf) < len(readyToken) {
				return steps // not enough to decide yet
			}
			if bytes.HasPrefix(l.buf, readyToken) {
				change(ListenerReady)
				l.buf = l.buf[len(readyToken):]
			} else {
				change(ListenerUnknown)
				l.buf = nil
			}
		case ListenerReady:
			// Spurious output: the reference is strict about it.
			change(ListenerUnknown)
			l.buf = nil
		case ListenerBusy:
			if l.resultLen < 0 {
				pos := bytes.IndexByte(l.buf, '\n')
				if pos < 0 {
					return steps // no full result line yet
				}
				line := bytes.Clone(l.buf[:pos])
				l.buf = l.buf[pos+1:]
				n, ok := pyInt(line[min(len(resultTokenStart), len(line)):])
				if !ok {
					steps = append(steps, Step{Kind: StepBadResult, Body: line})
					change(ListenerUnknown)
					steps = append(steps, Step{Kind: StepRequeue})
					l.buf = nil
					return steps
				}
				l.resultLen = n
				continue
			}
			if need := l.resultLen - len(l.result); need > 0 {
				take := min(need, len(l.buf))
				l.result = append(l.result, l.buf[:take]...)
				l.buf = l.buf[take:]
			}
			if len(l.result) >= l.resultLen {
				result := l.result
				l.result, l.resultLen = nil, -1
				if string(result) == "OK" {
					steps = append(steps, Step{Kind: StepProcessed})
					change(ListenerAcknowledged)
				} else {
					steps = append(steps, Step{Kind: StepRefused, Body: result})
					change(ListenerAcknowledged)
					steps = append(steps, Step{Kind: StepRequeue})
				}
			}
		}
	}
	return steps
}

// pyInt parses b as Python's int() does for bytes: surrounding
// whitespace, an optional sign, digits with single underscores between
// them. Negative lengths are refused (the reference's behaviour with them
// is accidental).
func pyInt(b []byte) (int, bool) {
	s := string(bytes.Trim(b, " \t\n\r\v\f"))
	if s == "" {
		return 0, false
	}
	if s[0] == '+' {
		s = s[1:]
	}
	var digits []byte
	prevUnderscore := true // no leading underscore
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
			prevUnderscore = false
		case c == '_' && !prevUnderscore && i+1 < len(s):
			prevUnderscore = true
		default:
			return 0, false
		}
	}
	if prevUnderscore {
		return 0, false
	}
	n, err := strconv.Atoi(string(digits))
	if err != nil {
		return 0, false
	}
	return n, true
}
