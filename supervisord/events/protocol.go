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
	// StepLongResult: more than MaxResultLine bytes came without the
	// newline that ends the result line (Body: their start, at most
	// MaxKeptResult bytes).
	StepLongResult
)

// Step is one outcome of Listener.Feed.
type Step struct {
	Kind     StepKind
	From, To ListenerState // StepState
	Body     []byte        // StepRefused: the result's start; StepBadResult: the line; StepLongResult: its start
}

// Listener parses one listener instance's stdout as the reference's
// PEventListenerDispatcher does. A new instance starts ACKNOWLEDGED. The
// zero value is not ready for use: call NewListener.
//
// Its memory is bounded whatever the listener writes: a result is counted,
// not kept (only its first MaxKeptResult bytes are, since only "OK" means
// anything), and a result line may be at most MaxResultLine bytes long.
type Listener struct {
	state     ListenerState
	buf       []byte // unparsed output: under a token, or a result line without its newline
	result    []byte // the result's first bytes, at most MaxKeptResult
	resultLen int    // -1 until the result line has been read
	got       int    // bytes of the result read so far
}

// MaxResultLine bounds a result line ("RESULT <length>"). A listener that
// writes more than this without a newline while BUSY breaks the protocol
// (StepLongResult); the reference would buffer it without limit.
const MaxResultLine = 4096

// MaxKeptResult is how much of a result the parser keeps (Step.Body of
// StepRefused); the rest is only counted. Only "OK" has a meaning.
const MaxKeptResult = 64

// NewListener is a listener instance that has just been spawned.
func NewListener() *Listener {
	return &Listener{state: ListenerAcknowledged, resultLen: -1}
}

// ListenerSnapshot is a Listener's whole parsing state, for a daemon
// upgraded in place: the listener's output keeps flowing into the new
// binary, which goes on parsing where the old one stopped.
type ListenerSnapshot struct {
	State     ListenerState
	Buf       []byte // output not yet decided on
	Result    []byte // the result's first bytes
	ResultLen int    // -1 until the result line has been read
	Got       int    // result bytes read so far
}

// Snapshot copies the parsing state.
func (l *Listener) Snapshot() ListenerSnapshot {
	return ListenerSnapshot{State: l.state, Buf: bytes.Clone(l.buf), Result: bytes.Clone(l.result), ResultLen: l.resultLen, Got: l.got}
}

// RestoreListener is a parser in the state s describes.
func RestoreListener(s ListenerSnapshot) *Listener {
	return &Listener{state: s.State, buf: bytes.Clone(s.Buf), result: bytes.Clone(s.Result), resultLen: s.ResultLen, got: s.Got}
}

// State is the current protocol state.
func (l *Listener) State() ListenerState { return l.state }

// Dispatched records that an event was written to the listener: READY
// becomes BUSY. The reference logs nothing for this move.
func (l *Listener) Dispatched() { l.state = ListenerBusy }

// Feed consumes output the listener wrote on stdout and returns what it
// caused, in order. It keeps no reference to data.
func (l *Listener) Feed(data []byte) []Step {
	in := data
	if len(l.buf) > 0 {
		l.buf = append(l.buf, data...)
		in = l.buf
	}
	steps, rest := l.parse(in)
	// Keep what is left for the next call, in a buffer no larger than a
	// token or a result line (plus the chunk that brought it).
	l.buf = append(l.buf[:0], rest...)
	if len(l.buf) == 0 && cap(l.buf) > MaxResultLine {
		l.buf = nil
	}
	return steps
}

// parse runs the protocol over in and returns the steps and the part of
// in it could not decide on yet.
func (l *Listener) parse(in []byte) (steps []Step, rest []byte) {
	change := func(to ListenerState) {
		steps = append(steps, Step{Kind: StepState, From: l.state, To: to})
		l.state = to
	}
	for len(in) > 0 {
		switch l.state {
		case ListenerUnknown:
			return steps, nil
		case ListenerAcknowledged:
			if len(in) < len(readyToken) {
				return steps, in // not enough to decide yet
			}
			if bytes.HasPrefix(in, readyToken) {
				change(ListenerReady)
				in = in[len(readyToken):]
			} else {
				change(ListenerUnknown)
				return steps, nil
			}
		case ListenerReady:
			// Spurious output: the reference is strict about it.
			change(ListenerUnknown)
			return steps, nil
		case ListenerBusy:
			if l.resultLen < 0 {
				pos := bytes.IndexByte(in, '\n')
				if pos > MaxResultLine || (pos < 0 && len(in) > MaxResultLine) {
					steps = append(steps, Step{Kind: StepLongResult, Body: bytes.Clone(in[:MaxKeptResult])})
					change(ListenerUnknown)
					return append(steps, Step{Kind: StepRequeue}), nil
				}
				if pos < 0 {
					return steps, in // no full result line yet
				}
				line := bytes.Clone(in[:pos])
				in = in[pos+1:]
				n, ok := pyInt(line[min(len(resultTokenStart), len(line)):])
				if !ok {
					steps = append(steps, Step{Kind: StepBadResult, Body: line})
					change(ListenerUnknown)
					return append(steps, Step{Kind: StepRequeue}), nil
				}
				l.resultLen, l.got, l.result = n, 0, l.result[:0]
				continue
			}
			take := min(l.resultLen-l.got, len(in))
			if keep := min(take, MaxKeptResult-len(l.result)); keep > 0 {
				l.result = append(l.result, in[:keep]...)
			}
			l.got += take
			in = in[take:]
			if l.got < l.resultLen {
				return steps, nil
			}
			ok := l.resultLen == 2 && string(l.result) == "OK"
			body := bytes.Clone(l.result)
			l.resultLen, l.got, l.result = -1, 0, l.result[:0]
			if ok {
				steps = append(steps, Step{Kind: StepProcessed})
				change(ListenerAcknowledged)
			} else {
				steps = append(steps, Step{Kind: StepRefused, Body: body})
				change(ListenerAcknowledged)
				steps = append(steps, Step{Kind: StepRequeue})
			}
		}
	}
	return steps, nil
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
