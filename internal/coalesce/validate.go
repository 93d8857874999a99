package coalesce

import "fmt"

// Validate refuses negative bounds, naming them as the coalesce options of the bee
// directive do; zero means the default.
func (o Options) Validate() error {
	switch {
	case o.MemoryWindow < 0:
		return fmt.Errorf("coalesce memory_window %d: must not be negative", o.MemoryWindow)
	case o.MaxWait < 0:
		return fmt.Errorf("coalesce max_wait %s: must not be negative", o.MaxWait)
	case o.MaxMemory < 0 || o.MaxSpill < 0:
		return fmt.Errorf("coalesce max_memory %d, max_spill %d: must not be negative", o.MaxMemory, o.MaxSpill)
	case o.StallTimeout < 0:
		return fmt.Errorf("coalesce stall_timeout %s: must not be negative", o.StallTimeout)
	}
	return nil
}
