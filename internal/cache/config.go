package cache

// Config configures the content cache of immutable answers (GET/HEAD of a hex
// reference on /bytes, /bzz and /chunks).
type Config struct {
	// Disabled turns the cache off. Immutable answers still carry
	// `Cache-Control: public, max-age=31536000, immutable`.
	Disabled bool `json:"disabled,omitempty"`

	// Memory bounds the memory tier in bytes. Default: 64 MiB.
	Memory int64 `json:"memory,omitempty"`

	// Disk bounds the disk tier in bytes; 0 (the default) means no disk tier. Needs Dir.
	Disk int64 `json:"disk,omitempty"`

	// Dir is the disk tier's directory. Its entries survive reloads and restarts.
	Dir string `json:"dir,omitempty"`
}

// Tiers are the tier bounds in bytes with the defaults applied, and the disk tier's directory
// ("" without one); c may be nil.
func (c *Config) Tiers() (memory, disk int64, dir string) {
	memory = DefaultMemory
	if c != nil {
		if c.Memory > 0 {
			memory = c.Memory
		}
		disk = c.Disk
	}
	if disk > 0 {
		dir = c.Dir
	}
	return memory, disk, dir
}

// Validate checks an enabled configuration's sizes and directory; c may be nil.
func (c *Config) Validate() error {
	if c == nil || c.Disabled {
		return nil
	}
	return CheckSizes(c.Memory, c.Disk, c.Dir)
}
