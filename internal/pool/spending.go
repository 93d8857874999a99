package pool

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/bee"
)

// refusedBeforeChain reports whether Bee refused an on-chain operation before it could reach
// the chain (4xx, 501 Not Implemented, 429 busy, or no connection at all): such a refusal
// spent nothing and does not count against max_purchases_per_hour. A timeout, a 5xx or an
// answer that cannot be read may have reached the chain and counts.
func refusedBeforeChain(err error) bool {
	var apiErr *bee.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status >= 400 && apiErr.Status < 500 || apiErr.Status == http.StatusNotImplemented
	}
	var callErr *bee.CallError
	return errors.As(err, &callErr) && !bee.IsTimeout(err)
}

// refundOperation takes back the cap slot an operation stamped at took, once Bee is known to
// have refused it before the chain.
func refundOperation(doc *ledgerDoc, at time.Time) {
	if i := slices.IndexFunc(doc.Operations, at.Equal); i >= 0 {
		doc.Operations = slices.Delete(doc.Operations, i, i+1)
	}
}

// ttlOf turns Bee's batchTTL seconds into a Duration, saturating: Bee dev nodes report TTLs
// of centuries (3.19e10 s), which would overflow into a negative "expired" Duration.
func ttlOf(seconds int64) time.Duration {
	if seconds > int64(math.MaxInt64/time.Second) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(seconds) * time.Second
}

// shortfall is how many batches the depths below target still miss.
func shortfall(doc *ledgerDoc, cfg Config) int {
	n := 0
	for _, d := range cfg.depths() {
		n += max(0, cfg.Reserve[d]-(doc.count(d, Reserve)+doc.count(d, Pending)+doc.openIntents(d)))
	}
	return n
}

// capFreesAt is when the hourly cap next lets an operation through (now when it does).
func capFreesAt(doc *ledgerDoc, cfg Config, now time.Time) time.Time {
	var recent []time.Time
	for _, op := range doc.Operations {
		if op.After(now.Add(-time.Hour)) {
			recent = append(recent, op)
		}
	}
	if len(recent) < cfg.MaxPurchasesPerHour || cfg.MaxPurchasesPerHour <= 0 {
		return now
	}
	sort.Slice(recent, func(i, j int) bool { return recent[i].Before(recent[j]) })
	return recent[len(recent)-cfg.MaxPurchasesPerHour].Add(time.Hour)
}

// spendingStop is one reason the pool cannot spend now, and when it ends (zero: not before
// the operator acts).
type spendingStop struct {
	depth int    // 0: every depth
	kind  string // stable key for change logging
	text  string
	until time.Time
}

func (s spendingStop) String() string {
	if s.until.IsZero() {
		return s.text
	}
	return s.text + " until " + s.until.UTC().Format(time.RFC3339)
}

// spendingStopsLocked lists everything that stops spending now; p.mu is held (read).
func (p *Pool) spendingStopsLocked(now time.Time) []spendingStop {
	var out []spendingStop
	retry := p.nextCheck
	if !retry.After(now) {
		retry = now.Add(p.cfg.pollInterval())
	}
	switch {
	case p.ledgerErr != nil:
		out = append(out, spendingStop{kind: "ledger", text: p.ledgerErr.Error() + "; inventory unknown: spending stopped at least", until: retry})
	case p.beeErr != nil:
		out = append(out, spendingStop{kind: "bee", text: bee.PublicDescription(p.beeErr) + "; inventory unknown: spending stopped at least", until: retry})
	case !p.synced:
		out = append(out, spendingStop{kind: "unsynced", text: "inventory unknown (no successful sync with Bee yet): spending stopped at least", until: retry})
	}
	if p.cfg.MaxPurchasesPerHour == 0 {
		out = append(out, spendingStop{kind: "off", text: "spending off (max_purchases_per_hour 0): nothing is bought or topped up until the configuration changes"})
	} else if p.doc != nil {
		if at := capFreesAt(p.doc, p.cfg, now); at.After(now) {
			out = append(out, spendingStop{kind: "cap", until: at,
				text: fmt.Sprintf("max_purchases_per_hour %d reached: no purchase or top-up", p.cfg.MaxPurchasesPerHour)})
		}
	}
	var backoffs []spendingStop
	for d, b := range p.backoff {
		if b.until.After(now) {
			backoffs = append(backoffs, spendingStop{depth: d, kind: fmt.Sprintf("backoff-%d", d), until: b.until,
				text: fmt.Sprintf("depth %d: purchases backing off after a failure (%s)", d, b.cause)})
		}
	}
	for id, b := range p.topupBackoff {
		if b.until.After(now) {
			depth := 0
			if p.doc != nil {
				r := p.doc.find(id)
				if r == nil || r.State != Reserve && r.State != Active {
					continue // left the pool: its top-ups are over
				}
				depth = r.Depth
			}
			// Batch ids are for the admin token only: /status names the depth.
			backoffs = append(backoffs, spendingStop{kind: "topup-" + id, until: b.until,
				text: fmt.Sprintf("depth %d: top-up of a batch refused or failed (%s): its top-ups paused", depth, b.cause)})
		}
	}
	sort.Slice(backoffs, func(i, j int) bool { return backoffs[i].String() < backoffs[j].String() })
	return append(out, backoffs...)
}

// purchaseBlockedUntil is when a purchase of depth (0: any) could start, and why not now
// ("" when nothing stops it). A stop without an end is reported as an hour away. The cause
// goes into anonymous answers: Bee's and the ledger's own errors (addresses, paths) stay in
// /status and the log.
func (p *Pool) purchaseBlockedUntil(depth int, now time.Time) (time.Time, string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var until time.Time
	var causes []string
	for _, s := range p.spendingStopsLocked(now) {
		if strings.HasPrefix(s.kind, "topup-") || s.depth != 0 && depth != 0 && s.depth != depth {
			continue
		}
		end := s.until
		if end.IsZero() {
			end = now.Add(time.Hour)
		}
		if end.After(until) {
			until = end
		}
		if s.kind == "bee" || s.kind == "ledger" || s.kind == "unsynced" {
			s.text = "inventory unknown (Bee or the ledger unreadable): spending stopped at least"
		}
		causes = append(causes, s.String())
	}
	return until, strings.Join(causes, "; ")
}

// logSpendingChanges writes one line whenever the set of spending stops changes, not one
// per request or per maintenance run.
func (p *Pool) logSpendingChanges() {
	now := p.deps.Clock.Now()
	p.mu.Lock()
	stops := p.spendingStopsLocked(now)
	kinds := make([]string, 0, len(stops))
	texts := make([]string, 0, len(stops))
	for _, s := range stops {
		kinds = append(kinds, s.kind)
		texts = append(texts, s.String())
	}
	key := strings.Join(kinds, ",")
	changed := key != p.stopsLogged
	p.stopsLogged = key
	p.mu.Unlock()
	switch {
	case !changed:
	case len(stops) == 0:
		p.deps.Logger.Info("pool spending resumed: nothing stops purchases or top-ups")
	default:
		p.deps.Logger.Warn("pool spending blocked", zap.Strings("causes", texts))
	}
}
