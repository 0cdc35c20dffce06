package eval

import (
	"os"
	"testing"
)

// TestLeaveOneSetOut prints the leave-one-set-out table (run with -v):
// every visible set measured with the vector weight and models fitted on
// the others. It is the figure the README reports.
func TestLeaveOneSetOut(t *testing.T) {
	skipUnderRace(t)
	if testing.Short() {
		t.Skip("fits and measures every visible set (a minute); skipped with -short")
	}
	p := &Protocol{Folds: folds(t), Dir: t.TempDir(), Progress: func(m string) {
		if os.Getenv("VERBATIM_EVAL_PROGRESS") != "" {
			t.Log(m)
		}
	}}
	reps, err := p.LeaveOneSetOut(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var b writerBuffer
	WriteFoldTable(&b, reps)
	t.Log("\n" + b.String())
}

type writerBuffer struct{ data []byte }

func (w *writerBuffer) Write(p []byte) (int, error) {
	w.data = append(w.data, p...)
	return len(p), nil
}
func (w *writerBuffer) String() string { return string(w.data) }
