package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/verbatimbot/verbatim/openaicompat/openaitest"
)

// TestSecretsNeverPrinted: servers that echo the keys they were sent in
// their error bodies, as OpenAI does, get them printed nowhere — not in
// the notice (stderr or --json), the error line, nor any log record at
// debug level (issue 9, item 10).
func TestSecretsNeverPrinted(t *testing.T) {
	const (
		chatKey  = "sk-live-chat-0123456789abcdef"
		embedKey = "sk-live-embed-0123456789abcdef"
		discord  = "MTAxNTY3ODkwMTIzNDU2Nzg5.GAbCdE.discord-token-0123456789"
	)
	chat := openaitest.New(t, openaitest.Options{})
	chat.Chat(openaitest.Error(500, "upstream refused Authorization: Bearer "+chatKey+" (and "+discord+")"))
	embed := openaitest.New(t, openaitest.Options{})
	embed.Embeddings(openaitest.Error(500, "Incorrect API key provided: "+embedKey))
	env := []string{"OPENAI_BASE_URL=" + chat.URL, "OPENAI_API_KEY=" + chatKey, "VERBATIM_CHAT_MODEL=test-model",
		"DISCORD_TOKEN=" + discord, "VERBATIM_LOG_LEVEL=debug", "VERBATIM_LLM_RETRIES=1"}
	const q = "Which missile system is Tehran interested in buying?"
	work := t.TempDir()
	runs := []result{
		verbatim(t, work, "", env, "ask", q),
		verbatim(t, work, "", env, "ask", "--json", q),
		verbatim(t, work, "", append(env, "VERBATIM_LLM=on"), "ask", q),
		verbatim(t, work, "", append(env, "VERBATIM_EMBED_MODEL=tiny-embed", "VERBATIM_EMBED_BASE_URL="+embed.URL,
			"VERBATIM_EMBED_API_KEY="+embedKey, "VERBATIM_INDEX="+filepath.Join(work, "remote")), "index"),
	}
	for i, r := range runs {
		for _, secret := range []string{chatKey, embedKey, discord} {
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("run %d printed a secret:\nstdout:\n%s\nstderr:\n%s", i, r.stdout, r.stderr)
			}
		}
	}
	if !strings.Contains(runs[0].stderr, "verbatim: the model at "+chat.URL+" failed (500): upstream refused Authorization: Bearer [redacted] (and [redacted]); showing quotes found without it") {
		t.Errorf("ask: the notice does not say what failed:\n%s", runs[0].stderr)
	}
	if !strings.Contains(runs[1].stdout, `"fallback":"the model at `+chat.URL+` failed (500): upstream refused Authorization: Bearer [redacted]`) {
		t.Errorf("ask --json: %s", runs[1].stdout)
	}
	if runs[2].code != 2 || !strings.Contains(runs[2].stderr, "verbatim ask: answer: draft: draft answer with test-model: chat completion: "+chat.URL+" failed (500): upstream refused Authorization: Bearer [redacted]") {
		t.Errorf("VERBATIM_LLM=on: exit %d\n%s", runs[2].code, runs[2].stderr)
	}
	if runs[3].code != 2 || !strings.Contains(runs[3].stderr, "Incorrect API key provided: [redacted]") {
		t.Errorf("index: exit %d\n%s", runs[3].code, runs[3].stderr)
	}
	if !strings.Contains(runs[0].stderr, "chat completion failed; retrying") {
		t.Errorf("test premise: the retry is logged with the server's message:\n%s", runs[0].stderr)
	}
}
