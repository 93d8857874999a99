// Package beesim simulates the parts of Bee's HTTP API that caddy-bee uses, after
// docs/bee-api.md, with a simulated chain and fault injection, for tests, benchmarks and
// the demo. Where it and docs/bee-api.md disagree, the simulator is wrong.
package beesim

import (
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/swarmgate/caddy-bee/internal/swarm"
)

// Options configures a simulator. Zero values mean the defaults.
type Options struct {
	BlockTime         time.Duration // default 5s
	Price             *big.Int      // PLUR per chunk per block; default 24000
	BalanceBZZ        int64         // wallet balance in BZZ; default 1000
	PurchaseLatency   time.Duration // time a purchase takes to return ("mining"); default 0
	ListedAfterBlocks uint64        // a new batch is absent from GET /stamps until then; default 4
	UsableAfterBlocks uint64        // and not usable until then; default 14
	MaxStoredBytes    int64         // uploaded content kept for download; default 1 GiB
	// CORSAllowedOrigins is Bee's --cors-allowed-origins: origins (or "*") whose requests
	// get Access-Control-* headers. Empty: none, as Bee by default.
	CORSAllowedOrigins []string
	// BeeVersion is the Bee release answered as: Version281 (default) or Version280.
	BeeVersion string
	// Now is the simulated chain's clock (blocks, TTLs, restarts); default time.Now. A test
	// that runs its client on a fake clock passes that clock's Now.
	Now func() time.Time
}

// Sim is one simulated Bee node.
type Sim struct {
	opts    Options
	profile profile
	start   time.Time

	// mu guards the node's state and the network's content store, which the nodes of one
	// network share (NewNetwork): one lock for both keeps every existing path correct.
	mu       *sync.Mutex
	balance  *big.Int // PLUR
	batches  map[string]*batch
	order    []string
	onChain  bool // an on-chain operation is in flight
	content  map[string]*stored
	chunks   map[[32]byte]chunkLoc // every data and intermediate chunk of kept uploads
	stored   *int64                // bytes kept in content, network-wide
	socs     map[[32]byte]*swarm.SOC
	faults   Faults
	syncTill time.Time

	stats statsCounters
}

// New returns a simulator whose chain starts now. It panics on an unknown BeeVersion; use
// CheckVersion to validate user input first.
func New(opts Options) *Sim {
	prof, err := profileFor(opts.BeeVersion)
	if err != nil {
		panic("beesim: " + err.Error())
	}
	if opts.BlockTime <= 0 {
		opts.BlockTime = 5 * time.Second
	}
	if opts.Price == nil || opts.Price.Sign() <= 0 {
		opts.Price = big.NewInt(24000)
	}
	if opts.BalanceBZZ <= 0 {
		opts.BalanceBZZ = 1000
	}
	if opts.ListedAfterBlocks == 0 {
		opts.ListedAfterBlocks = 4
	}
	if opts.UsableAfterBlocks == 0 {
		opts.UsableAfterBlocks = 14
	}
	if opts.MaxStoredBytes <= 0 {
		opts.MaxStoredBytes = 1 << 30
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	bal := new(big.Int).Mul(big.NewInt(opts.BalanceBZZ), plurPerBZZ)
	return &Sim{
		opts: opts, profile: prof, start: opts.Now(), balance: bal, mu: new(sync.Mutex),
		batches: map[string]*batch{}, content: map[string]*stored{}, chunks: map[[32]byte]chunkLoc{}, socs: map[[32]byte]*swarm.SOC{},
		stored: new(int64), stats: newStatsCounters(),
	}
}

var plurPerBZZ = big.NewInt(1e16)

// block is the current block number: one per BlockTime since start.
func (s *Sim) block() uint64 {
	return uint64(s.opts.Now().Sub(s.start) / s.opts.BlockTime)
}

// Handler serves the simulated Bee API and the /_beesim/ control API.
func (s *Sim) Handler() http.Handler {
	return http.HandlerFunc(s.serve)
}

func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/_beesim/") {
		s.serveControl(w, r)
		return
	}
	class := routeClass(r.Method, path)
	s.stats.request(r.Method, class)
	cors := s.setCORS(w, r)
	if servePlain(w, r) {
		return
	}
	if s.syncing() && path != "/health" {
		writeError(w, http.StatusServiceUnavailable, "Node is syncing. This endpoint is unavailable. Try again later.")
		return
	}
	if f := s.fault(class); f != nil {
		if f.Latency > 0 {
			select {
			case <-time.After(f.Latency):
			case <-r.Context().Done():
				return
			}
		}
		if f.Status != 0 {
			writeError(w, f.Status, f.message())
			return
		}
	}
	p := path
	if strings.HasPrefix(p, "/v1/") {
		p = p[len("/v1"):]
	}
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	w = newExposeWriter(w, r, seg)
	switch {
	case r.Method == http.MethodOptions && s.serveOptions(w, seg, cors):
	case p == "/health" && isGet(r):
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.profile.version + "-beesim", "apiVersion": s.profile.apiVersion})
	case p == "/readiness" && isGet(r):
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "version": s.profile.version + "-beesim", "apiVersion": s.profile.apiVersion})
	case p == "/node" && isGet(r):
		writeJSON(w, http.StatusOK, map[string]any{"beeMode": "full", "chequebookEnabled": true, "swapEnabled": true})
	case p == "/chainstate" && isGet(r):
		s.serveChainState(w)
	case p == "/wallet" && isGet(r):
		s.serveWallet(w)
	case seg[0] == "stamps":
		s.serveStamps(w, r, seg)
	case seg[0] == "batches" && len(seg) == 2 && r.Method == http.MethodGet && s.profile.v281:
		s.serveBatch(w, seg[1])
	case (p == "/bytes" || p == "/bzz") && r.Method == http.MethodPost:
		s.serveUpload(w, r, seg[0])
	case p == "/chunks" && r.Method == http.MethodPost:
		s.serveChunkUpload(w, r)
	case p == "/chunks/stream" && r.Method == http.MethodGet:
		s.serveChunkStream(w, r)
	case seg[0] == "soc" && len(seg) == 3 && r.Method == http.MethodPost:
		s.serveSOCUpload(w, r, seg[1], seg[2])
	case seg[0] == "soc" && len(seg) == 3 && r.Method == http.MethodGet:
		s.serveSOC(w, r, seg[1], seg[2])
	case seg[0] == "feeds" && len(seg) == 3 && r.Method == http.MethodPost:
		s.serveFeedManifest(w, r, seg[1], seg[2])
	case seg[0] == "feeds" && len(seg) == 3 && r.Method == http.MethodGet:
		s.serveFeed(w, r, seg[1], seg[2])
	case seg[0] == "chunks" && len(seg) == 2 && seg[1] != "stream" && isGet(r):
		s.serveChunk(w, r, strings.ToLower(seg[1]))
	case seg[0] == "bzz" && len(seg) == 2:
		// Bee redirects the bare manifest, whatever the method, to its directory form.
		u := *r.URL
		u.Path += "/"
		http.Redirect(w, r, u.String(), http.StatusPermanentRedirect)
	case (seg[0] == "bytes" && len(seg) == 2 || seg[0] == "bzz" && len(seg) >= 3) && isGet(r):
		s.serveDownload(w, r, seg)
	default:
		if allow := s.allowedMethods(seg); allow != nil {
			methodNotAllowed(w, allow)
			return
		}
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

func isGet(r *http.Request) bool { return r.Method == http.MethodGet || r.Method == http.MethodHead }

func (s *Sim) syncing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.Now().Before(s.syncTill)
}
