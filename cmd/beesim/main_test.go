package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// startBinary builds this command and runs it with args; it is killed when the test ends.
func startBinary(t *testing.T, args ...string) *testkit.Process {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "beesim")
	if err := testkit.Build(".", ".", bin); err != nil {
		t.Fatal(err)
	}
	p, err := testkit.Start("beesim", filepath.Join(dir, "beesim.log"), nil, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

// stopsOnSIGTERM sends SIGTERM and requires a clean exit.
func stopsOnSIGTERM(t *testing.T, p *testkit.Process) {
	t.Helper()
	if err := syscall.Kill(p.Cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
		if err := p.Wait(); err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Tail(2000))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
}

// The binary prints its URL first, serves Bee's API there, and stops cleanly on SIGTERM.
func TestBinaryPrintsURLAndStopsOnSIGTERM(t *testing.T) {
	p := startBinary(t, "-listen", "127.0.0.1:0", "-block-time", "100ms")
	url, err := p.FirstLine(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q is not the URL", url)
	}
	var cs map[string]any
	if err := testkit.GetJSON(url+"/chainstate", &cs); err != nil {
		t.Fatal(err)
	}
	if cs["currentPrice"] != "24000" {
		t.Fatalf("chainstate %v", cs)
	}
	stopsOnSIGTERM(t, p)
}

// -nodes 2 prints two URLs, one per line: two nodes of one network.
func TestBinaryRunsSeveralNodes(t *testing.T) {
	p := startBinary(t, "-listen", "127.0.0.1:0", "-nodes", "2", "-block-time", "100ms")
	urls, err := p.FirstLines(2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if urls[0] == urls[1] {
		t.Fatalf("two nodes on one URL %q", urls[0])
	}
	// A batch bought on node 1 is listed there only.
	resp, err := http.Post(urls[0]+"/stamps/100000000000/17", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("buy on node 1: %d", resp.StatusCode)
	}
	var listed [2]int
	for i, url := range urls {
		var body struct{ Stamps []any }
		if err := testkit.GetJSON(url+"/stamps", &body); err != nil {
			t.Fatal(err)
		}
		listed[i] = len(body.Stamps)
	}
	if listed[1] != 0 {
		t.Fatalf("node 2 lists %d batches it did not buy", listed[1])
	}
	stopsOnSIGTERM(t, p)
}
