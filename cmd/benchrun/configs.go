package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/swarmgate/caddy-bee/internal/testkit"
)

// target is one configuration under test: a server in front of the simulator.
type target struct {
	key   string // A, B, C, D
	name  string
	url   string // base URL of the gateway
	proc  *testkit.Process
	admin int // admin endpoint's port, 0: off (-distinct-profile turns it on for A and B)
}

const benchToken = "bench-token"

// benchBlockTime makes purchased batches usable within a second (14 blocks).
const benchBlockTime = 50 * time.Millisecond

// stopGrace is how long a stopped server may take to exit before SIGKILL.
const stopGrace = 5 * time.Second

// caddyfileA is plain Caddy: reverse_proxy to the simulator and nothing else.
func caddyfileA(dir string, port int, sim string) testkit.Caddyfile {
	return testkit.Caddyfile{Storage: filepath.Join(dir, "storage"), Port: port, Site: "reverse_proxy " + sim}
}

// caddyfileB is caddy-bee with coalescing (on by default) and a pool of depth-22 batches,
// deep enough that the upload workload never fills one, so injection is measured, not
// batch turnover.
func caddyfileB(dir string, port int, sim string, reserve int) testkit.Caddyfile {
	return testkit.Caddyfile{Storage: filepath.Join(dir, "storage"), Port: port, Site: fmt.Sprintf(`bee %s {
	admin_token %s
	pool {
		reserve large %d
		block_time %v
		duration 24h
		purchase_spacing 1ms
		max_purchases_per_hour 100000
	}
}`, sim, benchToken, reserve, benchBlockTime)}
}

// caddyfileBCacheOff is caddyfileB with the content cache off (configuration E).
func caddyfileBCacheOff(dir string, port int, sim string, reserve int) testkit.Caddyfile {
	c := caddyfileB(dir, port, sim, reserve)
	c.Site = strings.Replace(c.Site, "\tadmin_token", "\tcache off\n\tadmin_token", 1)
	return c
}

func startCaddy(ps *testkit.Processes, bin, key, name, dir string, caddyfile testkit.Caddyfile, port int) (*target, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "Caddyfile")
	if err := caddyfile.Write(path); err != nil {
		return nil, err
	}
	p, err := ps.Start(name, filepath.Join(dir, "caddy.log"), testkit.CaddyEnv(dir), bin, testkit.CaddyRunArgs(path)...)
	if err != nil {
		return nil, err
	}
	t := &target{key: key, name: name, url: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
	return t, p.WaitHTTP(t.url+"/health", 30*time.Second)
}

// nginxConfig caches with proxy_cache_lock, nginx's answer to a stampede: one request goes
// upstream, the others wait for the cached copy.
func nginxConfig(dir string, port int, simHostPort string) string {
	// Only root may name a user; as root, nginx's workers would otherwise drop to nobody and
	// lose access to the temp dirs.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	return fmt.Sprintf(`worker_processes 2;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
%[4]s
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	proxy_cache_path %[1]s/cache levels=1:2 keys_zone=bee:16m max_size=8g inactive=10m use_temp_path=off;
	upstream bee { server %[3]s; keepalive 64; }
	server {
		listen 127.0.0.1:%[2]d;
		client_max_body_size 0;
		location / {
			proxy_pass http://bee;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_cache bee;
			proxy_cache_lock on;
			proxy_cache_lock_timeout 120s;
			proxy_cache_lock_age 120s;
			proxy_cache_valid 200 10m;
		}
	}
}
`, dir, port, simHostPort, user)
}

func startNginx(ps *testkit.Processes, dir string, port int, simHostPort string) (*target, error) {
	return startNginxSized(ps, dir, port, simHostPort, "8g")
}

// startNginxSized is startNginx with the cache's max_size (nginx syntax, e.g. 256m).
func startNginxSized(ps *testkit.Processes, dir string, port int, simHostPort, maxSize string) (*target, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "nginx.conf")
	conf := strings.Replace(nginxConfig(dir, port, simHostPort), "max_size=8g", "max_size="+maxSize, 1)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	bin, err := exec.LookPath("nginx")
	if err != nil {
		return nil, err
	}
	p, err := ps.Start("nginx", filepath.Join(dir, "nginx.out"), nil, bin, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return nil, err
	}
	t := &target{key: "C", name: "nginx proxy_cache_lock", url: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
	return t, p.WaitHTTP(t.url+"/health", 15*time.Second)
}

// startVarnish runs varnishd with its built-in VCL in front of the simulator: Varnish
// coalesces identical misses on its waiting list and streams the fetch to every waiter.
func startVarnish(ps *testkit.Processes, dir string, port int, simHostPort string) (*target, error) {
	return startVarnishSized(ps, dir, port, simHostPort, "2G")
}

// startVarnishSized is startVarnish with its malloc storage size (varnishd syntax, e.g. 256m).
func startVarnishSized(ps *testkit.Processes, dir string, port int, simHostPort, size string) (*target, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bin, err := exec.LookPath("varnishd")
	if err != nil {
		return nil, err
	}
	args := []string{"-F", "-a", fmt.Sprintf("127.0.0.1:%d", port), "-b", simHostPort,
		"-n", filepath.Join(dir, "work"), "-s", "malloc," + size, "-T", "none",
		"-p", "thread_pool_max=2000", "-p", "thread_pools=2"}
	p, err := ps.Start("varnish", filepath.Join(dir, "varnish.out"), nil, bin, args...)
	if err != nil {
		return nil, err
	}
	t := &target{key: "D", name: "varnish", url: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
	return t, p.WaitHTTP(t.url+"/health", 30*time.Second)
}
