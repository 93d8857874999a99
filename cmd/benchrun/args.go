package main

import (
	"os"
	"path/filepath"
	"strings"
)

// repoRelative rewrites absolute paths among the command-line arguments relative to the
// working directory (the repository under `make bench`), so a report names no machine's
// directories; a path outside it keeps only its base name.
func repoRelative(args []string) []string {
	wd, err := os.Getwd()
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if !filepath.IsAbs(a) {
			continue
		}
		if rel, relErr := filepath.Rel(wd, a); err == nil && relErr == nil && !strings.HasPrefix(rel, "..") {
			out[i] = rel
		} else {
			out[i] = filepath.Base(a)
		}
	}
	return out
}
