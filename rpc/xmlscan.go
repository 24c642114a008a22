package rpc

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The XML-RPC request scanner: a small, allocation-light tokenizer for
// the part of XML 1.0 that XML-RPC uses. It knows elements (with
// attributes, which are checked and ignored), character data with the
// five predefined entities, character references and CDATA sections,
// comments and processing instructions. It refuses every DTD and
// directive, so no entity can ever be declared or expanded, and it
// refuses characters that XML 1.0 does not allow. Line ends in text are
// normalised to "\n" as every XML parser does.

type tokKind int

const (
	tokStart tokKind = iota // <name ...> or <name .../>
	tokEnd                  // </name>, also sent after a self-closing tag
	tokText                 // character data, entities resolved
	tokEOF
)

// token is one scanned item. name and text may alias the input or the
// scanner's buffer: they are valid until the next call to next.
type token struct {
	kind tokKind
	name []byte // local name (after any prefix)
	text []byte
}

type scanner struct {
	src     []byte
	pos     int
	pending []byte // name of the end tag owed by a self-closing tag
	buf     []byte // scratch for text that needs rewriting
}

var errDirective = errors.New("DTD and directives are not allowed")

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.pos, fmt.Sprintf(format, args...))
}

// next returns the next start tag, end tag or text; comments and
// processing instructions are skipped.
func (s *scanner) next() (token, error) {
	if s.pending != nil {
		name := s.pending
		s.pending = nil
		return token{kind: tokEnd, name: name}, nil
	}
	for {
		if s.pos >= len(s.src) {
			return token{kind: tokEOF}, nil
		}
		if s.src[s.pos] != '<' {
			return s.text()
		}
		rest := s.src[s.pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			// The first "--" must end the comment: XML allows it nowhere
			// else in one (so "<!-- a -- b -->" and "<!--->" are errors).
			end := bytes.Index(rest[4:], []byte("--"))
			if end < 0 {
				return token{}, s.errorf("unterminated comment")
			}
			if 4+end+2 >= len(rest) || rest[4+end+2] != '>' {
				return token{}, s.errorf("'--' in comment")
			}
			s.pos += 4 + end + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end := bytes.Index(rest[9:], []byte("]]>"))
			if end < 0 {
				return token{}, s.errorf("unterminated CDATA section")
			}
			raw := rest[9 : 9+end]
			s.pos += 9 + end + 3
			text, err := s.normalise(raw)
			if err != nil {
				return token{}, err
			}
			return token{kind: tokText, text: text}, nil
		case bytes.HasPrefix(rest, []byte("<!")):
			return token{}, errDirective
		case bytes.HasPrefix(rest, []byte("<?")):
			if err := s.procInst(); err != nil {
				return token{}, err
			}
		case bytes.HasPrefix(rest, []byte("</")):
			s.pos += 2
			name, err := s.name()
			if err != nil {
				return token{}, err
			}
			s.skipSpace()
			if s.pos >= len(s.src) || s.src[s.pos] != '>' {
				return token{}, s.errorf("bad end tag")
			}
			s.pos++
			return token{kind: tokEnd, name: name}, nil
		default:
			return s.startTag()
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *scanner) skipSpace() {
	for s.pos < len(s.src) && isSpace(s.src[s.pos]) {
		s.pos++
	}
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= 0x80
}

func isNameByte(c byte) bool {
	return isNameStart(c) || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// name scans an XML name and returns its local part.
func (s *scanner) name() ([]byte, error) {
	start := s.pos
	if s.pos >= len(s.src) || !isNameStart(s.src[s.pos]) {
		return nil, s.errorf("expected a name")
	}
	for s.pos < len(s.src) && isNameByte(s.src[s.pos]) {
		s.pos++
	}
	n := s.src[start:s.pos]
	if !utf8.Valid(n) {
		return nil, s.errorf("invalid UTF-8 in name")
	}
	if i := bytes.LastIndexByte(n, ':'); i >= 0 {
		n = n[i+1:]
	}
	if len(n) == 0 {
		return nil, s.errorf("empty local name")
	}
	return n, nil
}

func (s *scanner) startTag() (token, error) {
	s.pos++ // '<'
	name, err := s.name()
	if err != nil {
		return token{}, err
	}
	for {
		hadSpace := s.pos < len(s.src) && isSpace(s.src[s.pos])
		s.skipSpace()
		if s.pos >= len(s.src) {
			return token{}, s.errorf("unterminated start tag")
		}
		switch s.src[s.pos] {
		case '>':
			s.pos++
			return token{kind: tokStart, name: name}, nil
		case '/':
			if s.pos+1 >= len(s.src) || s.src[s.pos+1] != '>' {
				return token{}, s.errorf("bad empty-element tag")
			}
			s.pos += 2
			s.pending = name
			return token{kind: tokStart, name: name}, nil
		}
		if !hadSpace {
			return token{}, s.errorf("expected space before attribute")
		}
		if err := s.attribute(); err != nil {
			return token{}, err
		}
	}
}

// attribute checks name="value" (or single quotes) and discards it.
func (s *scanner) attribute() error {
	if _, err := s.name(); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos >= len(s.src) || s.src[s.pos] != '=' {
		return s.errorf("attribute without value")
	}
	s.pos++
	s.skipSpace()
	if s.pos >= len(s.src) || (s.src[s.pos] != '"' && s.src[s.pos] != '\'') {
		return s.errorf("unquoted attribute value")
	}
	quote := s.src[s.pos]
	s.pos++
	end := bytes.IndexByte(s.src[s.pos:], quote)
	if end < 0 {
		return s.errorf("unterminated attribute value")
	}
	val := s.src[s.pos : s.pos+end]
	if bytes.IndexByte(val, '<') >= 0 {
		return s.errorf("'<' in attribute value")
	}
	if _, err := s.decodeText(val); err != nil {
		return err
	}
	s.pos += end + 1
	return nil
}

// procInst skips <?target ...?>; an XML declaration may only name a
// UTF-8 compatible encoding.
func (s *scanner) procInst() error {
	end := bytes.Index(s.src[s.pos+2:], []byte("?>"))
	if end < 0 {
		return s.errorf("unterminated processing instruction")
	}
	body := s.src[s.pos+2 : s.pos+2+end]
	if !validTarget(body) {
		return s.errorf("processing instruction without a valid target")
	}
	s.pos += 2 + end + 2
	if !bytes.HasPrefix(body, []byte("xml")) || (len(body) > 3 && !isSpace(body[3])) {
		return nil
	}
	i := bytes.Index(body, []byte("encoding"))
	if i < 0 {
		return nil
	}
	rest := bytes.TrimLeft(body[i+len("encoding"):], " \t\r\n=")
	if len(rest) == 0 {
		return errors.New("bad encoding declaration")
	}
	q := rest[0]
	j := bytes.IndexByte(rest[1:], q)
	if j < 0 {
		return errors.New("bad encoding declaration")
	}
	switch string(bytes.ToLower(rest[1 : 1+j])) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return nil
	}
	return fmt.Errorf("unsupported encoding %q", clip(string(rest[1:1+j])))
}

// validTarget reports whether a processing instruction's body starts with
// a name (its target) ended by white space or the end of the body.
func validTarget(body []byte) bool {
	if len(body) == 0 || !isNameStart(body[0]) {
		return false
	}
	i := 1
	for i < len(body) && isNameByte(body[i]) {
		i++
	}
	return (i == len(body) || isSpace(body[i])) && utf8.Valid(body[:i])
}

// text scans character data up to the next '<'.
func (s *scanner) text() (token, error) {
	end := bytes.IndexByte(s.src[s.pos:], '<')
	if end < 0 {
		end = len(s.src) - s.pos
	}
	raw := s.src[s.pos : s.pos+end]
	s.pos += end
	t, err := s.decodeText(raw)
	if err != nil {
		return token{}, err
	}
	return token{kind: tokText, text: t}, nil
}

// decodeText resolves references and normalises line ends; text that
// needs neither is returned as it is, without copying.
func (s *scanner) decodeText(raw []byte) ([]byte, error) {
	if bytes.IndexByte(raw, '&') < 0 {
		return s.normalise(raw)
	}
	if err := validChars(raw); err != nil {
		return nil, s.errorf("%v", err)
	}
	out := s.buf[:0]
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '&')
		if i < 0 {
			out = append(out, raw...)
			break
		}
		out = append(out, raw[:i]...)
		raw = raw[i+1:]
		semi := bytes.IndexByte(raw, ';')
		if semi < 0 || semi > 12 {
			return nil, s.errorf("bad entity reference")
		}
		ref := raw[:semi]
		raw = raw[semi+1:]
		switch string(ref) {
		case "amp":
			out = append(out, '&')
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "quot":
			out = append(out, '"')
		case "apos":
			out = append(out, '\'')
		default:
			r, err := charRef(ref)
			if err != nil {
				return nil, s.errorf("%v", err)
			}
			if r == '\r' {
				// A referenced CR survives line-end normalisation; 0 marks
				// it (validChars refused any literal NUL).
				out = append(out, 0)
				continue
			}
			out = utf8.AppendRune(out, r)
		}
	}
	s.buf = out
	return normaliseMarked(out), nil
}

// charRef decodes "#123" or "#x1F"; only characters XML 1.0 allows.
func charRef(ref []byte) (rune, error) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, fmt.Errorf("undefined entity &%s;", ref)
	}
	var n uint64
	var err error
	if ref[1] == 'x' {
		n, err = strconv.ParseUint(string(ref[2:]), 16, 32)
	} else {
		n, err = strconv.ParseUint(string(ref[1:]), 10, 32)
	}
	if err != nil || !isXMLChar(rune(n)) {
		return 0, fmt.Errorf("bad character reference &%s;", ref)
	}
	return rune(n), nil
}

func isXMLChar(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20:
		return false
	case r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// normalise validates raw text (UTF-8, XML characters) and turns "\r\n"
// and lone "\r" into "\n", copying only when there is a CR.
func (s *scanner) normalise(raw []byte) ([]byte, error) {
	if err := validChars(raw); err != nil {
		return nil, s.errorf("%v", err)
	}
	if bytes.IndexByte(raw, '\r') < 0 {
		return raw, nil
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\r' {
			out = append(out, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			continue
		}
		out = append(out, raw[i])
	}
	return out, nil
}

// normaliseMarked copies b with line ends normalised, turning the 0
// markers decodeText leaves for referenced CRs into real CRs.
func normaliseMarked(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\r':
			out = append(out, '\n')
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
		case 0:
			out = append(out, '\r')
		default:
			out = append(out, b[i])
		}
	}
	return out
}

// validChars reports the first byte sequence that is not valid UTF-8 or
// not a character XML 1.0 allows.
func validChars(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return fmt.Errorf("character %#x not allowed in XML", c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return errors.New("invalid UTF-8")
		}
		if !isXMLChar(r) {
			return fmt.Errorf("character %U not allowed in XML", r)
		}
		i += size
	}
	return nil
}
