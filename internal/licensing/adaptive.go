package licensing

import "sync/atomic"

// switchWindow is how many events an adaptiveSwitch looks back on.
const switchWindow = 1024

// adaptiveSwitch turns a cheaper way of doing something on while, over the last
// window of events, at least a share of them (hits) would have gained from it, and off
// again when they no longer do. It starts off. Events and hits of different windows
// may overlap at a boundary, and a goroutine delayed at a boundary may store an older
// window's verdict over a newer one until the next: the decision is a heuristic, never
// a matter of correctness. den must not be 0.
type adaptiveSwitch struct {
	events, hits atomic.Int64
	on           atomic.Bool
	num, den     int64 // on while hits / events ≥ num / den
}

// event counts one event and says whether the switch is on for it.
func (a *adaptiveSwitch) event() bool {
	if n := a.events.Add(1); n%switchWindow == 0 {
		a.on.Store(a.hits.Swap(0)*a.den >= switchWindow*a.num)
	}
	return a.on.Load()
}

// hit counts an event that would have gained (or gained).
func (a *adaptiveSwitch) hit() { a.hits.Add(1) }
