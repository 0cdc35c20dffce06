package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFitLogistic recovers known weights from data drawn from a logistic
// model.
func TestFitLogistic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	trueW := []float64{2, -1, 0}
	const bias = 0.5
	var samples []sample
	for range 20000 {
		x := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		eta := bias
		for j := range x {
			eta += trueW[j] * x[j]
		}
		y := 0.0
		if rng.Float64() < 1/(1+math.Exp(-eta)) {
			y = 1
		}
		samples = append(samples, sample{x: x, y: y, weight: 1})
	}
	m, err := fitLogistic([]string{"a", "b", "c"}, samples)
	if err != nil {
		t.Fatal(err)
	}
	for j, w := range trueW {
		got := m.Weights[j] / m.Scale[j] // back to raw units
		if math.Abs(got-w) > 0.1 {
			t.Errorf("weight %d = %.3f, want %.1f ± 0.1", j, got, w)
		}
	}
	got := m.Logit([]float64{0, 0, 0})
	if math.Abs(got-bias) > 0.1 {
		t.Errorf("logit at 0 = %.3f, want %.1f ± 0.1", got, bias)
	}
}
