package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
	"github.com/verbatimbot/verbatim/openaicompat/openaitest"
)

// TestDiscordEndToEnd runs the real binary's `discord` command against the
// fake Discord: the same engine as the CLI answers a slash command and a DM,
// and SIGTERM shuts the bot down cleanly.
// discordProcess is `verbatim discord` running against a fake Discord.
type discordProcess struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	exited chan error
}

// startDiscord starts the binary's discord command with env added and waits
// until it has connected and registered its commands; the process is
// killed at the end of the test if it is still running.
func startDiscord(t *testing.T, fake *discordtest.Server, env ...string) *discordProcess {
	t.Helper()
	p := &discordProcess{cmd: exec.Command(binPath, "discord")}
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = append([]string{
		"HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
		"DISCORD_TOKEN=test-token-secret", "DISCORD_API_URL=" + fake.URL(), "DISCORD_GUILD_ID=" + discordtest.GuildID,
		"VERBATIM_VOTES_FILE=" + filepath.Join(t.TempDir(), "votes.jsonl"),
	}, env...)
	p.cmd.Stderr = &p.stderr
	p.exited = startReaped(t, p.cmd)
	fake.WaitConnected(t, 30*time.Second)
	fake.WaitCall(t, 10*time.Second, "command registration", func(c discordtest.Call) bool {
		return c.Method == "PUT" && strings.HasSuffix(c.Path, "/guilds/"+discordtest.GuildID+"/commands")
	})
	return p
}

// stop sends SIGTERM and expects a clean exit.
func (p *discordProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("discord exited with %v after SIGTERM; stderr:\n%s", err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("discord did not stop within 20s of SIGTERM; stderr:\n%s", p.stderr.String())
	}
	if strings.Contains(p.stderr.String(), "test-token-secret") {
		t.Error("the token appears in the logs")
	}
}

func TestDiscordEndToEnd(t *testing.T) {
	fake := discordtest.New(t)
	defer fake.Close()
	p := startDiscord(t, fake)

	user := discordtest.User{ID: "700000000000000001", Name: "reader"}
	in := fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user, GuildID: discordtest.GuildID,
		Options: []discordtest.Option{{Name: "question", Value: "Which missile system is Tehran interested in buying?"}}})
	fake.WaitCall(t, 5*time.Second, "deferral", func(c discordtest.Call) bool { return c.Path == in.CallbackPath() })
	edit := fake.WaitCall(t, 10*time.Second, "answer edit", func(c discordtest.Call) bool {
		return c.Method == "PATCH" && c.Path == in.OriginalPath() && strings.Contains(string(c.Body), "S-400")
	})
	var msg struct {
		Embeds []struct {
			Description string `json:"description"`
		} `json:"embeds"`
		AllowedMentions struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
	}
	if err := edit.JSON(&msg); err != nil {
		t.Fatal(err)
	}
	body := string(edit.Body)
	if !strings.Contains(body, "¶9") || !strings.Contains(body, "Iran and Russia on their way to new level of partnership") || !strings.Contains(body, `"parse":[]`) {
		t.Errorf("answer edit lacks the ¶9 citation, its title or empty allowed_mentions:\n%s", body)
	}

	dm := fake.SendDM(t, user, "", "What does INSTEX stand for?")
	reply := fake.WaitCall(t, 10*time.Second, "DM reply", func(c discordtest.Call) bool {
		return c.Method == "POST" && c.Path == "/channels/"+dm.ChannelID+"/messages"
	})
	if !strings.Contains(string(reply.Body), "Instrument in Support of Trade Exchanges") {
		t.Errorf("DM reply does not quote ¶24:\n%s", reply.Body)
	}

	p.stop(t)
}

// TestDiscordWithLLM answers /ask through the fake model: the answer is
// streamed into the deferred response by edits, and the final edit carries
// only the verified quote — never the invented one.
func TestDiscordWithLLM(t *testing.T) {
	srv := fakeModel(t, openaitest.Options{}, llmReply)
	fake := discordtest.New(t)
	defer fake.Close()
	p := startDiscord(t, fake, "OPENAI_BASE_URL="+srv.URL, "VERBATIM_CHAT_MODEL=test-model")

	user := discordtest.User{ID: "700000000000000002", Name: "reader"}
	in := fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user, GuildID: discordtest.GuildID,
		Options: []discordtest.Option{{Name: "question", Value: "Which missile system is Tehran interested in buying?"}}})
	final := fake.WaitCall(t, 15*time.Second, "final answer edit", func(c discordtest.Call) bool {
		return c.Method == "PATCH" && c.Path == in.OriginalPath() && strings.Contains(string(c.Body), "¶9")
	})
	body := string(final.Body)
	if !strings.Contains(body, "Firstly, the Tehran’s interest") || strings.Contains(body, "record price") {
		t.Errorf("final edit does not show exactly the verified quote:\n%s", body)
	}
	if !lastChat(t, srv).Stream {
		t.Error("the bot did not ask the model to stream")
	}
	p.stop(t)
}

// TestDiscordReloadsIndex runs the bot over a corpus, re-indexes it with a
// new article from another process, and finds the new article in /sources
// without restarting the bot.
func TestDiscordReloadsIndex(t *testing.T) {
	work := t.TempDir()
	corpusDir := filepath.Join(work, "articles")
	writeCorpus(t, corpusDir, map[string]string{"tides.txt": "Why the sea has tides\n\nTides are caused mainly by the Moon.\n"})
	env := []string{"VERBATIM_CORPUS=" + corpusDir, "VERBATIM_INDEX=" + filepath.Join(work, "index"), "VERBATIM_RELOAD_INTERVAL=100ms"}
	fake := discordtest.New(t)
	defer fake.Close()
	p := startDiscord(t, fake, env...)

	writeCorpus(t, corpusDir, map[string]string{"bees.md": "# The Honey Bee\n\nA queen bee can lay two thousand eggs in a day.\n"})
	if r := verbatim(t, work, "", env, "index"); r.code != 0 || !strings.Contains(r.stdout, "added 1") {
		t.Fatalf("index: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	user := discordtest.User{ID: "700000000000000003", Name: "reader"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		in := fake.SendSlash(t, discordtest.Slash{Name: "sources", User: user, GuildID: discordtest.GuildID})
		edit := fake.WaitCall(t, 5*time.Second, "sources", func(c discordtest.Call) bool {
			return c.Path == in.CallbackPath() || (c.Method == "PATCH" && c.Path == in.OriginalPath())
		})
		if strings.Contains(string(edit.Body), "The Honey Bee") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/sources never listed the re-indexed article:\n%s\nstderr:\n%s", edit.Body, p.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.stop(t)
}
