// Package prompts holds every word verbatim tells a chat model: the system,
// answer and follow-up-condensing prompts as text/template files and the JSON
// schema of a structured answer, embedded in the binary and parsed once.
//
// Templates are filled from the typed structs below; the package contains no
// logic beyond rendering. The constants that a reply parser must recognise
// (Refusal, CitationsHeading) and the label format (Label) are defined here
// so that the prompt and the parser cannot drift apart.
package prompts

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
)

//go:embed *.tmpl answer.schema.json
var files embed.FS

// templates are parsed once; a broken template fails every test at once.
var templates = template.Must(template.ParseFS(files, "*.tmpl"))

const (
	// Refusal starts a plain-text reply when the passages do not answer the
	// question.
	Refusal = "NOT_IN_ARTICLES"
	// CitationsHeading separates the answer from its citation lines in a
	// plain-text reply.
	CitationsHeading = "CITATIONS:"
	// SchemaName names the structured-output schema sent as response_format.
	SchemaName = "cited_answer"
)

// Label is the stable label of paragraph n of an article as the model sees
// it: "[<article id> ¶n]".
func Label(articleID string, n int) string {
	return "[" + BareLabel(articleID, n) + "]"
}

// BareLabel is Label without brackets, as the model writes it in a citation:
// "<article id> ¶n".
func BareLabel(articleID string, n int) string {
	return fmt.Sprintf("%s ¶%d", articleID, n)
}

// System is the system prompt of an answer request.
type System struct {
	// JSON selects the structured-output instructions (the reply is a JSON
	// object following AnswerSchema); otherwise the plain-text format with
	// CitationsHeading and Refusal is described.
	JSON bool
}

// Para is one labelled paragraph.
type Para struct {
	Label string // Label(articleID, N)
	N     int
	Text  string
}

// Passage is consecutive paragraphs of one article.
type Passage struct {
	ArticleID  string
	Title      string
	Paragraphs []Para
}

// Answer is the user message of an answer request.
type Answer struct {
	// Question is the question as asked; Standalone the question as searched
	// (a rewritten follow-up). Standalone is shown only when it differs.
	Question   string
	Standalone string
	Passages   []Passage
}

// Turn is one earlier question and answer of a conversation.
type Turn struct {
	Question string
	Answer   string
}

// Condense is the user message asking to rewrite a follow-up question into a
// standalone one.
type Condense struct {
	History  []Turn // oldest first
	Question string
}

// RenderSystem renders the system prompt of an answer request.
func RenderSystem(s System) (string, error) {
	return render("system.tmpl", struct {
		System
		ExampleLabel, ExampleLabelBare string
		Refusal, CitationsHeading      string
	}{s, Label("article-id", 3), BareLabel("article-id", 3), Refusal, CitationsHeading})
}

// RenderAnswer renders the user message of an answer request.
func RenderAnswer(a Answer) (string, error) {
	return render("answer.tmpl", a)
}

// RenderCondenseSystem renders the system prompt of a condensing request.
func RenderCondenseSystem() (string, error) {
	return render("condense_system.tmpl", nil)
}

// RenderCondense renders the user message of a condensing request.
func RenderCondense(c Condense) (string, error) {
	return render("condense.tmpl", c)
}

// AnswerSchema is the JSON schema of a structured answer: {"answer",
// "citations": [{"marker", "label", "quote"}], "refused"}.
func AnswerSchema() json.RawMessage {
	b, err := files.ReadFile("answer.schema.json")
	if err != nil {
		panic(err) // embedded at build time
	}
	return json.RawMessage(b)
}

func render(name string, data any) (string, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("render prompt %s: %w", name, err)
	}
	return strings.TrimSpace(b.String()) + "\n", nil
}
