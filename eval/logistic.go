package eval

import (
	"errors"
	"math"

	"github.com/verbatimbot/verbatim/bot"
)

// sample is one weighted, labelled feature vector.
type sample struct {
	x      []float64
	y      float64 // 1 or 0
	weight float64
}

// l2 is the ridge penalty of the fits, on standardised features: small
// enough not to bias well-supported weights, large enough to keep a
// feature that separates one training set perfectly from running off.
const l2 = 1.0

// fitLogistic fits a weighted, L2-regularised logistic regression by
// Newton's method on standardised features and returns it as a bot.Model
// over names.
func fitLogistic(names []string, samples []sample) (bot.Model, error) {
	d := len(names)
	m := bot.Model{Features: names, Mean: make([]float64, d), Scale: make([]float64, d), Weights: make([]float64, d)}
	if len(samples) == 0 {
		return m, errors.New("fit: no samples")
	}
	var total float64
	for _, s := range samples {
		total += s.weight
		for j, v := range s.x {
			m.Mean[j] += s.weight * v
		}
	}
	if total == 0 {
		return m, errors.New("fit: samples weigh nothing")
	}
	for j := range m.Mean {
		m.Mean[j] /= total
	}
	for _, s := range samples {
		for j, v := range s.x {
			dv := v - m.Mean[j]
			m.Scale[j] += s.weight * dv * dv
		}
	}
	for j := range m.Scale {
		m.Scale[j] = math.Sqrt(m.Scale[j] / total)
		if m.Scale[j] < 1e-9 {
			m.Scale[j] = 1 // constant feature: its weight stays 0
		}
	}
	// Standardised design with an intercept column at index d.
	z := make([][]float64, len(samples))
	for i, s := range samples {
		row := make([]float64, d+1)
		for j, v := range s.x {
			row[j] = (v - m.Mean[j]) / m.Scale[j]
		}
		row[d] = 1
		z[i] = row
	}
	beta := make([]float64, d+1)
	// The penalty is scaled to the data's total weight so that it means the
	// same whatever the weights sum to.
	lambda := l2 * total / float64(len(samples))
	for iter := 0; iter < 50; iter++ {
		grad := make([]float64, d+1)
		hess := make([][]float64, d+1)
		for j := range hess {
			hess[j] = make([]float64, d+1)
		}
		for i, s := range samples {
			var eta float64
			for j, v := range z[i] {
				eta += beta[j] * v
			}
			p := 1 / (1 + math.Exp(-eta))
			g := s.weight * (p - s.y)
			h := s.weight * p * (1 - p)
			for j, vj := range z[i] {
				grad[j] += g * vj
				for k, vk := range z[i] {
					hess[j][k] += h * vj * vk
				}
			}
		}
		for j := 0; j < d; j++ {
			grad[j] += lambda * beta[j]
			hess[j][j] += lambda
		}
		hess[d][d] += 1e-9
		step, err := solve(hess, grad)
		if err != nil {
			return m, err
		}
		var change float64
		for j := range beta {
			beta[j] -= step[j]
			change = max(change, math.Abs(step[j]))
		}
		if change < 1e-8 {
			break
		}
	}
	copy(m.Weights, beta[:d])
	m.Bias = beta[d]
	return m, nil
}

// solve solves a·x = b by Gaussian elimination with partial pivoting.
func solve(a [][]float64, b []float64) ([]float64, error) {
	n := len(b)
	m := make([][]float64, n)
	for i := range a {
		m[i] = append(append([]float64(nil), a[i]...), b[i])
	}
	for col := 0; col < n; col++ {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[piv][col]) {
				piv = r
			}
		}
		if math.Abs(m[piv][col]) < 1e-12 {
			return nil, errors.New("fit: singular system")
		}
		m[col], m[piv] = m[piv], m[col]
		for r := col + 1; r < n; r++ {
			f := m[r][col] / m[col][col]
			for c := col; c <= n; c++ {
				m[r][c] -= f * m[col][c]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := m[r][n]
		for c := r + 1; c < n; c++ {
			s -= m[r][c] * x[c]
		}
		x[r] = s / m[r][r]
	}
	return x, nil
}
