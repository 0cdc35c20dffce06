package bot

import "testing"

func TestAnswerTypeAmounts(t *testing.T) {
	for q, want := range map[string]answerType{
		"What did Tehran pay for the S-400?":                    numberAnswer,
		"What was the cost of the S-400 deal?":                  numberAnswer,
		"What is Iran's population?":                            numberAnswer,
		"What is the population of Iran?":                       numberAnswer,
		"How large is the population of Iran?":                  numberAnswer,
		"What is the exchange rate of the Iranian rial?":        numberAnswer,
		"What forced Charles V to pay more attention to Spain?": anyAnswer,
		"What city's population grew to 100,000?":               anyAnswer,
		"How much did Iran pay for the S-400 systems?":          numberAnswer,
		"What does INSTEX stand for?":                           anyAnswer,
	} {
		if got := answerTypeOf(q); got != want {
			t.Errorf("answerTypeOf(%q) = %d, want %d", q, got, want)
		}
	}
}
