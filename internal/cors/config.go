package cors

import (
	"fmt"
	"net/http"
)

// Config configures Cross-Origin Resource Sharing, so dapps on other origins can use the
// gateway from a browser. The gateway answers preflights itself and sets the
// Access-Control-* headers of every answer (replacing Bee's); it never allows credentials.
type Config struct {
	// Disabled leaves CORS on Bee's routes to Bee (`cors off`): preflights and headers pass
	// through untouched.
	Disabled bool `json:"disabled,omitempty"`

	// Origins that may use Bee's routes: `*` or origins such as `https://app.example`.
	// Default: `*` (the content is public anyway).
	Origins []string `json:"origins,omitempty"`

	// APIOrigins that may use the plugin's own API (api_prefix). Default: none, the API
	// answers no CORS request.
	APIOrigins []string `json:"api_origins,omitempty"`
}

// CheckOrigins checks each listed origin list on its own, as the Caddyfile gives them.
func (c *Config) CheckOrigins() error {
	for _, list := range [][]string{c.Origins, c.APIOrigins} {
		if len(list) > 0 {
			if _, err := New(list, nil, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// Policies builds the gateway's two policies from c (nil: the defaults): on Bee's routes the
// listed origins, every origin (`*`) when none are listed, and no policy (CORS left to Bee)
// when disabled; on the plugin's API the listed APIOrigins, no policy when none.
func (c *Config) Policies() (bee, api *Policy, err error) {
	if c == nil {
		c = &Config{}
	}
	origins := c.Origins
	if !c.Disabled {
		if len(origins) == 0 {
			origins = []string{"*"}
		}
		if bee, err = New(origins, BeeRequestHeaders, BeeResponseHeaders); err != nil {
			return nil, nil, err
		}
	} else if len(origins) > 0 {
		return nil, nil, fmt.Errorf("cors: off and origins %q together; choose one", origins)
	}
	if len(c.APIOrigins) > 0 {
		if api, err = New(c.APIOrigins, APIRequestHeaders, APIResponseHeaders); err != nil {
			return nil, nil, fmt.Errorf("cors api: %w", err)
		}
	}
	return bee, api, nil
}

// APIMethods are the methods of the plugin's API endpoints.
func APIMethods() []string { return []string{http.MethodGet, http.MethodHead, http.MethodPost} }

// SiteMethods are the methods a Swarm site's own origin answers.
func SiteMethods() []string { return []string{http.MethodGet, http.MethodHead} }
