package events

import "bytes"

// Capture-mode tokens (supervisor.events.ProcessCommunicationEvent).
var (
	BeginToken = []byte("<!--XSUPERVISOR:BEGIN-->")
	EndToken   = []byte("<!--XSUPERVISOR:END-->")
)

// PieceKind says where a piece of output goes.
type PieceKind int

// The kinds of Piece.
const (
	// PieceOutput is ordinary output: to the channel's log file.
	PieceOutput PieceKind = iota + 1
	// PieceCaptured is output between the tokens: kept in memory for the
	// PROCESS_COMMUNICATION event, never written to the log file.
	PieceCaptured
	// PieceComm is a finished capture (an end token was seen): Data is
	// the PROCESS_COMMUNICATION payload data.
	PieceComm
)

// Piece is one part of a child's output after capture-mode splitting.
// Output and captured pieces are both logged to the main log at debug
// level and sent as PROCESS_LOG events, as the reference does.
type Piece struct {
	Kind PieceKind
	Data []byte
}

// Capture splits one output channel in capture mode
// (stdout_capture_maxbytes / stderr_capture_maxbytes > 0). It is owned by
// that channel's pump.
//
// Unlike the reference, which holds back any output until it exceeds the
// token length and loses a short tail when the process exits, Capture
// holds back only bytes that may start a token, and Flush releases them.
type Capture struct {
	// Strip, when set, transforms captured bytes before they are kept and
	// reported (strip_ansi); ordinary output is left to the caller.
	Strip func([]byte) []byte

	maxBytes  int64
	capturing bool
	pending   []byte // a possible token prefix, not yet classified
	captured  []byte
}

// NewCapture is a splitter whose capture buffer keeps at most maxBytes
// (older bytes are dropped the way the reference's BoundIO drops them).
func NewCapture(maxBytes int64) *Capture { return &Capture{maxBytes: maxBytes} }

// CaptureSnapshot is a Capture's state between two chunks, for a daemon
// upgraded in place.
type CaptureSnapshot struct {
	Capturing bool
	Pending   []byte // a possible token prefix
	Captured  []byte // the capture so far
}

// Snapshot copies the splitter's state.
func (c *Capture) Snapshot() CaptureSnapshot {
	return CaptureSnapshot{Capturing: c.capturing, Pending: bytes.Clone(c.pending), Captured: bytes.Clone(c.captured)}
}

// Restore puts the splitter in the state s describes.
func (c *Capture) Restore(s CaptureSnapshot) {
	c.capturing, c.pending, c.captured = s.Capturing, bytes.Clone(s.Pending), bytes.Clone(s.Captured)
}

// Feed splits a chunk. The returned pieces own their data (chunk may be
// reused by the caller).
func (c *Capture) Feed(chunk []byte) []Piece {
	data := append(c.pending, chunk...)
	c.pending = nil
	var pieces []Piece
	for {
		token := BeginToken
		if c.capturing {
			token = EndToken
		}
		i := bytes.Index(data, token)
		if i < 0 {
			keep := prefixAtEnd(data, token)
			pieces = c.piece(pieces, data[:len(data)-keep])
			if keep > 0 {
				c.pending = bytes.Clone(data[len(data)-keep:])
			}
			return pieces
		}
		pieces = c.piece(pieces, data[:i])
		data = data[i+len(token):]
		c.capturing = !c.capturing
		if !c.capturing {
			pieces = append(pieces, Piece{Kind: PieceComm, Data: c.captured})
			c.captured = nil
		}
	}
}

// Flush releases held-back bytes at EOF. A capture that never ended is
// dropped, as the reference drops it.
func (c *Capture) Flush() []Piece {
	data := c.pending
	c.pending = nil
	if c.capturing || len(data) == 0 {
		return nil
	}
	return []Piece{{Kind: PieceOutput, Data: data}}
}

func (c *Capture) piece(pieces []Piece, data []byte) []Piece {
	if len(data) == 0 {
		return pieces
	}
	data = bytes.Clone(data)
	if !c.capturing {
		return append(pieces, Piece{Kind: PieceOutput, Data: data})
	}
	if c.Strip != nil {
		data = c.Strip(data)
	}
	// BoundIO.write: past maxbytes, drop as many leading bytes as are
	// being written, then append.
	if int64(len(c.captured)+len(data)) > c.maxBytes {
		c.captured = c.captured[min(len(data), len(c.captured)):]
	}
	c.captured = append(c.captured, data...)
	return append(pieces, Piece{Kind: PieceCaptured, Data: data})
}

// prefixAtEnd is the length of the longest proper prefix of token that
// data ends with.
func prefixAtEnd(data, token []byte) int {
	for n := min(len(token)-1, len(data)); n > 0; n-- {
		if bytes.HasSuffix(data, token[:n]) {
			return n
		}
	}
	return 0
}
