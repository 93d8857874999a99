package caddymodule

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

var updateGolden = flag.Bool("update", false, "rewrite the JSON half of testdata/*.caddytest")

const goldenSeparator = "\n----------\n"

// adaptCaddyfile turns a Caddyfile into indented JSON, failing on adapter warnings.
func adaptCaddyfile(t *testing.T, caddyfile string) (string, error) {
	t.Helper()
	adapter := caddyconfig.GetAdapter("caddyfile")
	out, warnings, err := adapter.Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return "", err
	}
	for _, w := range warnings {
		t.Errorf("adapter warning: %s:%d: %s", w.File, w.Line, w.Message)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, out, "", "\t"); err != nil {
		t.Fatalf("indent: %v", err)
	}
	return indented.String(), nil
}

// TestAdaptGolden checks every testdata/*.caddytest: a Caddyfile, a separator line and the
// JSON it must adapt to. Run `go test ./caddymodule -run TestAdaptGolden -update` after an
// intended change, and review the diff.
func TestAdaptGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.caddytest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			caddyfile, want, found := strings.Cut(string(raw), goldenSeparator)
			if !found {
				t.Fatalf("%s: missing %q separator", file, strings.TrimSpace(goldenSeparator))
			}
			got, err := adaptCaddyfile(t, caddyfile+"\n")
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			if *updateGolden {
				if err := os.WriteFile(file, []byte(caddyfile+goldenSeparator+got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if strings.TrimSpace(got) != strings.TrimSpace(want) {
				t.Errorf("adapted JSON differs from %s (rerun with -update if intended)\ngot:\n%s", file, got)
			}
		})
	}
}
