package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The binary prints its URL first, serves Bee's API there, and stops cleanly on SIGTERM.
func TestBinaryPrintsURLAndStopsOnSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "beesim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-block-time", "100ms")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(line)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q is not the URL", line)
	}
	resp, err := http.Get(url + "/chainstate")
	if err != nil {
		t.Fatal(err)
	}
	var cs map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&cs); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs["currentPrice"] != "24000" {
		t.Fatalf("chainstate %v", cs)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
}

// -nodes 2 prints two URLs, one per line: two nodes of one network.
func TestBinaryRunsSeveralNodes(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "beesim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-nodes", "2", "-block-time", "100ms")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewReader(stdout)
	var urls []string
	for range 2 {
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, strings.TrimSpace(line))
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
		resp, err := http.Get(url + "/stamps")
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Stamps []any }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		listed[i] = len(body.Stamps)
	}
	if listed[1] != 0 {
		t.Fatalf("node 2 lists %d batches it did not buy", listed[1])
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
