package bee

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Options tunes a Client. Zero values mean the defaults.
type Options struct {
	// HTTPClient sends the requests; nil means a dedicated client. Its own Timeout, if any,
	// also applies, so leave it 0 to let purchases run for PurchaseTimeout.
	HTTPClient *http.Client
	// ReadTimeout bounds GET calls. Default 10s.
	ReadTimeout time.Duration
	// PurchaseTimeout bounds buy, top-up and dilute calls, which block until mined. Default 10m.
	PurchaseTimeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// Client calls one Bee node's API. It is safe for concurrent use.
type Client struct {
	base string
	http *http.Client
	opts Options
}

const (
	defaultReadTimeout     = 10 * time.Second
	defaultPurchaseTimeout = 10 * time.Minute
	// maxAnswerBody bounds what is decoded from a successful answer (/stamps of a busy node is the largest).
	maxAnswerBody = 16 << 20
	// maxErrorBody bounds what is read from an error answer; only a short message is kept.
	maxErrorBody = 64 << 10
)

// New returns a client for the Bee API at baseURL (http or https with a host, e.g. http://127.0.0.1:1633).
func New(baseURL string, opts Options) (*Client, error) {
	trimmed := strings.TrimRight(strings.TrimSpace(baseURL), "/")
	u, err := parseURL(baseURL, trimmed, true)
	if err != nil {
		return nil, fmt.Errorf("bee URL: %w; want http(s)://host:port", err)
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = defaultReadTimeout
	}
	if opts.PurchaseTimeout <= 0 {
		opts.PurchaseTimeout = defaultPurchaseTimeout
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			Proxy:                 nil, // Bee is local infrastructure: never route it through an environment proxy
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			MaxIdleConns:          32,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
		}}
	}
	return &Client{base: u.String(), http: hc, opts: opts}, nil
}

// BaseURL is the Bee API base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Stamps lists this node's batches (GET /stamps). A just-bought batch is missing until the
// node has seen it on chain.
func (c *Client) Stamps(ctx context.Context) ([]Stamp, error) {
	var body struct {
		Stamps []Stamp `json:"stamps"`
	}
	if err := c.call(ctx, http.MethodGet, "/stamps", nil, c.opts.ReadTimeout, &body); err != nil {
		return nil, err
	}
	if body.Stamps == nil {
		body.Stamps = []Stamp{}
	}
	return body.Stamps, nil
}

// Stamp reads one batch (GET /stamps/{id}). A bought but not yet usable batch gives
// ErrNotUsable, an unknown one ErrNotFound: while polling a new batch, treat both as pending.
func (c *Client) Stamp(ctx context.Context, id string) (Stamp, error) {
	if err := ValidateBatchID(id); err != nil {
		return Stamp{}, err
	}
	var s Stamp
	if err := c.call(ctx, http.MethodGet, "/stamps/"+id, nil, c.opts.ReadTimeout, &s); err != nil {
		return Stamp{}, err
	}
	return s, nil
}

// Buckets reads a batch's per-bucket fill (GET /stamps/{id}/buckets): Collisions[i] is how
// many chunks bucket i holds, out of UpperBound. The answer lists all 2^16 buckets (a few MB
// of JSON): poll it rarely.
func (c *Client) Buckets(ctx context.Context, id string) (Buckets, error) {
	if err := ValidateBatchID(id); err != nil {
		return Buckets{}, err
	}
	var body struct {
		Depth            int `json:"depth"`
		BucketDepth      int `json:"bucketDepth"`
		BucketUpperBound int `json:"bucketUpperBound"`
		Buckets          []struct {
			BucketID   int `json:"bucketID"`
			Collisions int `json:"collisions"`
		} `json:"buckets"`
	}
	if err := c.call(ctx, http.MethodGet, "/stamps/"+id+"/buckets", nil, c.opts.ReadTimeout, &body); err != nil {
		return Buckets{}, err
	}
	out := Buckets{Depth: body.Depth, BucketDepth: body.BucketDepth, UpperBound: body.BucketUpperBound}
	if body.BucketDepth <= 0 || body.BucketDepth > 24 {
		return Buckets{}, fmt.Errorf("buckets of batch %s: bucketDepth %d out of range", id, body.BucketDepth)
	}
	out.Collisions = make([]int, 1<<body.BucketDepth)
	for _, b := range body.Buckets {
		if b.BucketID < 0 || b.BucketID >= len(out.Collisions) {
			return Buckets{}, fmt.Errorf("buckets of batch %s: bucketID %d out of range", id, b.BucketID)
		}
		out.Collisions[b.BucketID] = b.Collisions
	}
	return out, nil
}

// purchaseAnswer is what POST /stamps and PATCH /stamps/{topup,dilute} return.
type purchaseAnswer struct {
	BatchID string `json:"batchID"`
	TxHash  string `json:"txHash"`
}

// BuyStamp buys a batch (POST /stamps/{amount}/{depth}) and returns its id. It blocks until
// Bee has mined the purchase. Bee has no idempotency: when IsTimeout(err) the batch may exist,
// so give every purchase a unique label and reconcile through Stamps.
func (c *Client) BuyStamp(ctx context.Context, amount *big.Int, depth int, label string, immutable bool) (string, error) {
	if amount == nil || amount.Sign() <= 0 {
		return "", fmt.Errorf("buy batch depth %d: amount must be a positive number of PLUR per chunk", depth)
	}
	path := "/stamps/" + amount.String() + "/" + strconv.Itoa(depth)
	if label != "" {
		path += "?label=" + url.QueryEscape(label)
	}
	header := http.Header{"Immutable": {strconv.FormatBool(immutable)}}
	var answer purchaseAnswer
	if err := c.call(ctx, http.MethodPost, path, header, c.opts.PurchaseTimeout, &answer); err != nil {
		return "", err
	}
	if ValidateBatchID(answer.BatchID) != nil {
		return "", fmt.Errorf("bee POST %s: answer has no valid batchID (%q); check the batch list with GET /stamps", path, answer.BatchID)
	}
	return answer.BatchID, nil
}

// TopUp adds amount PLUR per chunk to a batch (PATCH /stamps/topup/{id}/{amount}). It blocks until mined.
func (c *Client) TopUp(ctx context.Context, id string, amount *big.Int) error {
	if err := ValidateBatchID(id); err != nil {
		return err
	}
	if amount == nil || amount.Sign() <= 0 {
		return fmt.Errorf("top up batch %s: amount must be a positive number of PLUR per chunk", id)
	}
	return c.call(ctx, http.MethodPatch, "/stamps/topup/"+id+"/"+amount.String(), nil, c.opts.PurchaseTimeout, nil)
}

// Dilute raises a batch's depth (PATCH /stamps/dilute/{id}/{depth}), halving its remaining TTL
// per step. It blocks until mined.
func (c *Client) Dilute(ctx context.Context, id string, depth int) error {
	if err := ValidateBatchID(id); err != nil {
		return err
	}
	if depth <= 0 {
		return fmt.Errorf("dilute batch %s: depth %d must be positive and above the batch's depth", id, depth)
	}
	return c.call(ctx, http.MethodPatch, "/stamps/dilute/"+id+"/"+strconv.Itoa(depth), nil, c.opts.PurchaseTimeout, nil)
}

// ChainState is GET /chainstate.
func (c *Client) ChainState(ctx context.Context) (ChainState, error) {
	var body struct {
		ChainTip     uint64     `json:"chainTip"`
		Block        uint64     `json:"block"`
		TotalAmount  jsonBigInt `json:"totalAmount"`
		CurrentPrice jsonBigInt `json:"currentPrice"`
	}
	if err := c.call(ctx, http.MethodGet, "/chainstate", nil, c.opts.ReadTimeout, &body); err != nil {
		return ChainState{}, err
	}
	return ChainState{ChainTip: body.ChainTip, Block: body.Block,
		TotalAmount: body.TotalAmount.orZero(), CurrentPrice: body.CurrentPrice.orZero()}, nil
}

// Health is GET /health.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var body struct {
		Status     string `json:"status"`
		Version    string `json:"version"`
		APIVersion string `json:"apiVersion"`
	}
	if err := c.call(ctx, http.MethodGet, "/health", nil, c.opts.ReadTimeout, &body); err != nil {
		return Health{}, err
	}
	return Health{Status: body.Status, Version: body.Version, APIVersion: body.APIVersion}, nil
}

// call sends one request bounded by timeout and decodes a 2xx JSON answer into out (if not nil).
// Non-2xx answers become *APIError; transport failures become *CallError.
func (c *Client) call(ctx context.Context, method, path string, header http.Header, timeout time.Duration, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("bee %s %s: %w", method, path, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &CallError{Method: method, Path: path, BaseURL: c.base, Err: err}
	}
	defer func() {
		// Drain a bounded remainder so the connection can be reused, then close.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBody))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)) // a cut body still has a status worth reporting
		return newAPIError(method, path, resp.StatusCode, raw)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBody+1))
	if err != nil {
		// The status arrived but the body was cut: for a purchase the outcome is still unknown.
		return &CallError{Method: method, Path: path, BaseURL: c.base, Err: fmt.Errorf("reading answer: %w", err)}
	}
	if len(raw) > maxAnswerBody {
		return fmt.Errorf("bee %s %s: answer larger than %d MiB; is %s really a Bee API?", method, path, maxAnswerBody>>20, c.base)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(out); err != nil {
		return fmt.Errorf("bee %s %s: decoding answer: %w", method, path, err)
	}
	return nil
}

// ValidateBatchID checks that id is 32 bytes of hex without 0x, as Bee's batch ids are.
func ValidateBatchID(id string) error {
	valid := len(id) == 64
	for i := 0; valid && i < len(id); i++ {
		ch := id[i]
		valid = ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F'
	}
	if !valid {
		return fmt.Errorf("batch id %q: want 64 hex characters without 0x", id)
	}
	return nil
}
