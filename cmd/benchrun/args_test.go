package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRepoRelativeHidesAbsolutePaths(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	got := repoRelative([]string{"-caddy", filepath.Join(wd, "bin", "caddy"), "-beesim", "/elsewhere/bin/beesim", "-out", "BENCHMARKS.md"})
	want := []string{"-caddy", filepath.Join("bin", "caddy"), "-beesim", "beesim", "-out", "BENCHMARKS.md"}
	if !slices.Equal(got, want) {
		t.Errorf("repoRelative = %q, want %q", got, want)
	}
}
