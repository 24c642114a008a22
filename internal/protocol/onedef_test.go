package protocol

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestOneDefinition fails when a second copy of the protocol's tables
// appears anywhere in the module. In any file: a constant named like a
// state, fault or level holding one of their codes, an int map or slice
// literal holding several process state codes, a literal listing several
// state names. Outside tests also: a string literal that is a fault
// name, a level code or the version, two state names or three level names
// in one file (alone they are words of other protocols or of English);
// tests may spell names out as expected output.
func TestOneDefinition(t *testing.T) {
	root := moduleRoot(t)
	codes := map[string]map[int64]bool{"state": {}, "fault": {}, "level": {}}
	names := map[string]string{Version: "the version"}
	// State names are also words of other protocols (sd_notify's
	// STOPPING=1): two of them in one file make a table.
	stateWords := map[string]bool{}
	for _, s := range ProcessStates {
		codes["state"][int64(s)] = true
		stateWords[s.String()] = true
	}
	for s := SupervisorShutdown; s <= SupervisorFatal; s++ {
		codes["state"][int64(s)] = true
		stateWords[s.String()] = true
	}
	for c := FaultCode(1); c < 100; c++ {
		if !strings.HasPrefix(c.String(), "FAULT_") {
			codes["fault"][int64(c)] = true
			names[c.String()] = "a fault name"
		}
	}
	levelNames := map[string]bool{}
	for _, l := range levels {
		codes["level"][int64(l.level)] = true
		names[l.code] = "a log level code"
		levelNames[l.name] = true
	}
	// UNKNOWN is also an event listener's state, and the name of any
	// state outside the table.
	delete(stateWords, StateUnknown.String())
	processCodes := map[int64]bool{}
	for _, s := range ProcessStates {
		if s != StateStopped {
			processCodes[int64(s)] = true
		}
	}
	constName := regexp.MustCompile(`(?i)^_?(proc|state|fault|level)`)
	category := map[string]string{"proc": "state", "state": "state", "fault": "fault", "level": "level"}
	stateNames := map[string]bool{}
	for _, s := range ProcessStates {
		stateNames[s.String()] = true
	}

	self := filepath.Join(root, "internal", "protocol")
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch {
			case path == self, d.Name() == "testdata", strings.HasPrefix(d.Name(), ".") && path != root:
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		isTest := strings.HasSuffix(path, "_test.go")
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		seenLevels, seenStates := map[string]bool{}, map[string]bool{}
		report := func(n ast.Node, format string, args ...any) {
			t.Errorf("%s:%d: "+format+" (use gosupervisor/internal/protocol)", append([]any{rel, fset.Position(n.Pos()).Line}, args...)...)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GenDecl:
				if n.Tok != token.CONST {
					return true
				}
				for _, spec := range n.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						m := constName.FindStringSubmatch(name.Name)
						if m == nil || i >= len(vs.Values) {
							continue
						}
						if v, ok := intLit(vs.Values[i]); ok && codes[category[strings.ToLower(m[1])]][v] {
							report(name, "constant %s = %d copies a protocol code", name.Name, v)
						}
					}
				}
			case *ast.CompositeLit:
				named := map[string]bool{}
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						el = kv.Value
					}
					if lit, ok := el.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if s, err := strconv.Unquote(lit.Value); err == nil && stateNames[s] {
							named[s] = true
						}
					}
				}
				if len(named) >= 3 {
					report(n, "literal with %d process state names copies the state table", len(named))
				}
				if !intKeyed(n.Type) {
					return true
				}
				found := 0
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						el = kv.Key
					}
					if v, ok := intLit(el); ok && processCodes[v] {
						found++
					}
				}
				if found >= 3 {
					report(n, "literal with %d process state codes copies the state table", found)
				}
			case *ast.BasicLit:
				if isTest || n.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(n.Value)
				if err != nil {
					return true
				}
				if what, ok := names[s]; ok {
					report(n, "string %q is %s", s, what)
				}
				if stateWords[s] && !seenStates[s] {
					seenStates[s] = true
					if len(seenStates) == 2 {
						report(n, "a second state name %q copies the state table", s)
					}
				}
				if levelNames[s] && !seenLevels[s] {
					seenLevels[s] = true
					if len(seenLevels) == 3 {
						report(n, "a third log level name %q copies the level table", s)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked only %d files under %s: the walk is broken", checked, root)
	}
}

// intKeyed reports whether a composite literal's type is a map keyed by
// int or a slice or array of int: the shapes a copied state table takes.
func intKeyed(typ ast.Expr) bool {
	isInt := func(e ast.Expr) bool {
		id, ok := e.(*ast.Ident)
		return ok && id.Name == "int"
	}
	switch t := typ.(type) {
	case *ast.MapType:
		return isInt(t.Key)
	case *ast.ArrayType:
		return isInt(t.Elt)
	}
	return false
}

// intLit is the value of an integer literal, possibly negated.
func intLit(e ast.Expr) (int64, bool) {
	neg := false
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.SUB {
		e, neg = u.X, true
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return 0, false
	}
	v, err := strconv.ParseInt(lit.Value, 0, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// moduleRoot is the directory of go.mod above this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
