package caddymodule

import (
	_ "github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	_ "github.com/stretchr/testify/require"
	_ "go.uber.org/zap"
	_ "golang.org/x/sync/singleflight"
)
