//go:build !race

package eval

// raceEnabled is set when the tests run under the race detector.
const raceEnabled = false
