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
)

// TestDiscordEndToEnd runs the real binary's `discord` command against the
// fake Discord: the same engine as the CLI answers a slash command and a DM,
// and SIGTERM shuts the bot down cleanly.
func TestDiscordEndToEnd(t *testing.T) {
	fake := discordtest.New(t)
	defer fake.Close()

	var stderr bytes.Buffer
	cmd := exec.Command(binPath, "discord")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{
		"HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"),
		"DISCORD_TOKEN=test-token-secret", "DISCORD_API_URL=" + fake.URL(), "DISCORD_GUILD_ID=" + discordtest.GuildID,
		"VERBATIM_VOTES_FILE=" + filepath.Join(t.TempDir(), "votes.jsonl"),
	}
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	fake.WaitConnected(t, 30*time.Second)
	fake.WaitCall(t, 10*time.Second, "command registration", func(c discordtest.Call) bool {
		return c.Method == "PUT" && strings.HasSuffix(c.Path, "/guilds/"+discordtest.GuildID+"/commands")
	})

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

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("discord exited with %v after SIGTERM; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("discord did not stop within 20s of SIGTERM; stderr:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "test-token-secret") {
		t.Error("the token appears in the logs")
	}
}
