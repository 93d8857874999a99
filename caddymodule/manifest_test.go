package caddymodule

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/stretchr/testify/require"
)

// buildManifest is xcaddy.json: how to build Caddy with this plugin.
type buildManifest struct {
	CaddyVersion  string   `json:"caddy_version"`
	GoVersion     string   `json:"go_version"`
	ModulePath    string   `json:"module_path"`
	PluginPackage string   `json:"plugin_package"`
	Modules       []string `json:"modules"`
	Directives    []string `json:"directives"`
	XcaddyBuild   string   `json:"xcaddy_build"`
	GoBuild       string   `json:"go_build"`
}

func TestBuildManifestMatchesGoModAndRegistry(t *testing.T) {
	raw, err := os.ReadFile("../xcaddy.json")
	require.NoError(t, err)
	var m buildManifest
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&m))

	gomod, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	module := regexp.MustCompile(`(?m)^module (\S+)`).FindSubmatch(gomod)
	require.NotNil(t, module)
	require.Equal(t, string(module[1]), m.ModulePath, "module_path")
	caddyReq := regexp.MustCompile(`(?m)^\s*github\.com/caddyserver/caddy/v2 (v\S+)`).FindSubmatch(gomod)
	require.NotNil(t, caddyReq)
	require.Equal(t, string(caddyReq[1]), m.CaddyVersion, "caddy_version")
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	require.NotNil(t, goVer)
	require.Equal(t, string(goVer[1]), m.GoVersion, "go_version")
	require.Equal(t, m.ModulePath+"/caddymodule", m.PluginPackage, "plugin_package")
	require.Equal(t, "xcaddy build "+m.CaddyVersion+" --with "+m.ModulePath+"=.", m.XcaddyBuild)

	// Every module this package registers is listed, and every listed one is registered.
	var ours []string
	for _, id := range caddy.Modules() {
		info, err := caddy.GetModule(id)
		require.NoError(t, err)
		if strings.HasPrefix(modulePackage(info), m.ModulePath+"/") {
			ours = append(ours, id)
		}
	}
	require.ElementsMatch(t, m.Modules, ours, "modules registered by %s", m.PluginPackage)

	// Each directive adapts without an `order` global option.
	for _, dir := range m.Directives {
		_, err := adaptCaddyfile(t, ":8080 {\n\t"+dir+" 127.0.0.1:1633\n}\n")
		require.NoError(t, err, "directive %s", dir)
	}
}

func modulePackage(info caddy.ModuleInfo) string {
	t := reflect.TypeOf(info.New())
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

func TestCaddyfileExampleAdapts(t *testing.T) {
	raw, err := os.ReadFile("../Caddyfile.example")
	require.NoError(t, err)
	out, err := adaptCaddyfile(t, string(raw))
	require.NoError(t, err)
	for _, want := range []string{`"handler": "bee"`, `"handler": "reverse_proxy"`, `"pool"`, `"coalesce"`, `"admin_token"`} {
		require.Contains(t, out, want)
	}
}
