// Command beesim serves a simulated Bee node API for tests, benchmarks and the demo.
// It prints its URL as the first line on stdout and stops on SIGINT or SIGTERM.
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
	verbose := flag.Bool("v", false, "log every request to stderr")
	flag.Parse()
	if err := beesim.CheckVersion(*beeVersion); err != nil {
		fmt.Fprintf(os.Stderr, "beesim: -bee-version: %v\n", err)
		os.Exit(2)
	}

	sim := beesim.New(beesim.Options{
		BlockTime: *blockTime, Price: big.NewInt(*price), BalanceBZZ: *balance,
		PurchaseLatency: *purchaseLatency, ListedAfterBlocks: *listedAfter, UsableAfterBlocks: *usableAfter,
		MaxStoredBytes: *maxStored, CORSAllowedOrigins: splitList(*corsOrigins), BeeVersion: *beeVersion,
	})
	if *downloadLatency > 0 {
		sim.SetClassFault(beesim.ClassDownload, beesim.ClassFault{Latency: *downloadLatency})
	}
	handler := sim.Handler()
	if *verbose {
		inner := handler
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			inner.ServeHTTP(w, r)
			log.Printf("%s %s %s", r.Method, r.URL.RequestURI(), time.Since(start).Round(time.Microsecond))
		})
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "beesim: listen %s: %v\n", *listen, err)
		os.Exit(1)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "beesim: %v\n", err)
		os.Exit(1)
	}
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
