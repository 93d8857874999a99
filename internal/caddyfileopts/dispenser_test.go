package caddyfileopts

import (
	"errors"
	"fmt"
	"strings"
)

// fakeDispenser follows caddyfile.Dispenser over whitespace-separated tokens (no quotes, no
// comments): enough for option blocks, without importing Caddy here.
type fakeDispenser struct {
	vals    []string
	lines   []int
	cursor  int
	nesting int
}

// dispense tokenizes input and stands on its first token, the option's name, as the bee
// directive's reader does when it hands an option over.
func dispense(input string) *fakeDispenser {
	d := &fakeDispenser{}
	for i, line := range strings.Split(input, "\n") {
		for _, tok := range strings.Fields(line) {
			d.vals, d.lines = append(d.vals, tok), append(d.lines, i+1)
		}
	}
	return d
}

func (d *fakeDispenser) Val() string  { return d.vals[d.cursor] }
func (d *fakeDispenser) Nesting() int { return d.nesting }

func (d *fakeDispenser) next() bool {
	if d.cursor < len(d.vals)-1 {
		d.cursor++
		return true
	}
	return false
}

func (d *fakeDispenser) nextOnSameLine() bool {
	if d.cursor < len(d.vals)-1 && d.lines[d.cursor] == d.lines[d.cursor+1] {
		d.cursor++
		return true
	}
	return false
}

func (d *fakeDispenser) NextArg() bool {
	if !d.nextOnSameLine() {
		return false
	}
	if d.Val() == "{" { // a block opening is not an argument
		d.cursor--
		return false
	}
	return true
}

func (d *fakeDispenser) RemainingArgs() []string {
	var args []string
	for d.NextArg() {
		args = append(args, d.Val())
	}
	return args
}

func (d *fakeDispenser) NextBlock(initial int) bool {
	if d.nesting > initial {
		if !d.next() {
			return false
		}
		if d.Val() == "}" && !d.nextOnSameLine() {
			d.nesting--
		} else if d.Val() == "{" && !d.nextOnSameLine() {
			d.nesting++
		}
		return d.nesting > initial
	}
	if !d.nextOnSameLine() {
		return false
	}
	if d.Val() != "{" {
		d.cursor--
		return false
	}
	d.next()
	if d.Val() == "}" {
		return false
	}
	d.nesting++
	return true
}

func (d *fakeDispenser) ArgErr() error { return d.Errf("wrong argument count after '%s'", d.Val()) }
func (d *fakeDispenser) Err(msg string) error {
	return d.WrapErr(errors.New(msg))
}
func (d *fakeDispenser) Errf(format string, args ...any) error {
	return d.WrapErr(fmt.Errorf(format, args...))
}
func (d *fakeDispenser) WrapErr(err error) error {
	return fmt.Errorf("%w, at Testfile:%d", err, d.lines[d.cursor])
}
