package engine

// ExitReason says why an instance ended beyond its exit status; "" when
// nothing more is known.
type ExitReason string

// resourceEvent names the opt-in resource events.
type resourceEvent int

const (
	resourceOOM resourceEvent = iota
	resourceRSSLimit
)

// emitResource emits an opt-in PROCESS_RESOURCE_* event.
func (e *Engine) emitResource(p *process, pid int, kind resourceEvent, detail string) {}

// emitExitRecord emits the opt-in event of a crash record.
func (e *Engine) emitExitRecord(p *process, rec ExitRecord) {}
