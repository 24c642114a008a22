package rpc

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gosupervisor/internal/protocol"
)

// dispatcher routes decoded calls to the Backend and turns every
// outcome into a value or a *Fault.
type dispatcher struct {
	backend Backend
	now     func() time.Time // for getProcessInfo's now and uptimes
	reg     *registry
}

func newDispatcher(b Backend, now func() time.Time) *dispatcher {
	d := &dispatcher{backend: b, now: now}
	d.reg = newRegistry(d)
	return d
}

// call runs one method. It never panics on client input: every problem
// with the call itself is a Fault.
func (d *dispatcher) call(ctx context.Context, name string, params []any) (any, *Fault) {
	m, ok := d.lookup(name)
	if !ok {
		return nil, NewFault(protocol.FaultUnknownMethod, "")
	}
	if len(params) < m.required || len(params) > len(m.params) {
		return nil, NewFault(protocol.FaultIncorrectParameters, "")
	}
	if m.guarded && d.backend.State() < protocol.SupervisorRunning {
		return nil, NewFault(protocol.FaultShutdownState, "")
	}
	a := make(args, len(params))
	for i, p := range params {
		v, err := convertArg(m.params[i], p)
		if err != nil {
			return nil, NewFault(protocol.FaultIncorrectParameters, fmt.Sprintf("parameter %d: %v", i+1, err))
		}
		a[i] = v
	}
	v, err := m.call(ctx, a)
	if err != nil {
		return nil, FaultOf(err)
	}
	return v, nil
}

// lookup applies the reference's rules: exactly "namespace.method", and
// nothing starting with an underscore.
func (d *dispatcher) lookup(name string) (*method, bool) {
	ns, meth, ok := strings.Cut(name, ".")
	if !ok || ns == "" || strings.Contains(meth, ".") || strings.HasPrefix(meth, "_") {
		return nil, false
	}
	m, ok := d.reg.methods[name]
	return m, ok
}

// convertArg coerces a decoded XML-RPC value the way the reference's
// Python code would accept it: ints from int, boolean or numeric
// strings; booleans from boolean or int; strings from string or base64.
func convertArg(kind argKind, v any) (any, error) {
	switch kind {
	case kindString:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
		return nil, fmt.Errorf("want a string, got %s", typeName(v))
	case kindInt:
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > math.MaxInt64/2 {
				return nil, fmt.Errorf("want an int, got %v", x)
			}
			return int64(x), nil
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("want an int, got %q", clip(x))
			}
			return n, nil
		}
		return nil, fmt.Errorf("want an int, got %s", typeName(v))
	case kindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int:
			return x != 0, nil
		}
		return nil, fmt.Errorf("want a boolean, got %s", typeName(v))
	case kindArray:
		if x, ok := v.([]any); ok {
			return x, nil
		}
		return nil, fmt.Errorf("want an array, got %s", typeName(v))
	}
	return nil, fmt.Errorf("unsupported parameter kind %d", kind)
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case int:
		return "int"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		return "double"
	case []byte:
		return "base64"
	case []any:
		return "array"
	case map[string]any:
		return "struct"
	}
	return fmt.Sprintf("%T", v)
}

// splitNamespec splits "group:proc"; "name" alone means group and
// process of that name; "group:" and "group:*" give proc "" (the whole
// group).
func splitNamespec(ns string) (group, proc string) {
	group, proc, ok := strings.Cut(ns, ":")
	if !ok {
		return ns, ns
	}
	if proc == "*" {
		proc = ""
	}
	return group, proc
}

// wholeGroup returns the group a "group:*" namespec names, or BAD_NAME
// when there is no such group.
func (d *dispatcher) wholeGroup(name string) (string, bool, error) {
	group, proc := splitNamespec(name)
	if proc != "" {
		return "", false, nil
	}
	if !d.backend.HasGroup(group) {
		return "", true, NewFault(protocol.FaultBadName, name)
	}
	return group, true, nil
}

func (d *dispatcher) startProcess(ctx context.Context, a args) (any, error) {
	name, wait := a.str(0), a.boolOr(1)
	group, whole, err := d.wholeGroup(name)
	if err != nil {
		return nil, err
	}
	if whole {
		return results(d.backend.StartProcessGroup(ctx, group, wait))
	}
	return true, d.backend.StartProcess(ctx, name, wait)
}

func (d *dispatcher) stopProcess(ctx context.Context, a args) (any, error) {
	name, wait := a.str(0), a.boolOr(1)
	group, whole, err := d.wholeGroup(name)
	if err != nil {
		return nil, err
	}
	if whole {
		return results(d.backend.StopProcessGroup(ctx, group, wait))
	}
	return true, d.backend.StopProcess(ctx, name, wait)
}

func (d *dispatcher) signalProcess(_ context.Context, a args) (any, error) {
	name, sig := a.str(0), a.str(1)
	group, whole, err := d.wholeGroup(name)
	if err != nil {
		return nil, err
	}
	if whole {
		return results(d.backend.SignalProcessGroup(group, sig))
	}
	return true, d.backend.SignalProcess(name, sig)
}

// multicall runs the calls one after the other (a waiting call finishes
// before the next starts). Results are bare values; faults are inline
// {faultCode, faultString} structs. Once the client has gone, the calls
// not yet started are dropped: nobody would see their results.
func (d *dispatcher) multicall(ctx context.Context, a args) (any, error) {
	calls := a.list(0)
	out := make([]any, 0, len(calls))
	for _, c := range calls {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out = append(out, d.oneOfMany(ctx, c))
	}
	return out, nil
}

func (d *dispatcher) oneOfMany(ctx context.Context, c any) any {
	fault := func(f *Fault) any {
		return Struct{{"faultCode", int(f.Code)}, {"faultString", f.String}}
	}
	spec, ok := c.(map[string]any)
	if !ok {
		return fault(NewFault(protocol.FaultIncorrectParameters, "a call must be a struct"))
	}
	nameVal, ok := spec["methodName"]
	if !ok {
		return fault(NewFault(protocol.FaultIncorrectParameters, "No methodName"))
	}
	name, ok := nameVal.(string)
	if !ok {
		return fault(NewFault(protocol.FaultIncorrectParameters, "methodName must be a string"))
	}
	if name == "system.multicall" {
		return fault(NewFault(protocol.FaultIncorrectParameters, "Recursive system.multicall forbidden"))
	}
	var params []any
	if p, ok := spec["params"]; ok {
		if params, ok = p.([]any); !ok {
			return fault(NewFault(protocol.FaultIncorrectParameters, "params must be an array"))
		}
	}
	v, f := d.call(ctx, name, params)
	if f != nil {
		return fault(f)
	}
	return v
}
