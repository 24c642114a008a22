package rpc

import (
	"context"
	"fmt"
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
	// upgrader runs the gosupervisor.*Upgrade* methods; nil = none.
	upgrader Upgrader
	// maxMulticall bounds the encoded results of one system.multicall.
	maxMulticall int64
}

func newDispatcher(b Backend, now func() time.Time, u Upgrader) *dispatcher {
	d := &dispatcher{backend: b, now: now, upgrader: u, maxMulticall: DefaultMaxMulticallResponse}
	d.reg = newRegistry(d)
	return d
}

// call runs one method. It never panics on client input: every problem
// with the call itself is a Fault. Parameters reach the method as
// decoded: each method converts them where, and as, the reference's
// Python code does, so a wrongly typed value meets the same checks in the
// same order (see pyvalue.go).
func (d *dispatcher) call(ctx context.Context, name string, params []any) (any, *Fault) {
	m, ok := d.lookup(name)
	if !ok {
		return nil, NewFault(protocol.FaultUnknownMethod, "")
	}
	if len(params) < m.required || len(params) > m.params {
		return nil, NewFault(protocol.FaultIncorrectParameters, "")
	}
	if m.guarded && d.backend.State() < protocol.SupervisorRunning {
		return nil, NewFault(protocol.FaultShutdownState, "")
	}
	v, err := m.call(ctx, args(params))
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

// badName is BAD_NAME for a name parameter the reference cannot find:
// "BAD_NAME: " and its str(), bare for <nil/> (the reference's extra None).
func badName(v any) *Fault {
	if v == nil {
		return NewFault(protocol.FaultBadName, "")
	}
	return NewFaultFor(protocol.FaultBadName, pyStr(v))
}

// processName is a process name parameter ("name", "group:name",
// "group:*"). The reference splits it as a str; any other type names no
// process, and answers the fault of a name not found (the reference
// fails with HTTP 500 there).
func processName(v any) (string, error) {
	if s, ok := pyString(v); ok {
		return s, nil
	}
	return "", badName(v)
}

// groupName is a group name parameter. The reference looks it up in its
// dict of groups: a list or struct cannot key it (a TypeError, which it
// answers as bare INCORRECT_PARAMETERS) unless scan is set (the method
// compares it with each configured name instead); any other value that
// is no str, and the empty name, is BAD_NAME.
func groupName(v any, scan bool) (string, error) {
	s, ok := pyString(v)
	switch {
	case !ok && !scan && !pyHashable(v):
		return "", NewFault(protocol.FaultIncorrectParameters, "")
	case !ok:
		return "", badName(v)
	case s == "":
		return "", NewFaultFor(protocol.FaultBadName, "")
	}
	return s, nil
}

// wholeGroup returns the group a "group:*" namespec names, or BAD_NAME
// when there is no such group.
func (d *dispatcher) wholeGroup(name string) (string, bool, error) {
	group, proc := splitNamespec(name)
	if proc != "" {
		return "", false, nil
	}
	if !d.backend.HasGroup(group) {
		return "", true, NewFaultFor(protocol.FaultBadName, name)
	}
	return group, true, nil
}

func (d *dispatcher) startProcess(ctx context.Context, a args) (any, error) {
	name, err := processName(a[0])
	if err != nil {
		return nil, err
	}
	wait := a.wait(1)
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
	name, err := processName(a[0])
	if err != nil {
		return nil, err
	}
	wait := a.wait(1)
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
	name, err := processName(a[0])
	if err != nil {
		return nil, err
	}
	sig := signalText(a[1])
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
//
// Each result is encoded as it comes, and the encoded results are bounded
// by maxMulticall: a log read that would go past it is not made, and
// from then on every call is answered with the budget's refusal without
// being run. A result no reader asked for (a process info, an action's outcome)
// is kept whole, so the bound may be passed by one such result.
func (d *dispatcher) multicall(ctx context.Context, a args) (any, error) {
	var calls []any
	switch x := a[0].(type) {
	case []any:
		calls = x
	case string, []byte:
		// The reference copies the calls with calls[:], which a str
		// survives: an empty one is no calls, any other fails on its
		// first character (HTTP 500 there).
		if s, _ := pyString(x); s != "" {
			return nil, NewFault(protocol.FaultIncorrectParameters, "")
		}
	default:
		return nil, NewFault(protocol.FaultIncorrectParameters, "")
	}
	out := newEncodedArray()
	budget := newResponseBudget(d.maxMulticall)
	ctx = withBudget(ctx, budget)
	for _, c := range calls {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		spec, ok := c.(map[string]any)
		if !ok {
			// The reference runs the calls before this one, then fails
			// the whole request (HTTP 500 there).
			return nil, NewFault(protocol.FaultIncorrectParameters, "")
		}
		before := len(out.doc)
		var v any = faultStruct(budget.refusal)
		if !budget.exhausted {
			budget.asked = false
			v = d.oneOfMany(ctx, spec)
		}
		if err := out.add(v); err != nil {
			return nil, err
		}
		if budget.exhausted {
			continue
		}
		budget.left -= int64(len(out.doc) - before)
		if budget.left < 0 {
			budget.exhausted = true
			if budget.asked {
				// A log read whose text grew past the limit when encoded.
				out.truncate(before)
				if err := out.add(faultStruct(budget.refusal)); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// faultStruct is a fault as a multicall lists it.
func faultStruct(f *Fault) Struct {
	return Struct{{"faultCode", int(f.Code)}, {"faultString", f.String}}
}

// oneOfMany runs one call of a multicall: its result, or its fault as a
// {faultCode, faultString} struct.
func (d *dispatcher) oneOfMany(ctx context.Context, spec map[string]any) any {
	nameVal := spec["methodName"]
	if nameVal == nil {
		return faultStruct(NewFault(protocol.FaultIncorrectParameters, "No methodName"))
	}
	name, ok := pyString(nameVal)
	if !ok {
		// The reference splits the name as a str; the AttributeError
		// becomes a FAILED fault carrying the exception.
		return faultStruct(NewFault(protocol.FaultFailed,
			fmt.Sprintf("<class 'AttributeError'>:'%s' object has no attribute 'split'", pyTypeName(nameVal))))
	}
	if name == "system.multicall" {
		return faultStruct(NewFault(protocol.FaultIncorrectParameters, "Recursive system.multicall forbidden"))
	}
	params, spread := []any(nil), true // absent: no parameters
	if p, present := spec["params"]; present {
		params, spread = spreadParams(p)
	}
	if !spread {
		if _, found := d.lookup(name); !found {
			return faultStruct(NewFault(protocol.FaultUnknownMethod, ""))
		}
		return faultStruct(NewFault(protocol.FaultIncorrectParameters, ""))
	}
	v, f := d.call(ctx, name, params)
	if f != nil {
		return faultStruct(f)
	}
	return v
}

// spreadParams is a multicall's params as the reference passes them:
// spread into the call (func(*params)), so a str is its characters and a struct its keys; false for
// a value Python cannot spread (the TypeError the reference answers as
// INCORRECT_PARAMETERS once the method is found).
func spreadParams(p any) ([]any, bool) {
	switch x := p.(type) {
	case []any:
		return x, true
	case string, []byte:
		s, _ := pyString(x)
		var out []any
		for _, r := range s {
			out = append(out, string(r))
		}
		return out, true
	case map[string]any:
		var out []any
		for _, k := range pyKeys(x) {
			out = append(out, k)
		}
		return out, true
	}
	return nil, false
}
