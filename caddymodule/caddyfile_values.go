package caddymodule

import (
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"
)

// blockOption reads the current `<option> <value>` line of a block into c with options;
// prefix names the block in errors, unknown is the error for an option not in options.
func blockOption[C any](d *caddyfile.Dispenser, c *C, prefix string, options map[string]func(*C, string, string) error, unknown string) error {
	option := d.Val()
	name := strings.TrimPrefix(prefix+" "+option, " ")
	set, known := options[option]
	var value string
	if err := singleArg(d, name, &value); err != nil {
		return err
	}
	if !known {
		return d.Errf(unknown, option)
	}
	if err := set(c, name, value); err != nil {
		return d.WrapErr(err)
	}
	return nil
}

// onOffBlock reads `<name> on|off` or `<name> { <option> <value>... }` into c with options;
// off sets *disabled, unknown is the error for an option not in options.
func onOffBlock[C any](d *caddyfile.Dispenser, name string, c *C, disabled *bool, options map[string]func(*C, string, string) error, unknown string) error {
	if d.NextArg() {
		switch d.Val() {
		case "off":
			*disabled = true
		case "on":
		default:
			return d.Errf("%s %q: want on, off or a block", name, d.Val())
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if err := blockOption(d, c, name, options, unknown); err != nil {
			return err
		}
	}
	return nil
}

// field makes an option setter: parse reads the value, get picks the field it goes to.
func field[C, T any](get func(*C) *T, parse func(name, value string) (T, error)) func(*C, string, string) error {
	return func(c *C, name, value string) error {
		v, err := parse(name, value)
		if err == nil {
			*get(c) = v
		}
		return err
	}
}

// checked makes a parser of a check: the value as it is, if the check passes.
func checked(check func(string) error) func(name, value string) (string, error) {
	return func(_, value string) (string, error) { return value, check(value) }
}

func singleArg(d *caddyfile.Dispenser, name string, dst *string) error {
	args := d.RemainingArgs()
	if len(args) != 1 {
		return d.Errf("%s: want exactly one value, got %d", name, len(args))
	}
	*dst = args[0]
	return nil
}

// oneValue reads an option's single value into dst with parse.
func oneValue[T any](d *caddyfile.Dispenser, name string, dst *T, parse func(name, value string) (T, error)) error {
	var value string
	if err := singleArg(d, name, &value); err != nil {
		return err
	}
	v, err := parse(name, value)
	if err != nil {
		return d.WrapErr(err)
	}
	*dst = v
	return nil
}

// onOff reads an option's single on/off value.
func onOff(d *caddyfile.Dispenser, name string) (bool, error) {
	var on bool
	err := oneValue(d, name, &on, parseSwitch)
	return on, err
}

// parseOnOff is parseSwitch for an option whose absence means its default.
func parseOnOff(name, value string) (*bool, error) {
	on, err := parseSwitch(name, value)
	return &on, err
}

func parseSwitch(name, value string) (bool, error) {
	switch strings.ToLower(value) {
	case "on", "true":
		return true, nil
	case "off", "false":
		return false, nil
	}
	return false, fmt.Errorf("%s %q: want on or off", name, value)
}

func parseDuration(name, value string) (caddy.Duration, error) {
	dur, err := caddy.ParseDuration(value)
	if err != nil || dur <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive duration such as 30s, 15m or 168h", name, value)
	}
	return caddy.Duration(dur), nil
}

// sizeUpTo parses a size of at most maxSize bytes; example is the size errors suggest.
func sizeUpTo(maxSize uint64, example string) func(name, value string) (int64, error) {
	return func(name, value string) (int64, error) {
		size, err := humanize.ParseBytes(value)
		if err != nil || size > maxSize {
			return 0, fmt.Errorf("%s %q: want a size such as %s", name, value, example)
		}
		return int64(size), nil
	}
}

func anyString(_, value string) (string, error) { return value, nil }
