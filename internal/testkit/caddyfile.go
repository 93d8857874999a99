package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Caddyfile is a config with one plain-HTTP site on 127.0.0.1:Port, as the tests and the
// benchmark run the built caddy binary.
type Caddyfile struct {
	Storage string // file_system storage directory
	Port    int
	Admin   string // admin endpoint address; "" turns it off
	Site    string // the site block's directives, unindented; each line is indented here
	// WriteMaxChunk is the server's `timeouts { write_max_chunk }`: the most one write to a
	// client covers between write-deadline resets; "" keeps Caddy's default (64 KiB).
	WriteMaxChunk string
}

func (c Caddyfile) String() string {
	admin := "off"
	if c.Admin != "" {
		admin = c.Admin
	}
	var site strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(c.Site, "\n"), "\n") {
		if line != "" {
			site.WriteString("\t" + line)
		}
		site.WriteString("\n")
	}
	servers := ""
	if c.WriteMaxChunk != "" {
		servers = "\tservers {\n\t\ttimeouts {\n\t\t\twrite_max_chunk " + c.WriteMaxChunk + "\n\t\t}\n\t}\n"
	}
	return fmt.Sprintf("{\n\tadmin %s\n\tstorage file_system %s\n%s}\nhttp://127.0.0.1:%d {\n%s}\n", admin, c.Storage, servers, c.Port, site.String())
}

// Write writes the config to path.
func (c Caddyfile) Write(path string) error {
	if err := os.WriteFile(path, []byte(c.String()), 0o644); err != nil {
		return fmt.Errorf("write Caddyfile: %w", err)
	}
	return nil
}

// CaddyEnv keeps a caddy process's home and XDG directories inside dir, away from the
// real $HOME.
func CaddyEnv(dir string) []string {
	return []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_DATA_HOME=" + filepath.Join(dir, "data")}
}

// CaddyRunArgs are the arguments that run the caddy binary on a Caddyfile.
func CaddyRunArgs(caddyfile string) []string {
	return []string{"run", "--config", caddyfile, "--adapter", "caddyfile"}
}
