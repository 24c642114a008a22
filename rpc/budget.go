package rpc

import (
	"context"
	"fmt"

	"gosupervisor/internal/protocol"
)

// DefaultMaxMulticallResponse is HandlerOptions.MaxMulticallResponse's
// default. The reference builds any response in memory, so a multicall of
// a thousand readProcessStdoutLog calls on a 50 MB log asks it for 50 GB;
// here the results stop at this size. It is far above what a client
// polling many programs needs (tails, process infos), and one call on its
// own (outside a multicall) is not limited by it.
const DefaultMaxMulticallResponse = 32 << 20

// responseBudget is what is left of the bound of one multicall's
// results while it runs. The log readers ask it before they read (asked
// records that they did); the multicall charges each encoded result.
type responseBudget struct {
	left      int64
	asked     bool
	exhausted bool
	// refusal answers the calls past the bound.
	refusal *Fault
}

type budgetKey struct{}

// withBudget gives the calls run under ctx the budget b.
func withBudget(ctx context.Context, b *responseBudget) context.Context {
	return context.WithValue(ctx, budgetKey{}, b)
}

// checkBudget is nil when n more bytes of result fit the budget of the
// multicall running under ctx (always, outside a multicall), else the
// fault of a call past the limit.
func checkBudget(ctx context.Context, n int64) error {
	b, _ := ctx.Value(budgetKey{}).(*responseBudget)
	if b == nil {
		return nil
	}
	b.asked = true
	if n > b.left {
		b.exhausted = true
		return b.refusal
	}
	return nil
}

// newResponseBudget is the budget of one multicall bounded to limit bytes.
func newResponseBudget(limit int64) *responseBudget {
	size := fmt.Sprintf("%d bytes", limit)
	if limit%(1<<20) == 0 {
		size = fmt.Sprintf("%d MiB", limit>>20)
	}
	return &responseBudget{left: limit, refusal: NewFault(protocol.FaultFailed,
		"response too large: the results of one system.multicall are limited to "+size+"; this call was not run")}
}

// encodedArray is a multicall's results, encoded as they came in: the
// response document up to and including the array's elements.
type encodedArray struct{ doc []byte }

const (
	arrayHead = "<value><array><data>\n"
	arrayTail = "</data></array></value>\n"
)

func newEncodedArray() *encodedArray {
	return &encodedArray{doc: append(make([]byte, 0, 4096), responseHead+arrayHead...)}
}

// add encodes one result.
func (e *encodedArray) add(v any) error {
	doc, err := appendValue(e.doc, v)
	if err != nil {
		return err
	}
	e.doc = doc
	return nil
}

// truncate drops what was added after the document had n bytes.
func (e *encodedArray) truncate(n int) { e.doc = e.doc[:n] }

func (e *encodedArray) appendXMLValue(buf []byte) []byte {
	buf = append(buf, e.doc[len(responseHead):]...)
	return append(buf, arrayTail...)
}

// document finishes the response in place (no copy of the results):
// handler.call sends it as it is.
func (e *encodedArray) document() []byte {
	return append(e.doc, arrayTail+responseTail...)
}
