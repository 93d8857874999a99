package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/swarmgate/caddy-bee/internal/coalesce"
	"github.com/swarmgate/caddy-bee/internal/pool"
)

const (
	// maxAPIBody bounds pool API request bodies; the largest valid one is a few dozen bytes.
	maxAPIBody = 4 << 10
	// apiBodyTimeout refuses clients that trickle a body to hold a connection.
	apiBodyTimeout = 5 * time.Second
)

// serveAPI routes the plugin's own JSON API under api_prefix.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, endpoint string) error {
	w.Header().Set("Cache-Control", "no-store")
	switch endpoint {
	case "/coalescer":
		if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
			return nil
		}
		return h.serveCoalescerStats(w)
	case "/pool/status":
		if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
			return nil
		}
		return h.servePoolStatus(w, r)
	case "/pool/acquire":
		if !allowMethods(w, r, http.MethodPost) {
			return nil
		}
		return h.servePoolAcquire(w, r)
	case "/pool/available":
		if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
			return nil
		}
		return h.servePoolAvailable(w, r)
	case "/pool/check":
		if !allowMethods(w, r, http.MethodPost) {
			return nil
		}
		return h.servePoolCheck(w, r)
	}
	if endpoint == "/cache" || strings.HasPrefix(endpoint, "/cache/") && !strings.Contains(endpoint[len("/cache/"):], "/") {
		return h.serveCacheAPI(w, r, endpoint)
	}
	if ref, ok := strings.CutPrefix(endpoint, "/subdomain/"); ok && ref != "" && !strings.Contains(ref, "/") {
		return h.serveSubdomainURL(w, r, ref)
	}
	return writeDetail(w, http.StatusNotFound, "no such endpoint: "+h.APIPrefix+endpoint+
		"; try "+h.APIPrefix+"/pool/status or "+h.APIPrefix+"/coalescer")
}

func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	_ = writeDetail(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use "+strings.Join(methods, " or "))
	return false
}

// poolStatusBody is GET /pool/status, in swarm_connect's shape. Depth keys are strings.
type poolStatusBody struct {
	Enabled           bool                       `json:"enabled"`
	ReserveConfig     map[string]int             `json:"reserve_config"`
	CurrentLevels     map[string]int             `json:"current_levels"`
	Pending           map[string]int             `json:"pending"`
	Active            map[string]activeBatchBody `json:"active"`
	LowReserveWarning bool                       `json:"low_reserve_warning"`
	LastCheck         *time.Time                 `json:"last_check"`
	NextCheck         *time.Time                 `json:"next_check"`
	PurchasesLastHour int                        `json:"purchases_last_hour"`
	Errors            []string                   `json:"errors"`
	spendStatusFields
}

type activeBatchBody struct {
	UtilizationRatio float64 `json:"utilization_ratio"`
	TTLSeconds       int64   `json:"ttl_seconds"`
	BatchID          string  `json:"batch_id,omitempty"`
	activeFillFields
}

func (h *Handler) servePoolStatus(w http.ResponseWriter, r *http.Request) error {
	if h.multiNode() {
		return h.servePoolStatusNodes(w, r)
	}
	body := poolStatusBody{
		ReserveConfig: map[string]int{}, CurrentLevels: map[string]int{}, Pending: map[string]int{},
		Active: map[string]activeBatchBody{}, Errors: []string{},
	}
	p := h.stampPool()
	if p == nil {
		return writeJSON(w, http.StatusOK, body)
	}
	st := p.Status()
	withIDs := h.authorized(r)
	body.Enabled = true
	for depth, n := range st.ReserveConfig {
		body.ReserveConfig[strconv.Itoa(depth)] = n
	}
	for depth, n := range st.CurrentLevels {
		body.CurrentLevels[strconv.Itoa(depth)] = n
	}
	for depth, n := range st.Pending {
		body.Pending[strconv.Itoa(depth)] = n
	}
	for depth, a := range st.Active {
		entry := activeBatchBody{UtilizationRatio: a.UtilizationRatio, TTLSeconds: a.TTLSeconds, activeFillFields: fillFields(a)}
		if withIDs {
			entry.BatchID = a.BatchID
		}
		body.Active[strconv.Itoa(depth)] = entry
	}
	body.LowReserveWarning = st.LowReserveWarning
	if !st.LastCheck.IsZero() {
		body.LastCheck = &st.LastCheck
	}
	if !st.NextCheck.IsZero() {
		body.NextCheck = &st.NextCheck
	}
	body.PurchasesLastHour = st.PurchasesLastHour
	body.Errors = append(body.Errors, st.Errors...)
	body.spendStatusFields = spendFields(st, withIDs)
	return writeJSON(w, http.StatusOK, body)
}

type acquireRequest struct {
	Size  *string `json:"size"`
	Depth *int    `json:"depth"`
}

type acquireResponse struct {
	Success      bool   `json:"success"`
	BatchID      string `json:"batch_id"`
	Depth        int    `json:"depth"`
	SizeName     string `json:"size_name"`
	Message      string `json:"message"`
	FallbackUsed bool   `json:"fallback_used"`
	// Node is the label of the node the batch stamps on, with several nodes.
	Node string `json:"node,omitempty"`
}

func (h *Handler) servePoolAcquire(w http.ResponseWriter, r *http.Request) error {
	if !h.anyPool() {
		return writePoolDisabled(w)
	}
	if !h.requireToken(w, r) {
		return nil
	}
	var req acquireRequest
	if status, err := readAPIBody(w, r, &req); err != nil {
		return writeDetail(w, status, err.Error())
	}
	depth := pool.SmallDepth
	switch {
	case req.Size != nil && req.Depth != nil:
		return writeDetail(w, http.StatusUnprocessableEntity, `give either "size" or "depth", not both`)
	case req.Size != nil:
		d, ok := pool.SizeDepth(*req.Size)
		if !ok {
			return writeDetail(w, http.StatusUnprocessableEntity, fmt.Sprintf("unknown size %q: want small, medium or large", *req.Size))
		}
		depth = d
	case req.Depth != nil:
		depth = *req.Depth
	}
	node, batch, fallbackUsed, err := h.acquireFromNodes(r.Context(), depth, h.acquireFallback())
	if err != nil {
		return h.writeAcquireError(w, depth, err)
	}
	h.logger.Info("batch acquired", zap.Int("depth", batch.Depth), zap.Bool("fallback", fallbackUsed))
	msg := fmt.Sprintf("batch of depth %d issued; it is yours alone and will not be topped up by the pool", batch.Depth)
	if fallbackUsed {
		msg = fmt.Sprintf("no depth-%d batch was in reserve; issued a larger one (depth %d)", depth, batch.Depth)
	}
	return writeJSON(w, http.StatusOK, acquireResponse{
		Success: true, BatchID: batch.ID, Depth: batch.Depth, SizeName: pool.SizeName(batch.Depth),
		Message: msg, FallbackUsed: fallbackUsed, Node: node.label,
	})
}

func (h *Handler) writeAcquireError(w http.ResponseWriter, depth int, err error) error {
	var empty *pool.EmptyError
	switch {
	case errors.Is(err, pool.ErrNotConfigured):
		return writeDetail(w, http.StatusUnprocessableEntity,
			fmt.Sprintf("depth %d is not kept by this pool: ask for one of %s", depth, h.configuredSizes()))
	case errors.As(err, &empty):
		w.Header().Set("Retry-After", retryAfterSeconds(empty.RetryAfter))
		suggestion := fmt.Sprintf("retry after %s seconds; a replacement is being bought", retryAfterSeconds(empty.RetryAfter))
		if empty.Cause != "" {
			suggestion = fmt.Sprintf("retry after %s seconds: purchases are blocked (%s)", retryAfterSeconds(empty.RetryAfter), empty.Cause)
		}
		return writeDetail(w, http.StatusConflict, map[string]string{
			"message":    fmt.Sprintf("no batch of depth %d is in reserve right now", depth),
			"suggestion": suggestion,
		})
	case errors.Is(err, pool.ErrLedgerBusy):
		// Another instance holds the ledger (or a dead one, until taken over): short retry.
		h.logger.Warn("acquire refused: pool ledger busy", zap.Int("depth", depth), zap.Error(err))
		w.Header().Set("Retry-After", "5")
		return writeDetail(w, http.StatusServiceUnavailable, "the pool's ledger is busy (held by another gateway sharing the storage): "+err.Error())
	default:
		h.logger.Error("acquire failed", zap.Int("depth", depth), zap.Error(err))
		w.Header().Set("Retry-After", retryAfterSeconds(h.retryAfter(depth)))
		return writeDetail(w, http.StatusServiceUnavailable, "the pool cannot hand out batches right now: "+err.Error())
	}
}

func (h *Handler) servePoolAvailable(w http.ResponseWriter, r *http.Request) error {
	if !h.anyPool() {
		return writePoolDisabled(w)
	}
	if !h.requireToken(w, r) {
		return nil
	}
	type availableBatch struct {
		BatchID    string    `json:"batch_id"`
		Depth      int       `json:"depth"`
		SizeName   string    `json:"size_name"`
		TTLSeconds int64     `json:"ttl_seconds"`
		CreatedAt  time.Time `json:"created_at"`
		Node       string    `json:"node,omitempty"`
	}
	out := []availableBatch{}
	for _, n := range h.nodes {
		if n.pool == nil {
			continue
		}
		for _, b := range n.pool.Available() {
			out = append(out, availableBatch{BatchID: b.ID, Depth: b.Depth, SizeName: pool.SizeName(b.Depth),
				TTLSeconds: int64(b.TTL / time.Second), CreatedAt: b.CreatedAt, Node: n.label})
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) servePoolCheck(w http.ResponseWriter, r *http.Request) error {
	if !h.anyPool() {
		return writePoolDisabled(w)
	}
	if !h.requireToken(w, r) {
		return nil
	}
	var at time.Time
	for _, n := range h.nodes {
		if n.pool != nil {
			at = n.pool.TriggerCheck()
		}
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{
		"scheduled_at": at.UTC().Format(time.RFC3339),
		"message":      "maintenance scheduled: sync with Bee, top-ups and purchases for any shortfall run in the background",
	})
}

// readAPIBody decodes a small JSON body into dst. An empty body means `{}`. It returns the
// HTTP status to answer with when the body is refused.
func readAPIBody(w http.ResponseWriter, r *http.Request, dst any) (int, error) {
	if r.ContentLength > maxAPIBody {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("request body of %d bytes is too large: the limit is %d bytes", r.ContentLength, maxAPIBody)
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(apiBodyTimeout))
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, fmt.Errorf("request body is too large: the limit is %d bytes", maxAPIBody)
	case err != nil:
		return http.StatusRequestTimeout, fmt.Errorf("reading the request body failed (send it within %s): %v", apiBodyTimeout, err)
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return 0, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return http.StatusUnprocessableEntity, fmt.Errorf(`malformed JSON body: %v; send e.g. {"size":"small"} or {"depth":20}`, err)
	}
	if dec.More() {
		return http.StatusUnprocessableEntity, fmt.Errorf(`malformed JSON body: extra data after the object; send e.g. {"size":"small"}`)
	}
	return 0, nil
}

func retryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// writePoolDisabled answers a pool endpoint of a gateway without a pool as swarm_connect's
// disabled pool does (503), so its clients retry or report instead of taking the gateway
// for a missing one; 404 stays for endpoints that do not exist.
func writePoolDisabled(w http.ResponseWriter) error {
	return writeDetail(w, http.StatusServiceUnavailable,
		"the stamp pool is not enabled on this gateway: its operator must add a pool block to the bee directive "+
			"(e.g. pool { reserve small 1 }); clients can send uploads with their own postage batch meanwhile")
}

// serveCoalescerHealth is GET /health/coalescer: the coalescer stats in the request-coalescer
// story's names. Public like /health: it reveals no batch id.
func (h *Handler) serveCoalescerHealth(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return nil
	}
	if h.coalescer == nil {
		return writeJSON(w, http.StatusOK, coalesce.DisabledHealth())
	}
	return writeJSON(w, http.StatusOK, h.coalescer.Stats().Health())
}

func (h *Handler) serveCoalescerStats(w http.ResponseWriter) error {
	if h.coalescer == nil {
		return writeDetail(w, http.StatusNotFound, "request coalescing is off on this gateway (coalesce off)")
	}
	return writeJSON(w, http.StatusOK, h.coalescer.Stats())
}
