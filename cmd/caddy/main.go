// Command caddy is Caddy with its standard modules plus the caddy-bee plugin.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/swarmgate/caddy-bee/caddymodule"
)

func main() {
	caddycmd.Main()
}
