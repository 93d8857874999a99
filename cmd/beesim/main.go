// Command beesim serves a simulated Bee node API for tests, benchmarks and the demo.
// It prints its URL as the first line on stdout and stops on SIGINT or SIGTERM. With
// -nodes N it runs N nodes of one simulated network and prints their URLs, one per line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/swarmgate/caddy-bee/internal/beesim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:1633", "address to listen on (127.0.0.1:0 picks a free port)")
	blockTime := flag.Duration("block-time", 5*time.Second, "simulated block time")
	price := flag.Int64("price", 24000, "current price, PLUR per chunk per block")
	balance := flag.Int64("balance", 1000, "wallet balance in BZZ")
	purchaseLatency := flag.Duration("purchase-latency", 0, "how long a purchase takes to return (mining)")
	listedAfter := flag.Uint64("listed-after", 4, "blocks before a new batch appears in GET /stamps")
	usableAfter := flag.Uint64("usable-after", 14, "blocks before a new batch is usable")
	maxStored := flag.Int64("max-stored-bytes", 1<<30, "uploaded bytes kept for download")
	downloadLatency := flag.Duration("download-latency", 0, "added latency before download response headers")
	corsOrigins := flag.String("cors-allowed-origins", "", "comma-separated origins (or *) that get CORS headers, like Bee's --cors-allowed-origins")
	beeVersion := flag.String("bee-version", beesim.Version281, "Bee release to answer as: "+beesim.Version281+" or "+beesim.Version280+
		" (2.8.0: uploads default to redundancy level 0, no utilizationRatio, PATCH /stamps/{id} or GET /batches/{id})")
	nodes := flag.Int("nodes", 1, "run this many nodes of one network: content is shared, batches, wallets, stats and faults are per node; "+
		"they listen on consecutive ports from -listen's (all on free ports with port 0)")
	verbose := flag.Bool("v", false, "log every request to stderr")
	flag.Parse()
	if err := beesim.CheckVersion(*beeVersion); err != nil {
		fmt.Fprintf(os.Stderr, "beesim: -bee-version: %v\n", err)
		os.Exit(2)
	}

	sims, err := beesim.NewNetwork(*nodes, beesim.Options{
		BlockTime: *blockTime, Price: big.NewInt(*price), BalanceBZZ: *balance,
		PurchaseLatency: *purchaseLatency, ListedAfterBlocks: *listedAfter, UsableAfterBlocks: *usableAfter,
		MaxStoredBytes: *maxStored, CORSAllowedOrigins: splitList(*corsOrigins), BeeVersion: *beeVersion,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "beesim: -nodes: %v\n", err)
		os.Exit(2)
	}
	listeners, err := listenAll(*listen, len(sims))
	if err != nil {
		fmt.Fprintf(os.Stderr, "beesim: %v\n", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	servers := make([]*http.Server, len(sims))
	for i, sim := range sims {
		if *downloadLatency > 0 {
			sim.SetClassFault(beesim.ClassDownload, beesim.ClassFault{Latency: *downloadLatency})
		}
		handler := sim.Handler()
		if *verbose {
			handler = logged(handler, i, len(sims))
		}
		servers[i] = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		fmt.Printf("http://%s\n", listeners[i].Addr())
	}
	errs := make(chan error, len(sims))
	for i, srv := range servers {
		go func() { errs <- srv.Serve(listeners[i]) }()
	}
	select {
	case <-ctx.Done():
	case err := <-errs:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "beesim: %v\n", err)
			os.Exit(1)
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdown)
	}
}

// listenAll opens n listeners: addr for the first and the following ports for the others,
// or n free ports when addr's port is 0.
func listenAll(addr string, n int) ([]net.Listener, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-listen %q: want host:port: %v", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port+n-1 > 65535 {
		return nil, fmt.Errorf("-listen %q: port %q does not leave room for %d nodes", addr, portStr, n)
	}
	var out []net.Listener
	for i := range n {
		p := port
		if port != 0 {
			p = port + i
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, fmt.Errorf("listen %s (node %d): %v", net.JoinHostPort(host, strconv.Itoa(p)), i+1, err)
		}
		out = append(out, ln)
	}
	return out, nil
}

// logged logs every request to stderr, naming the node when there are several.
func logged(inner http.Handler, node, nodes int) http.Handler {
	prefix := ""
	if nodes > 1 {
		prefix = fmt.Sprintf("node%d ", node+1)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		inner.ServeHTTP(w, r)
		log.Printf("%s%s %s %s", prefix, r.Method, r.URL.RequestURI(), time.Since(start).Round(time.Microsecond))
	})
}

// splitList reads a comma-separated flag value; empty entries are dropped.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
