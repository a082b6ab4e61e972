// Package paired runs benchmark variants in interleaved rounds and reports wall time, client CPU and allocations per operation.
//
// On a shared 2-core machine absolute times drift from minute to minute;
// variants measured in the same rounds, their order rotated every round,
// see the same drift, so their ratios hold. Client CPU per operation (the
// process's own CPU time) survives a loaded machine better than wall time:
// it is what the layer costs beyond the server's work. Allocation counts
// are exact.
package paired

import (
	"fmt"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Variant is one way to do the operation under test. Op gets the worker
// number and a sequence number unique within the variant's run.
type Variant struct {
	Name string
	Op   func(worker, i int) error
}

// sample is one variant's figures over one round, per operation.
type sample struct{ wall, cpu, allocs float64 }

// Result is a variant's per-round figures.
type Result struct {
	Name    string
	samples []sample
	ops     int
}

// Run does b.N operations of every variant with workers goroutines each,
// split into rounds; round r runs the variants in an order rotated by r.
// It fails b on the first error.
func Run(b *testing.B, workers, rounds int, vs []Variant) []*Result {
	b.Helper()
	rounds = max(1, min(rounds, b.N))
	res := make([]*Result, len(vs))
	for i, v := range vs {
		res[i] = &Result{Name: v.Name}
	}
	per := b.N / rounds
	next := make([]int, len(vs)) // sequence numbers, so keys never repeat across rounds
	for r := range rounds {
		for k := range vs {
			i := (k + r) % len(vs)
			s, err := round(vs[i], workers, next[i], per)
			if err != nil {
				b.Fatalf("%s: %v", vs[i].Name, err)
			}
			next[i] += per
			res[i].samples = append(res[i].samples, s)
			res[i].ops += per
		}
	}
	return res
}

func round(v Variant, workers, from, n int) (sample, error) {
	var next atomic.Int64
	next.Store(int64(from))
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	allocs0, cpu0, start := allocs(), cpuTime(), time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= from+n {
					return
				}
				if err := v.Op(w, i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	wall, cpu, a := time.Since(start), cpuTime()-cpu0, allocs()-allocs0
	f := float64(n)
	return sample{float64(wall.Nanoseconds()) / f, float64(cpu.Nanoseconds()) / f, float64(a) / f}, first
}

// Median figures of a result, per operation.
func (r *Result) Wall() float64   { return r.median(func(s sample) float64 { return s.wall }) }
func (r *Result) CPU() float64    { return r.median(func(s sample) float64 { return s.cpu }) }
func (r *Result) Allocs() float64 { return r.median(func(s sample) float64 { return s.allocs }) }

// Throughput is operations per second of wall time, from the median.
func (r *Result) Throughput() float64 { return 1e9 / r.Wall() }

func (r *Result) median(f func(sample) float64) float64 {
	xs := make([]float64, len(r.samples))
	for i, s := range r.samples {
		xs[i] = f(s)
	}
	return median(xs)
}

// Ratio is the median over rounds of r's figure divided by base's in the
// same round: the drift of a round cancels out.
func (r *Result) Ratio(base *Result, cpu bool) float64 {
	xs := make([]float64, len(r.samples))
	for i := range r.samples {
		a, b := r.samples[i].wall, base.samples[i].wall
		if cpu {
			a, b = r.samples[i].cpu, base.samples[i].cpu
		}
		xs[i] = a / b
	}
	return median(xs)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// Report adds every result's medians to b, and each one's ratios to base
// (wall time and client CPU per operation; medians of per-round ratios).
func Report(b *testing.B, rs []*Result, base int) {
	for i, r := range rs {
		b.ReportMetric(r.Wall(), r.Name+"-ns/op")
		b.ReportMetric(r.CPU(), r.Name+"-cpu-ns/op")
		b.ReportMetric(r.Allocs(), r.Name+"-allocs/op")
		if i != base {
			b.ReportMetric(r.Ratio(rs[base], false), fmt.Sprintf("%s/%s", r.Name, rs[base].Name))
			b.ReportMetric(r.Ratio(rs[base], true), fmt.Sprintf("%s/%s-cpu", r.Name, rs[base].Name))
		}
	}
	b.ReportMetric(0, "ns/op") // the loop's own time means nothing here
}

// cpuTime is the process's CPU time so far (every thread, user and system).
func cpuTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// allocs is the count of heap objects allocated so far, tiny ones
// included (what testing's allocs/op counts); per-P caches make it
// approximate by a few objects, which rounds of thousands of operations
// absorb. Exact counts: testing.AllocsPerRun (the allocation guard tests).
func allocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/tiny/allocs:objects"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}
