package cache

import "fmt"

// CheckSizes checks a cache configuration's tier sizes (bytes) and disk directory.
func CheckSizes(memory, disk int64, dir string) error {
	if memory < 0 || disk < 0 {
		return fmt.Errorf("cache memory %d, disk %d: must not be negative", memory, disk)
	}
	if disk > 0 && dir == "" {
		return fmt.Errorf("cache disk %d needs a directory: add `dir <path>` to the cache block", disk)
	}
	if disk == 0 && dir != "" {
		return fmt.Errorf("cache dir %q without a disk size: add `disk <size>` (e.g. 10GiB) to the cache block", dir)
	}
	return nil
}
