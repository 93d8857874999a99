package main

import (
	"fmt"
	"strconv"
	"strings"
)

// overrideStampede replaces the stampede's sizes and client counts when the flags give
// them (comma-separated), so a reduced run can validate the harness without the 100 MiB x
// 1000 case.
func (o *options) overrideStampede(sizes, ns string) error {
	if sizes != "" {
		o.sizes = nil
		for _, v := range strings.Split(sizes, ",") {
			n, err := parseSize(strings.TrimSpace(v))
			if err != nil || n <= 0 {
				return fmt.Errorf("-stampede-sizes %q: want sizes such as 4KiB,1MiB,100MiB", sizes)
			}
			o.sizes = append(o.sizes, n)
		}
	}
	if ns != "" {
		o.stampedeN = nil
		for _, v := range strings.Split(ns, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n <= 0 {
				return fmt.Errorf("-stampede-n %q: want client counts such as 10,100", ns)
			}
			o.stampedeN = append(o.stampedeN, n)
		}
	}
	return nil
}

// parseSize reads a byte count with an optional KiB, MiB or GiB suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = rest, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}
