package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord"
)

var updateEnvExample = flag.Bool("update-env-example", false, "rewrite ../../.env.example from the settings table")

// envExample renders .env.example from the settings table.
func envExample() string {
	var b bytes.Buffer
	b.WriteString("# verbatim settings. Copy to .env (read from the working directory) or set in the\n")
	b.WriteString("# environment, which wins over .env. Every value shown is the default.\n")
	sections := map[string]string{
		"VERBATIM_CORPUS": "Corpus, index and answers",
		"OPENAI_API_KEY":  "LLM answers and remote embeddings (any OpenAI-compatible server)",
		"DISCORD_TOKEN":   "Discord bot (verbatim discord)",
	}
	for _, s := range settings {
		if title, ok := sections[s.Name]; ok {
			fmt.Fprintf(&b, "\n# ---- %s ----\n", title)
		}
		fmt.Fprintf(&b, "\n# %s\n%s=%s\n", s.Help, s.Name, s.Default)
	}
	return b.String()
}

// TestEnvExampleListsEverySetting keeps .env.example in step with the
// settings table (run with -update-env-example to regenerate it).
func TestEnvExampleListsEverySetting(t *testing.T) {
	want := envExample()
	if *updateEnvExample {
		if err := os.WriteFile("../../.env.example", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf(".env.example is out of date with the settings table; run: go test ./cmd/verbatim -run TestEnvExample -update-env-example")
	}
}

func TestLoadConfig(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	t.Run("defaults", func(t *testing.T) {
		c, err := loadConfig(env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.UseLLM() || c.EmbedModel != "local" || c.TopK != 8 || c.AnswerTimeout != 90*time.Second || c.DiscordAPIURL != "https://discord.com/" {
			t.Errorf("unexpected defaults: %+v", c)
		}
	})
	t.Run("llm when base url set", func(t *testing.T) {
		c, err := loadConfig(env(map[string]string{"OPENAI_BASE_URL": "http://localhost:11434/v1"}))
		if err != nil {
			t.Fatal(err)
		}
		if !c.UseLLM() || c.EmbedBaseURL != "http://localhost:11434/v1" {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("llm off wins", func(t *testing.T) {
		c, _ := loadConfig(env(map[string]string{"OPENAI_API_KEY": "sk-x", "VERBATIM_LLM": "off"}))
		if c.UseLLM() {
			t.Error("VERBATIM_LLM=off still uses the LLM")
		}
	})
	t.Run("bad values are reported together", func(t *testing.T) {
		_, err := loadConfig(env(map[string]string{"VERBATIM_TOP_K": "zero", "VERBATIM_LLM_TIMEOUT": "soon"}))
		if err == nil || !strings.Contains(err.Error(), "VERBATIM_TOP_K") || !strings.Contains(err.Error(), "VERBATIM_LLM_TIMEOUT") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("memory limit", func(t *testing.T) {
		for _, tc := range []struct {
			env  map[string]string
			want int64
		}{
			{nil, 768 << 20},
			{map[string]string{"VERBATIM_MEMORY_LIMIT": "2GiB"}, 2 << 30},
			{map[string]string{"VERBATIM_MEMORY_LIMIT": "500MB"}, 500e6},
			{map[string]string{"VERBATIM_MEMORY_LIMIT": "off"}, 0},
			{map[string]string{"GOMEMLIMIT": "1GiB"}, 0},
		} {
			c, err := loadConfig(env(tc.env))
			if err != nil || c.MemoryLimit != tc.want {
				t.Errorf("%v: limit %d, err %v; want %d", tc.env, c.MemoryLimit, err, tc.want)
			}
		}
		if _, err := loadConfig(env(map[string]string{"VERBATIM_MEMORY_LIMIT": "lots"})); err == nil {
			t.Error("a bad size is accepted")
		}
	})
	t.Run("context window and answer bound", func(t *testing.T) {
		c, err := loadConfig(env(nil))
		if err != nil || c.ContextTokens != 8192 || c.MaxAnswer != 1024 {
			t.Errorf("defaults: context %d, max answer %d, %v", c.ContextTokens, c.MaxAnswer, err)
		}
		if _, err := loadConfig(env(map[string]string{"VERBATIM_CONTEXT_TOKENS": "512"})); err == nil || !strings.Contains(err.Error(), "≥ 1024") {
			t.Errorf("a 512-token window: err = %v, want the smallest that works named", err)
		}
	})
	t.Run("secrets scrubbed", func(t *testing.T) {
		c, _ := loadConfig(env(map[string]string{"OPENAI_API_KEY": "sk-chat-secret", "VERBATIM_EMBED_API_KEY": "sk-embed-secret", "DISCORD_TOKEN": "tok.secret.discord"}))
		if got := c.Secrets().Scrub("sk-chat-secret sk-embed-secret tok.secret.discord"); strings.Contains(got, "secret") {
			t.Errorf("Secrets().Scrub left %q", got)
		}
		c, _ = loadConfig(env(map[string]string{"VERBATIM_DATABASE_URL": "postgres://verbatim:verbatim@db:5432/verbatim?sslmode=disable"}))
		line := "verbatim index: failed to connect to postgres://verbatim:verbatim@db:5432/verbatim?sslmode=disable (also postgres://verbatim:verbatim@db/other)"
		if got, want := c.Secrets().Scrub(line), "verbatim index: failed to connect to [redacted] (also postgres://verbatim[redacted]db/other)"; got != want {
			t.Errorf("a database password that is a word:\n got %q\nwant %q", got, want)
		}
	})
	t.Run("discord channels and threads", func(t *testing.T) {
		c, err := loadConfig(env(map[string]string{"VERBATIM_DISCORD_CHANNELS": " 123456789012345678, 223456789012345678 ,", "VERBATIM_DISCORD_THREADS": "Auto"}))
		if err != nil || len(c.DiscordChannels) != 2 || c.DiscordChannels[1] != "223456789012345678" || c.DiscordThreads != "auto" {
			t.Errorf("got %q %q, %v", c.DiscordChannels, c.DiscordThreads, err)
		}
		if c, _ := loadConfig(env(nil)); c.DiscordChannels != nil || c.DiscordThreads != "button" || c.QueueLength != 20 {
			t.Errorf("defaults: %q %q %d", c.DiscordChannels, c.DiscordThreads, c.QueueLength)
		}
		_, err = loadConfig(env(map[string]string{"VERBATIM_DISCORD_CHANNELS": "#general", "VERBATIM_DISCORD_THREADS": "always"}))
		if err == nil || !strings.Contains(err.Error(), "#general") || !strings.Contains(err.Error(), "VERBATIM_DISCORD_THREADS") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("discord shards", func(t *testing.T) {
		for _, tc := range []struct {
			count, ids string
			want       discord.Shards
			err        string
		}{
			{"", "", discord.Shards{Count: 1}, ""},
			{"4", "", discord.Shards{Count: 4}, ""},
			{"4", "2", discord.Shards{Count: 4, IDs: []int{2}}, ""},
			{"4", " 0-1, 3", discord.Shards{Count: 4, IDs: []int{0, 1, 3}}, ""},
			{"Auto", "", discord.Shards{Auto: true}, ""},
			{"auto", "5", discord.Shards{Auto: true, IDs: []int{5}}, ""},
			{"0", "", discord.Shards{}, "VERBATIM_DISCORD_SHARDS=\"0\""},
			{"many", "", discord.Shards{}, "want a count ≥ 1 or auto"},
			{"2", "2", discord.Shards{}, "shard 2 does not exist with VERBATIM_DISCORD_SHARDS=2"},
			{"4", "3-1", discord.Shards{}, "VERBATIM_DISCORD_SHARD_ID"},
			{"4", "1,0-2", discord.Shards{}, "shard 1 listed twice"},
			{"4", "first", discord.Shards{}, "want shard IDs"},
		} {
			m := map[string]string{"VERBATIM_DISCORD_SHARD_ID": tc.ids}
			if tc.count != "" {
				m["VERBATIM_DISCORD_SHARDS"] = tc.count
			}
			c, err := loadConfig(env(m))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("%q %q: err = %v, want %q", tc.count, tc.ids, err, tc.err)
				}
				continue
			}
			if err != nil || c.DiscordShards.Count != tc.want.Count || c.DiscordShards.Auto != tc.want.Auto || !slices.Equal(c.DiscordShards.IDs, tc.want.IDs) {
				t.Errorf("%q %q: %+v, %v; want %+v", tc.count, tc.ids, c.DiscordShards, err, tc.want)
			}
		}
	})
	t.Run("secrets redacted", func(t *testing.T) {
		c, _ := loadConfig(env(map[string]string{"OPENAI_API_KEY": "sk-secret", "DISCORD_TOKEN": "tok.secret"}))
		if s := c.String(); strings.Contains(s, "secret") {
			t.Errorf("String() leaks a secret: %s", s)
		}
		if s := fmt.Sprintf("%v %+v", c, c); strings.Contains(s, "secret") {
			t.Errorf("formatting leaks a secret: %s", s)
		}
	})
}
