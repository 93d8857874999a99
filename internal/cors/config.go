package cors

import "fmt"

// Policies builds the gateway's two policies from its cors option: on Bee's routes the listed
// origins, every origin (`*`) when none are listed, and no policy (CORS left to Bee) when
// disabled; on the plugin's API the listed apiOrigins, no policy when none.
func Policies(disabled bool, origins, apiOrigins []string) (bee, api *Policy, err error) {
	if !disabled {
		if len(origins) == 0 {
			origins = []string{"*"}
		}
		if bee, err = New(origins, BeeRequestHeaders, BeeResponseHeaders); err != nil {
			return nil, nil, err
		}
	} else if len(origins) > 0 {
		return nil, nil, fmt.Errorf("cors: off and origins %q together; choose one", origins)
	}
	if len(apiOrigins) > 0 {
		if api, err = New(apiOrigins, APIRequestHeaders, APIResponseHeaders); err != nil {
			return nil, nil, fmt.Errorf("cors api: %w", err)
		}
	}
	return bee, api, nil
}
