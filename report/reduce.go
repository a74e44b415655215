package report

import (
	"github.com/rpbus/rpbus/internal/num"
	"math"
)

// A plot is about 700 pixels wide: a series with more points than that is
// drawn reduced, one bucket per pixel or so. (The rasteriser's cost grows
// steeply with a path's wiggles: 16384 points of a fast signal took
// seconds, 700 buckets take milliseconds.)
const buckets = 700

// band is a reduced series: at each x, the least, the mean and the
// greatest value of the points it stands for. Raw points have lo = mean =
// hi.
type band struct {
	x, lo, mean, hi []float64
	// reduced tells whether any x stands for more than one point.
	reduced bool
}

func (b *band) add(x, lo, mean, hi float64) {
	b.x = append(b.x, x)
	b.lo = append(b.lo, lo)
	b.mean = append(b.mean, mean)
	b.hi = append(b.hi, hi)
}

// envelope reduces n evenly spaced points (x(i), y(i)) to at most nb
// buckets of consecutive points, each drawn at its middle point's x with
// the minimum, mean and maximum of its finite values (a min/max envelope:
// every sample lies inside it). n <= nb gives the points themselves.
// Buckets without a finite value are left out.
func envelope(n, nb int, x, y func(int) float64) band {
	var b band
	if n <= nb {
		for i := 0; i < n; i++ {
			if v := y(i); num.Finite(v) && num.Finite(x(i)) {
				b.add(x(i), v, v, v)
			}
		}
		return b
	}
	b.reduced = true
	for k := 0; k < nb; k++ {
		first, last := k*n/nb, (k+1)*n/nb
		lo, hi, sum, cnt := math.Inf(1), math.Inf(-1), 0.0, 0
		for i := first; i < last; i++ {
			if v := y(i); num.Finite(v) {
				lo, hi, sum, cnt = math.Min(lo, v), math.Max(hi, v), sum+v, cnt+1
			}
		}
		if cnt > 0 {
			b.add(x((first+last-1)/2), lo, sum/float64(cnt), hi)
		}
	}
	return b
}

// logBuckets reduces points (f[i], y[i]) at increasing frequencies into
// nb buckets evenly spaced in log f between the first and the last
// positive frequency: each bucket holding points becomes its geometric
// centre (the point's own frequency when it holds one) with the minimum,
// mean and maximum of their finite values. At the low end of a linear
// frequency grid a bucket holds one bin or none, so those are drawn as
// they are; at the high end hundreds of bins share a pixel. Frequencies
// <= 0 (DC) have no place on a log axis and are left out.
func logBuckets(f []float64, y func(int) float64, nb int) band {
	var b band
	first := 0
	for first < len(f) && !(f[first] > 0) {
		first++
	}
	if first == len(f) {
		return b
	}
	lo, hi := math.Log(f[first]), math.Log(f[len(f)-1])
	width := (hi - lo) / float64(nb)
	i := first
	for k := 0; k < nb && i < len(f); k++ {
		end := math.Exp(lo + float64(k+1)*width)
		if k == nb-1 {
			end = math.Inf(1)
		}
		mn, mx, sum, cnt, start := math.Inf(1), math.Inf(-1), 0.0, 0, i
		for ; i < len(f) && f[i] <= end*(1+1e-12); i++ {
			if v := y(i); num.Finite(v) {
				mn, mx, sum, cnt = math.Min(mn, v), math.Max(mx, v), sum+v, cnt+1
			}
		}
		if cnt == 0 {
			continue
		}
		if i-start > 1 {
			b.reduced = true
		}
		x := f[start]
		if i-start > 1 {
			x = math.Sqrt(f[start] * f[i-1])
		}
		b.add(x, mn, sum/float64(cnt), mx)
	}
	return b
}
