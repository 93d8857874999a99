package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swarmgate/caddy-bee/internal/loadgen"
)

// wellFormed reports whether s parses as XML from start to end.
func wellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		if _, err := d.Token(); err == io.EOF {
			return
		} else if err != nil {
			t.Fatalf("not well-formed SVG: %v\n%s", err, s)
		}
	}
}

func TestWriteChartsDrawsEveryCase(t *testing.T) {
	r := &report{
		opts:    options{distinctLatencies: []time.Duration{0, 20 * time.Millisecond}},
		targets: []*target{{key: "A", name: "Caddy reverse_proxy"}, {key: "B", name: "caddy-bee <&>"}},
	}
	for _, size := range []int64{4 << 10, 1 << 20} {
		for _, n := range []int{10, 50} {
			for _, k := range []string{"A", "B"} {
				r.stampede = append(r.stampede, stampedeRow{Size: size, N: n, Target: k, PeakRSS: 50 << 20,
					Delivery: 100 * time.Millisecond,
					Summary:  loadgen.Summary{Requests: n, Latency: loadgen.Percentiles{P99: 250 * time.Millisecond}}})
			}
			r.loopback = append(r.loopback, loopbackRow{Size: size, N: n, Delivery: 50 * time.Millisecond})
		}
	}
	dir := t.TempDir()
	if err := r.writeCharts(filepath.Join(dir, "BENCH.md")); err != nil {
		t.Fatal(err)
	}
	if len(r.charts) != 4 {
		t.Fatalf("%d charts, want 4", len(r.charts))
	}
	for _, c := range r.charts {
		b, err := os.ReadFile(filepath.Join(dir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		svg := string(b)
		wellFormed(t, svg)
		if !strings.HasPrefix(c.File, "BENCH-") {
			t.Errorf("%s: want a name after the report's", c.File)
		}
		if strings.Contains(c.File, "stampede") {
			for _, label := range []string{"4 KiB x 10", "1 MiB x 50"} {
				if !strings.Contains(svg, label) {
					t.Errorf("%s lacks the case %q", c.File, label)
				}
			}
			if got := strings.Count(svg, "<rect x="); got < 8 {
				t.Errorf("%s draws %d bars, want one per case and configuration", c.File, got)
			}
		}
	}
	var md strings.Builder
	r.chartsSection(func(format string, args ...any) {
		md.WriteString(strings.TrimSpace(fmt.Sprintf(format, args...)) + "\n")
	})
	for _, c := range r.charts {
		if !strings.Contains(md.String(), "("+c.File+")") {
			t.Errorf("the report does not embed %s", c.File)
		}
	}
}

func TestDeliveryWindowSkipsFailures(t *testing.T) {
	res := []loadgen.Result{
		{TTFB: 200 * time.Millisecond, Latency: 300 * time.Millisecond},
		{TTFB: 210 * time.Millisecond, Latency: 500 * time.Millisecond},
		{TTFB: time.Millisecond, Latency: 2 * time.Second, Err: io.ErrUnexpectedEOF},
	}
	if got := deliveryWindow(res); got != 300*time.Millisecond {
		t.Fatalf("deliveryWindow = %v, want 300ms", got)
	}
	if got := deliveredRate(1<<20, 3, 300*time.Millisecond); got != float64(3<<20)/0.3 {
		t.Fatalf("deliveredRate = %v", got)
	}
}

func TestOverrideStampede(t *testing.T) {
	var o options
	if err := o.overrideStampede("4KiB, 1MiB,100", "10,100"); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.sizes, o.stampedeN) != "[4096 1048576 100] [10 100]" {
		t.Fatalf("sizes %v, n %v", o.sizes, o.stampedeN)
	}
	for _, bad := range [][2]string{{"4KB", ""}, {"", "ten"}, {"-1MiB", ""}, {"", "0"}} {
		if err := o.overrideStampede(bad[0], bad[1]); err == nil {
			t.Errorf("overrideStampede(%q, %q): no error", bad[0], bad[1])
		}
	}
}
