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
	// HTTPClient sends the requests; nil means a dedicated client.
	HTTPClient *http.Client
	// ReadTimeout bounds GET calls. Default 10s.
	ReadTimeout time.Duration
	// PurchaseTimeout bounds buy, top-up and dilute calls, which block until mined. Default 10m.
	PurchaseTimeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// Client calls one Bee node's API.
type Client struct {
	base string
	http *http.Client
	opts Options
}

const (
	defaultReadTimeout     = 10 * time.Second
	defaultPurchaseTimeout = 10 * time.Minute
	maxResponseBody        = 16 << 20
)

// New returns a client for the Bee API at baseURL (http or https, host and port only).
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("bee URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("bee URL %q: want http(s)://host:port", baseURL)
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
			Proxy:               nil, // Bee is local infrastructure; never route it through a proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 8,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	return &Client{base: u.String(), http: hc, opts: opts}, nil
}

// BaseURL is the Bee API base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// stampJSON is Stamp on the wire, where big integers are strings.
type stampJSON struct {
	BatchID          string      `json:"batchID"`
	Utilization      int         `json:"utilization"`
	UtilizationRatio float64     `json:"utilizationRatio"`
	Usable           bool        `json:"usable"`
	Label            string      `json:"label"`
	Depth            int         `json:"depth"`
	Amount           json.Number `json:"amount"`
	BucketDepth      int         `json:"bucketDepth"`
	BlockNumber      uint64      `json:"blockNumber"`
	ImmutableFlag    bool        `json:"immutableFlag"`
	Exists           bool        `json:"exists"`
	BatchTTL         int64       `json:"batchTTL"`
}

func (s stampJSON) stamp() (Stamp, error) {
	amount, err := parseBig(s.Amount)
	if err != nil {
		return Stamp{}, fmt.Errorf("batch %s amount: %w", s.BatchID, err)
	}
	ratio := s.UtilizationRatio
	if ratio == 0 && s.Utilization > 0 && s.Depth > s.BucketDepth && s.BucketDepth > 0 {
		// Bee before 2.8.1 sends no ratio: utilization is the fullest bucket's chunk count.
		ratio = float64(s.Utilization) / float64(uint64(1)<<(s.Depth-s.BucketDepth))
	}
	return Stamp{
		BatchID: s.BatchID, Utilization: s.Utilization, UtilizationRatio: ratio, Usable: s.Usable,
		Label: s.Label, Depth: s.Depth, Amount: amount, BucketDepth: s.BucketDepth,
		BlockNumber: s.BlockNumber, ImmutableFlag: s.ImmutableFlag, Exists: s.Exists, BatchTTL: s.BatchTTL,
	}, nil
}

// parseBig reads a JSON big integer sent as a string or a number, never through a float.
func parseBig(n json.Number) (*big.Int, error) {
	s := strings.Trim(string(n), `"`)
	if s == "" {
		return new(big.Int), nil
	}
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("%q is not an integer", s)
	}
	return v, nil
}

// Stamps lists this node's batches (GET /stamps).
func (c *Client) Stamps(ctx context.Context) ([]Stamp, error) {
	var body struct {
		Stamps []stampJSON `json:"stamps"`
	}
	if err := c.do(ctx, http.MethodGet, "/stamps", nil, c.opts.ReadTimeout, &body); err != nil {
		return nil, err
	}
	out := make([]Stamp, 0, len(body.Stamps))
	for _, s := range body.Stamps {
		st, err := s.stamp()
		if err != nil {
			return nil, fmt.Errorf("bee GET /stamps: %w", err)
		}
		out = append(out, st)
	}
	return out, nil
}

// Stamp reads one batch (GET /stamps/{id}). A bought but not yet usable batch gives
// ErrNotUsable, an unknown one ErrNotFound.
func (c *Client) Stamp(ctx context.Context, id string) (Stamp, error) {
	if err := ValidateBatchID(id); err != nil {
		return Stamp{}, err
	}
	var s stampJSON
	if err := c.do(ctx, http.MethodGet, "/stamps/"+id, nil, c.opts.ReadTimeout, &s); err != nil {
		return Stamp{}, err
	}
	return s.stamp()
}

// BuyStamp buys a batch (POST /stamps/{amount}/{depth}) and returns its id. It blocks until
// Bee has mined the purchase. Bee has no idempotency: when IsTimeout(err), the batch may exist.
func (c *Client) BuyStamp(ctx context.Context, amount *big.Int, depth int, label string, immutable bool) (string, error) {
	if amount == nil || amount.Sign() <= 0 {
		return "", fmt.Errorf("buy batch depth %d: amount must be positive", depth)
	}
	path := "/stamps/" + amount.String() + "/" + strconv.Itoa(depth)
	if label != "" {
		path += "?label=" + url.QueryEscape(label)
	}
	header := http.Header{"Immutable": {strconv.FormatBool(immutable)}}
	var body struct {
		BatchID string `json:"batchID"`
		TxHash  string `json:"txHash"`
	}
	if err := c.doHeader(ctx, http.MethodPost, path, header, c.opts.PurchaseTimeout, &body); err != nil {
		return "", err
	}
	if ValidateBatchID(body.BatchID) != nil {
		return "", fmt.Errorf("bee POST /stamps: answer has no valid batchID (%q)", body.BatchID)
	}
	return body.BatchID, nil
}

// TopUp adds amount per chunk to a batch (PATCH /stamps/topup/{id}/{amount}).
func (c *Client) TopUp(ctx context.Context, id string, amount *big.Int) error {
	if err := ValidateBatchID(id); err != nil {
		return err
	}
	if amount == nil || amount.Sign() <= 0 {
		return fmt.Errorf("top up batch %s: amount must be positive", id)
	}
	return c.do(ctx, http.MethodPatch, "/stamps/topup/"+id+"/"+amount.String(), nil, c.opts.PurchaseTimeout, nil)
}

// Dilute raises a batch's depth (PATCH /stamps/dilute/{id}/{depth}).
func (c *Client) Dilute(ctx context.Context, id string, depth int) error {
	if err := ValidateBatchID(id); err != nil {
		return err
	}
	return c.do(ctx, http.MethodPatch, "/stamps/dilute/"+id+"/"+strconv.Itoa(depth), nil, c.opts.PurchaseTimeout, nil)
}

// ChainState is GET /chainstate.
func (c *Client) ChainState(ctx context.Context) (ChainState, error) {
	var body struct {
		ChainTip     uint64      `json:"chainTip"`
		Block        uint64      `json:"block"`
		TotalAmount  json.Number `json:"totalAmount"`
		CurrentPrice json.Number `json:"currentPrice"`
	}
	if err := c.do(ctx, http.MethodGet, "/chainstate", nil, c.opts.ReadTimeout, &body); err != nil {
		return ChainState{}, err
	}
	total, err := parseBig(body.TotalAmount)
	if err != nil {
		return ChainState{}, fmt.Errorf("bee GET /chainstate totalAmount: %w", err)
	}
	price, err := parseBig(body.CurrentPrice)
	if err != nil {
		return ChainState{}, fmt.Errorf("bee GET /chainstate currentPrice: %w", err)
	}
	return ChainState{ChainTip: body.ChainTip, Block: body.Block, TotalAmount: total, CurrentPrice: price}, nil
}

// Wallet is GET /wallet.
func (c *Client) Wallet(ctx context.Context) (Wallet, error) {
	var body struct {
		BZZBalance                json.Number `json:"bzzBalance"`
		NativeTokenBalance        json.Number `json:"nativeTokenBalance"`
		ChainID                   int64       `json:"chainID"`
		ChequebookContractAddress string      `json:"chequebookContractAddress"`
		WalletAddress             string      `json:"walletAddress"`
	}
	if err := c.do(ctx, http.MethodGet, "/wallet", nil, c.opts.ReadTimeout, &body); err != nil {
		return Wallet{}, err
	}
	bzz, err := parseBig(body.BZZBalance)
	if err != nil {
		return Wallet{}, fmt.Errorf("bee GET /wallet bzzBalance: %w", err)
	}
	native, err := parseBig(body.NativeTokenBalance)
	if err != nil {
		return Wallet{}, fmt.Errorf("bee GET /wallet nativeTokenBalance: %w", err)
	}
	return Wallet{BZZBalance: bzz, NativeTokenBalance: native, ChainID: body.ChainID,
		ChequebookContractAddress: body.ChequebookContractAddress, WalletAddress: body.WalletAddress}, nil
}

// Health is GET /health.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var body Health
	err := c.do(ctx, http.MethodGet, "/health", nil, c.opts.ReadTimeout, &body)
	return body, err
}

// Readiness is GET /readiness: true on 200, false on Bee's 400 notReady.
func (c *Client) Readiness(ctx context.Context) (bool, error) {
	err := c.do(ctx, http.MethodGet, "/readiness", nil, c.opts.ReadTimeout, nil)
	var apiErr *APIError
	if asAPIError(err, &apiErr) && apiErr.Status == http.StatusBadRequest {
		return false, nil
	}
	return err == nil, err
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, timeout time.Duration, out any) error {
	return c.doBody(ctx, method, path, nil, body, timeout, out)
}

func (c *Client) doHeader(ctx context.Context, method, path string, header http.Header, timeout time.Duration, out any) error {
	return c.doBody(ctx, method, path, header, nil, timeout, out)
}

func (c *Client) doBody(ctx context.Context, method, path string, header http.Header, body []byte, timeout time.Duration, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reader)
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
		return &CallError{Method: method, Path: path, Err: err, Sent: true}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
		resp.Body.Close()
	}()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return &CallError{Method: method, Path: path, Err: err, Sent: true}
	}
	if resp.StatusCode >= 300 {
		return newAPIError(method, path, resp.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("bee %s %s: decoding answer: %w", method, path, err)
	}
	return nil
}

// ValidateBatchID checks that id is 32 bytes of hex without 0x, as Bee's batch ids are.
func ValidateBatchID(id string) error {
	if len(id) != 64 {
		return fmt.Errorf("batch id %q: want 64 hex characters", id)
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return fmt.Errorf("batch id %q: want 64 hex characters", id)
		}
	}
	return nil
}
