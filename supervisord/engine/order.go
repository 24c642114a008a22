package engine

import (
	"cmp"
	"slices"
)

// byPriority is the group's processes sorted by priority only, ties in
// config order: the order the reference's RPC group calls and stop_all
// use (its processes compare by priority alone), while autostart follows
// the config order ([group:x] programs= as written).
func (g *group) byPriority() []*process {
	out := slices.Clone(g.procs)
	slices.SortStableFunc(out, func(a, b *process) int { return cmp.Compare(a.cfg.Priority, b.cfg.Priority) })
	return out
}
