package rpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// maxValueDepth bounds the nesting of arrays and structs in a request, so
// a hostile body cannot exhaust the stack.
const maxValueDepth = 64

// DecodeRequest parses an XML-RPC methodCall. Values become Go values:
// int, i4 and i8 → int; boolean → bool; string and untyped <value> →
// string; double → float64; dateTime.iso8601 → time.Time (UTC);
// base64 → []byte; struct → map[string]any; array → []any; nil → nil.
// A missing <params> gives no params. Entities other than XML's five and
// character references are refused; no DTD is ever read.
func DecodeRequest(body []byte) (method string, params []any, err error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return r, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	p := &parser{d: d}
	method, params, err = p.methodCall()
	if err != nil {
		return "", nil, fmt.Errorf("malformed XML-RPC request: %w", err)
	}
	return method, params, nil
}

type parser struct {
	d *xml.Decoder
}

// next returns the next start or end element, or character data that is
// not only whitespace; comments and processing instructions are skipped,
// directives (DOCTYPE, entity declarations) are refused.
func (p *parser) next() (xml.Token, error) {
	for {
		tok, err := p.d.Token()
		if err != nil {
			if err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement, xml.EndElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return t, nil
			}
		case xml.Directive:
			return nil, errors.New("DTD and directives are not allowed")
		}
	}
}

func (p *parser) expectStart(name string) error {
	tok, err := p.next()
	if err != nil {
		return err
	}
	if se, ok := tok.(xml.StartElement); ok && se.Name.Local == name {
		return nil
	}
	return fmt.Errorf("expected <%s>, got %s", name, describe(tok))
}

func (p *parser) expectEnd(name string) error {
	tok, err := p.next()
	if err != nil {
		return err
	}
	if ee, ok := tok.(xml.EndElement); ok && ee.Name.Local == name {
		return nil
	}
	return fmt.Errorf("expected </%s>, got %s", name, describe(tok))
}

func describe(tok xml.Token) string {
	switch t := tok.(type) {
	case xml.StartElement:
		return "<" + t.Name.Local + ">"
	case xml.EndElement:
		return "</" + t.Name.Local + ">"
	case xml.CharData:
		return "text"
	}
	return fmt.Sprintf("%T", tok)
}

func (p *parser) methodCall() (string, []any, error) {
	if err := p.expectStart("methodCall"); err != nil {
		return "", nil, err
	}
	var method string
	var params []any
	seenName := false
	for {
		tok, err := p.next()
		if err != nil {
			return "", nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement: // </methodCall>
			if !seenName {
				return "", nil, errors.New("no methodName")
			}
			if err := p.trailer(); err != nil {
				return "", nil, err
			}
			return method, params, nil
		case xml.StartElement:
			switch t.Name.Local {
			case "methodName":
				if method, err = p.text("methodName"); err != nil {
					return "", nil, err
				}
				seenName = true
			case "params":
				if params, err = p.params(); err != nil {
					return "", nil, err
				}
			default:
				return "", nil, fmt.Errorf("unexpected <%s> in methodCall", t.Name.Local)
			}
		default:
			return "", nil, errors.New("unexpected text in methodCall")
		}
	}
}

// trailer accepts only whitespace, comments and processing instructions
// after the root element.
func (p *parser) trailer() error {
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text after methodCall")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return errors.New("content after methodCall")
		}
	}
}

// text reads character data up to the end of the element called name.
func (p *parser) text(name string) (string, error) {
	var sb strings.Builder
	for {
		tok, err := p.d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.EndElement:
			if t.Name.Local != name {
				return "", fmt.Errorf("expected </%s>", name)
			}
			return sb.String(), nil
		case xml.StartElement:
			return "", fmt.Errorf("unexpected <%s> in <%s>", t.Name.Local, name)
		case xml.Directive:
			return "", errors.New("DTD and directives are not allowed")
		}
	}
}

func (p *parser) params() ([]any, error) {
	params := []any{}
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return params, nil
		case xml.StartElement:
			if t.Name.Local != "param" {
				return nil, fmt.Errorf("unexpected <%s> in params", t.Name.Local)
			}
			if err := p.expectStart("value"); err != nil {
				return nil, err
			}
			v, err := p.value(0)
			if err != nil {
				return nil, err
			}
			if err := p.expectEnd("param"); err != nil {
				return nil, err
			}
			params = append(params, v)
		default:
			return nil, errors.New("unexpected text in params")
		}
	}
}

// value parses what follows a <value> start tag, up to its end tag.
func (p *parser) value(depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, errors.New("values nested too deeply")
	}
	var untyped strings.Builder
	for {
		tok, err := p.d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			untyped.Write(t)
		case xml.EndElement: // </value> with no type element: a string
			return untyped.String(), nil
		case xml.StartElement:
			v, err := p.typed(t.Name.Local, depth)
			if err != nil {
				return nil, err
			}
			return v, p.expectEnd("value")
		case xml.Directive:
			return nil, errors.New("DTD and directives are not allowed")
		}
	}
}

func (p *parser) typed(kind string, depth int) (any, error) {
	switch kind {
	case "array":
		return p.array(depth)
	case "struct":
		return p.structValue(depth)
	case "nil":
		if err := p.expectEnd("nil"); err != nil {
			return nil, err
		}
		return nil, nil
	}
	s, err := p.text(kind)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "string":
		return s, nil
	case "int", "i4", "i8":
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad <%s> %q", kind, s)
		}
		return int(n), nil
	case "boolean":
		switch strings.TrimSpace(s) {
		case "1", "true":
			return true, nil
		case "0", "false":
			return false, nil
		}
		return nil, fmt.Errorf("bad <boolean> %q", s)
	case "double":
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("bad <double> %q", s)
		}
		return f, nil
	case "dateTime.iso8601":
		t, err := time.Parse("20060102T15:04:05", strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("bad <dateTime.iso8601> %q", s)
		}
		return t, nil
	case "base64":
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
				return -1
			}
			return r
		}, s)
		b, err := base64.StdEncoding.DecodeString(clean)
		if err != nil {
			return nil, fmt.Errorf("bad <base64>: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("unknown value type <%s>", kind)
}

func (p *parser) array(depth int) (any, error) {
	if err := p.expectStart("data"); err != nil {
		return nil, err
	}
	items := []any{}
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement: // </data>
			return items, p.expectEnd("array")
		case xml.StartElement:
			if t.Name.Local != "value" {
				return nil, fmt.Errorf("unexpected <%s> in array", t.Name.Local)
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			items = append(items, v)
		default:
			return nil, errors.New("unexpected text in array")
		}
	}
}

func (p *parser) structValue(depth int) (any, error) {
	m := map[string]any{}
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement: // </struct>
			return m, nil
		case xml.StartElement:
			if t.Name.Local != "member" {
				return nil, fmt.Errorf("unexpected <%s> in struct", t.Name.Local)
			}
			if err := p.member(m, depth); err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("unexpected text in struct")
		}
	}
}

// member reads <name> and <value> (in either order) up to </member>.
func (p *parser) member(m map[string]any, depth int) error {
	var name string
	var val any
	haveName, haveValue := false, false
	for {
		tok, err := p.next()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement: // </member>
			if !haveName || !haveValue {
				return errors.New("struct member needs a name and a value")
			}
			m[name] = val
			return nil
		case xml.StartElement:
			switch {
			case t.Name.Local == "name" && !haveName:
				if name, err = p.text("name"); err != nil {
					return err
				}
				haveName = true
			case t.Name.Local == "value" && !haveValue:
				if val, err = p.value(depth + 1); err != nil {
					return err
				}
				haveValue = true
			default:
				return fmt.Errorf("unexpected <%s> in member", t.Name.Local)
			}
		default:
			return errors.New("unexpected text in member")
		}
	}
}
