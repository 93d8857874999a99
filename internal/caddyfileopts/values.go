// Package caddyfileopts reads the bee directive's option blocks. It needs only a few methods
// of Caddy's *caddyfile.Dispenser (the Dispenser interface), and Caddy's duration syntax is
// injected (Parser), so the option tables are plain Go; caddymodule passes the real
// Dispenser, whose errors name the Caddyfile's file and line.
package caddyfileopts

import (
	"fmt"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// Dispenser is the part of Caddy's *caddyfile.Dispenser the option readers use.
type Dispenser interface {
	NextArg() bool
	Val() string
	RemainingArgs() []string
	Nesting() int
	NextBlock(initialNestingLevel int) bool
	ArgErr() error
	Err(msg string) error
	Errf(format string, args ...any) error
	WrapErr(err error) error
}

// Parser reads option blocks whose durations have type D (caddy.Duration in caddymodule).
type Parser[D ~int64] struct {
	// ParseDuration reads a duration as Caddy does (caddy.ParseDuration, which knows `d`).
	ParseDuration func(string) (time.Duration, error)
}

// Duration parses a positive duration option.
func (p Parser[D]) Duration(name, value string) (D, error) {
	dur, err := p.ParseDuration(value)
	if err != nil || dur <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive duration such as 30s, 15m or 168h", name, value)
	}
	return D(dur), nil
}

// BlockOption reads the current `<option> <value>` line of a block into c with options;
// prefix names the block in errors, unknown is the error for an option not in options.
func BlockOption[C any](d Dispenser, c *C, prefix string, options map[string]func(*C, string, string) error, unknown string) error {
	option := d.Val()
	name := strings.TrimPrefix(prefix+" "+option, " ")
	set, known := options[option]
	var value string
	if err := SingleArg(d, name, &value); err != nil {
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
func onOffBlock[C any](d Dispenser, name string, c *C, disabled *bool, options map[string]func(*C, string, string) error, unknown string) error {
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
		if err := BlockOption(d, c, name, options, unknown); err != nil {
			return err
		}
	}
	return nil
}

// Field makes an option setter: parse reads the value, get picks the field it goes to.
func Field[C, T any](get func(*C) *T, parse func(name, value string) (T, error)) func(*C, string, string) error {
	return func(c *C, name, value string) error {
		v, err := parse(name, value)
		if err == nil {
			*get(c) = v
		}
		return err
	}
}

// Checked makes a parser of a check: the value as it is, if the check passes.
func Checked(check func(string) error) func(name, value string) (string, error) {
	return func(_, value string) (string, error) { return value, check(value) }
}

// SingleArg reads the one value of option name into dst.
func SingleArg(d Dispenser, name string, dst *string) error {
	args := d.RemainingArgs()
	if len(args) != 1 {
		return d.Errf("%s: want exactly one value, got %d", name, len(args))
	}
	*dst = args[0]
	return nil
}

// oneValue reads an option's single value into dst with parse.
func oneValue[T any](d Dispenser, name string, dst *T, parse func(name, value string) (T, error)) error {
	var value string
	if err := SingleArg(d, name, &value); err != nil {
		return err
	}
	v, err := parse(name, value)
	if err != nil {
		return d.WrapErr(err)
	}
	*dst = v
	return nil
}

// OnOff reads an option's single on/off value.
func OnOff(d Dispenser, name string) (bool, error) {
	var on bool
	err := oneValue(d, name, &on, ParseSwitch)
	return on, err
}

// ParseOnOff is ParseSwitch for an option whose absence means its default.
func ParseOnOff(name, value string) (*bool, error) {
	on, err := ParseSwitch(name, value)
	return &on, err
}

// ParseSwitch reads on/off (or true/false).
func ParseSwitch(name, value string) (bool, error) {
	switch strings.ToLower(value) {
	case "on", "true":
		return true, nil
	case "off", "false":
		return false, nil
	}
	return false, fmt.Errorf("%s %q: want on or off", name, value)
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

// AnyString takes the value as it is.
func AnyString(_, value string) (string, error) { return value, nil }
