//go:build !linux

package password

// runLowPriority runs f. Only Linux can lower the priority of one thread
// (elsewhere setpriority applies to the whole process), so other systems
// hash at normal priority, bounded by the hashing slots alone.
func runLowPriority(f func()) { f() }
