package rpc

import (
	"context"
	"errors"
	"fmt"
	goast "go/ast"
	goparser "go/parser"
	gotoken "go/token"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gosupervisor/internal/protocol"
	"gosupervisor/supervisord/engine"
)

func TestFaultOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		err      error
		wantCode protocol.FaultCode
		wantText string
	}{
		{"bad name", &engine.Error{Kind: engine.ErrNoSuchName, Detail: "foo"}, protocol.FaultBadName, "BAD_NAME: foo"},
		{"wrapped", fmt.Errorf("ctx: %w", &engine.Error{Kind: engine.ErrNotRunning, Detail: "g:p"}), protocol.FaultNotRunning, "NOT_RUNNING: g:p"},
		{"no detail", &engine.Error{Kind: engine.ErrShutdown}, protocol.FaultShutdownState, "SHUTDOWN_STATE"},
		{"stdin", &engine.Error{Kind: engine.ErrNoStdin, Detail: "x"}, protocol.FaultNoFile, "NO_FILE: x"},
		{"fault kept", NewFault(protocol.FaultIncorrectParameters, "p"), protocol.FaultIncorrectParameters, "INCORRECT_PARAMETERS: p"},
		{"abandoned", context.Canceled, protocol.FaultFailed, "FAILED: request abandoned: context canceled"},
		{"other", errors.New("boom"), protocol.FaultFailed, "FAILED: boom"},
		{"unknown kind", &engine.Error{Kind: errors.New("new kind"), Detail: "d"}, protocol.FaultFailed, "FAILED: new kind: d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := FaultOf(tt.err)
			if f.Code != tt.wantCode || f.String != tt.wantText {
				t.Errorf("FaultOf(%v) = %d %q, want %d %q", tt.err, f.Code, f.String, tt.wantCode, tt.wantText)
			}
		})
	}
}

// TestEveryEngineErrorHasAFault counts the engine's error kinds in its
// source, so that a kind added there without a row in engineFaults fails
// here instead of reaching clients as FAILED.
func TestEveryEngineErrorHasAFault(t *testing.T) {
	t.Parallel()
	_, self, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(self), "..", "supervisord", "engine", "errors.go")
	f, err := goparser.ParseFile(gotoken.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, d := range f.Decls {
		gd, ok := d.(*goast.GenDecl)
		if !ok || gd.Tok != gotoken.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			for _, name := range spec.(*goast.ValueSpec).Names {
				if name.IsExported() && strings.HasPrefix(name.Name, "Err") {
					kinds = append(kinds, name.Name)
				}
			}
		}
	}
	rows := map[error]bool{}
	for _, row := range engineFaults {
		if rows[row.kind] {
			t.Errorf("engineFaults maps %q twice", row.kind)
		}
		rows[row.kind] = true
	}
	if len(kinds) == 0 || len(kinds) != len(rows) {
		t.Errorf("the engine declares %d error kinds %v, engineFaults maps %d", len(kinds), kinds, len(rows))
	}
}
