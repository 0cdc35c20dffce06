package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBoostedMonotone fits trees on data whose label falls where the
// first feature is highest (a bump the visible sets might have by chance)
// and checks that with the feature constrained the fitted log-odds never
// fall as it grows, for any value of the second, while without the
// constraint they do: the constraint is what holds it.
func TestBoostedMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var samples []sample
	for range 4000 {
		x := []float64{rng.Float64(), rng.Float64()}
		eta := 4*x[0] - 2 + x[1]
		if x[0] > 0.8 {
			eta -= 3 // the bump
		}
		y := 0.0
		if rng.Float64() < 1/(1+math.Exp(-eta)) {
			y = 1
		}
		samples = append(samples, sample{x: x, y: y, weight: 1})
	}
	falls := func(mono []int) (worst float64) {
		m, err := fitBoosted([]string{"a", "b"}, samples, mono)
		if err != nil {
			t.Fatal(err)
		}
		for b := 0.0; b <= 1; b += 0.1 {
			prev := math.Inf(-1)
			for a := 0.0; a <= 1; a += 0.01 {
				v := m.Logit([]float64{a, b})
				worst = max(worst, prev-v)
				prev = v
			}
		}
		return worst
	}
	if d := falls([]int{+1, 0}); d > 1e-12 {
		t.Errorf("constrained: log-odds fall by %.3f as the increasing feature grows", d)
	}
	if d := falls(nil); d < 0.5 {
		t.Errorf("unconstrained: the bump shows as a fall of only %.3f; the test would not tell", d)
	}
}
