package prompts

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./prompts -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the rendered prompt (go test ./prompts -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func samplePassages() []Passage {
	return []Passage{
		{ArticleID: "iran-s400", Title: "Tehran eyes Russian air defences", Paragraphs: []Para{
			{Label: Label("iran-s400", 3), N: 3, Text: "Iran is interested in buying the S-400 system, a senior official said."},
			{Label: Label("iran-s400", 4), N: 4, Text: "The deal, worth $3.67 billion, has not been signed."},
		}},
		{ArticleID: "news/2024/gas", Title: "Gas prices {{not a template}}", Paragraphs: []Para{
			{Label: Label("news/2024/gas", 12), N: 12, Text: "Prices rose 6% in “March”."},
		}},
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name   string
		render func() (string, error)
	}{
		{"system_json.golden", func() (string, error) { return RenderSystem(System{JSON: true}) }},
		{"system_text.golden", func() (string, error) { return RenderSystem(System{JSON: false}) }},
		{"answer.golden", func() (string, error) {
			return RenderAnswer(Answer{Question: "Which missile system is Tehran interested in buying?", Passages: samplePassages()})
		}},
		{"answer_followup.golden", func() (string, error) {
			return RenderAnswer(Answer{Question: "and how much is it worth?", Standalone: "How much is Iran's S-400 deal worth?", Passages: samplePassages()})
		}},
		{"condense_system.golden", RenderCondenseSystem},
		{"condense.golden", func() (string, error) {
			return RenderCondense(Condense{
				History: []Turn{
					{Question: "Which missile system is Tehran interested in buying?", Answer: "The S-400 [1]."},
					{Question: "Who said so?", Answer: "A senior official [1]."},
				},
				Question: "and when was that signed?",
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.render()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, got)
		})
	}
}

func TestAnswerLabelsEveryParagraph(t *testing.T) {
	got, err := RenderAnswer(Answer{Question: "q", Passages: samplePassages()})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range samplePassages() {
		for _, para := range p.Paragraphs {
			if !strings.Contains(got, para.Label+" "+para.Text+"\n") {
				t.Errorf("paragraph %q is not presented as %q", para.Text, para.Label+" "+para.Text)
			}
		}
	}
	if strings.Contains(got, "standalone") {
		t.Errorf("a question without a rewrite shows a standalone question:\n%s", got)
	}
}

func TestSystemFormats(t *testing.T) {
	js, err := RenderSystem(System{JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	text, err := RenderSystem(System{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js, Refusal) || strings.Contains(js, CitationsHeading) {
		t.Errorf("JSON system prompt describes the plain-text format:\n%s", js)
	}
	for _, want := range []string{Refusal, CitationsHeading, "(" + BareLabel("article-id", 3) + ")"} {
		if !strings.Contains(text, want) {
			t.Errorf("plain-text system prompt lacks %q", want)
		}
	}
}

func TestLabel(t *testing.T) {
	if got, want := Label("news/2024/gas", 12), "[news/2024/gas ¶12]"; got != want {
		t.Errorf("Label = %q, want %q", got, want)
	}
}

func TestAnswerSchema(t *testing.T) {
	var s struct {
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
		Additional *bool                      `json:"additionalProperties"`
	}
	if err := json.Unmarshal(AnswerSchema(), &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	// Strict structured output wants every property required and no others.
	if s.Type != "object" || s.Additional == nil || *s.Additional {
		t.Errorf("schema: type=%q additionalProperties=%v, want object and false", s.Type, s.Additional)
	}
	if len(s.Required) != len(s.Properties) {
		t.Errorf("required %v does not list every property", s.Required)
	}
	for _, r := range []string{"answer", "citations", "refused"} {
		if _, ok := s.Properties[r]; !ok {
			t.Errorf("schema has no property %q", r)
		}
	}
}
