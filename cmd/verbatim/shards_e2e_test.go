package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
	"github.com/verbatimbot/verbatim/retrieval/postgres/pgtest"
)

// startReaped starts cmd and returns the channel its exit arrives on; a
// process still running when the test ends is killed and reaped.
func startReaped(t *testing.T, cmd *exec.Cmd) chan error {
	t.Helper()
	exited := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return exited
}

// shardProcess is `verbatim discord` running some shards.
type shardProcess struct {
	name   string
	cmd    *exec.Cmd
	stderr syncBuffer
	exited chan error
}

func startShard(t *testing.T, fake *discordtest.Server, id string, env []string) *shardProcess {
	t.Helper()
	p := &shardProcess{name: "shard " + id}
	p.cmd = binCommand(t, t.TempDir(), append([]string{
		"DISCORD_TOKEN=test-token-secret", "DISCORD_API_URL=" + fake.URL(), "VERBATIM_DISCORD_SHARD_ID=" + id,
	}, env...), "discord")
	p.cmd.Stderr = &p.stderr
	p.exited = startReaped(t, p.cmd)
	return p
}

// waitLog waits until the process has logged a line containing all of
// parts.
func (p *shardProcess) waitLog(t *testing.T, timeout time.Duration, what string, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			all := true
			for _, part := range parts {
				all = all && strings.Contains(line, part)
			}
			if all {
				return
			}
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("%s exited (%v) before logging %s; stderr:\n%s", p.name, err, what, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log %s within %v; stderr:\n%s", p.name, what, timeout, p.stderr.String())
		}
	}
}

func (p *shardProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("%s exited with %v after SIGTERM; stderr:\n%s", p.name, err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not stop within 20s of SIGTERM", p.name)
	}
	if strings.Contains(p.stderr.String(), "test-token-secret") {
		t.Errorf("the token appears in %s's logs", p.name)
	}
}

// TestDiscordShardsShareTheDatabase (issue 12's Must-show): two `verbatim
// discord` processes, shards 0 and 1 of 2, and `verbatim ask`, against
// one PostgreSQL database. The fake Discord delivers a question in a guild
// of each shard and a DM (to shard 0), and the process running that shard
// answers it, the other never sees it; a re-index by a third process
// (`verbatim index`) is picked up by both bots without a restart, and the
// next ask sees it too.
func TestDiscordShardsShareTheDatabase(t *testing.T) {
	db := "VERBATIM_DATABASE_URL=" + pgtest.URL(t)
	work := t.TempDir()
	corpusDir := work + "/articles"
	writeCorpus(t, corpusDir, map[string]string{
		"bees.md": "---\ntitle: The Honey Bee\n---\n\nHoney bees live in colonies of up to sixty thousand workers.\n\nA queen bee can lay two thousand eggs in a single day.\n",
	})
	if r := verbatim(t, work, "", []string{db}, "index", "--corpus", corpusDir); r.code != 0 || !strings.Contains(r.stdout, "added 1") {
		t.Fatalf("index: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// Guild A is on shard 0 of 2, guild B (the fake's default) on shard 1.
	const guildA, channelA = "900000000004194307", "900000000004194399"
	guildB := discordtest.GuildID
	if discordtest.ShardOf(guildA, 2) != 0 || discordtest.ShardOf(guildB, 2) != 1 {
		t.Fatal("test guilds are not on shards 0 and 1")
	}
	fake := discordtest.New(t)
	defer fake.Close()
	fake.AddGuild(guildA)
	fake.AddChannel(discordtest.Channel{ID: channelA, GuildID: guildA, Type: discordtest.ChannelText, Name: "general"})

	// Polling off: only the database's notification can tell the bots.
	env := []string{db, "VERBATIM_DISCORD_SHARDS=2", "VERBATIM_RELOAD_INTERVAL=0", "VERBATIM_LOG_LEVEL=info"}
	shard0 := startShard(t, fake, "0", env)
	shard1 := startShard(t, fake, "1", env)
	// Both start at once: with max_concurrency 1 Discord refuses the
	// second IDENTIFY within 5 s (op 9), and that shard tries again.
	fake.WaitShards(t, 45*time.Second, discordtest.Shard{ID: 0, Count: 2}, discordtest.Shard{ID: 1, Count: 2})
	shard0.waitLog(t, 20*time.Second, "the command registration", "discord commands registered", "scope=global")
	shard1.waitLog(t, 20*time.Second, "that shard 0 registers", "commands left to the process running shard 0")
	isRegistration := func(c discordtest.Call) bool { return c.Method == "PUT" && strings.HasSuffix(c.Path, "/commands") }
	if n := len(fake.Find(isRegistration)); n != 1 {
		t.Errorf("%d command registrations, want 1 (by shard 0)", n)
	}

	user := discordtest.User{ID: "700000000000000021", Name: "reader"}
	askGuild := func(guild, channel, q string) discordtest.Interaction {
		t.Helper()
		return fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user, GuildID: guild, ChannelID: channel,
			Options: []discordtest.Option{{Name: "question", Value: q}}})
	}
	// answered checks that the answer to in quotes want, and that it was
	// the process running shard `by` that answered.
	answered := func(in discordtest.Interaction, want string, by, other *shardProcess) {
		t.Helper()
		edit := fake.WaitCall(t, 20*time.Second, "answer edit", func(c discordtest.Call) bool {
			return c.Method == "PATCH" && c.Path == in.OriginalPath() && strings.Contains(string(c.Body), `"custom_id":"up:`)
		})
		if !strings.Contains(string(edit.Body), want) {
			t.Errorf("answer does not quote %q:\n%s", want, edit.Body)
		}
		by.waitLog(t, 5*time.Second, "the answer to interaction "+in.ID, "discord question answered", "interaction_id="+in.ID)
		if strings.Contains(other.stderr.String(), in.ID) {
			t.Errorf("%s saw interaction %s, which belongs to %s", other.name, in.ID, by.name)
		}
	}
	dmAnswered := func(content, want string) {
		t.Helper()
		dm := fake.SendDM(t, user, "", content)
		reply := fake.WaitCall(t, 20*time.Second, "DM reply", func(c discordtest.Call) bool {
			return c.Method == "POST" && c.Path == "/channels/"+dm.ChannelID+"/messages"
		})
		if !strings.Contains(string(reply.Body), want) {
			t.Errorf("DM reply does not quote %q:\n%s", want, reply.Body)
		}
		shard0.waitLog(t, 5*time.Second, "the DM answered", "message_id="+dm.ID)
		if strings.Contains(shard1.stderr.String(), dm.ID) {
			t.Errorf("shard 1 saw DM %s: DMs go to shard 0 only", dm.ID)
		}
	}
	askCLI := func(q string) jsonAnswer {
		t.Helper()
		r := verbatim(t, t.TempDir(), "", []string{db}, "ask", "--json", q)
		var a jsonAnswer
		if err := json.Unmarshal([]byte(r.stdout), &a); err != nil || r.code != 0 {
			t.Fatalf("ask: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
		}
		return a
	}

	const eggs, tides = "How many eggs can a queen bee lay in a day?", "What causes the tides of the sea?"
	answered(askGuild(guildA, channelA, eggs), "two thousand eggs", shard0, shard1)
	answered(askGuild(guildB, discordtest.ChannelID, eggs), "two thousand eggs", shard1, shard0)
	dmAnswered(eggs, "two thousand eggs")
	if a := askCLI(eggs); len(a.Citations) == 0 || a.Citations[0].Article.ID != "bees" {
		t.Fatalf("ask before the re-index: %+v", a.Citations)
	}

	// A third process re-indexes; both bots follow without a restart.
	writeCorpus(t, corpusDir, map[string]string{
		"tides.txt": "Why the sea has tides\n\nTides are caused mainly by the gravitational pull of the Moon.\n",
	})
	if r := verbatim(t, work, "", []string{db}, "index", "--corpus", corpusDir); r.code != 0 || !strings.Contains(r.stdout, "added 1") {
		t.Fatalf("re-index: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	shard0.waitLog(t, 20*time.Second, "the reload", "index reloaded", "articles=2")
	shard1.waitLog(t, 20*time.Second, "the reload", "index reloaded", "articles=2")
	answered(askGuild(guildA, channelA, tides), "gravitational pull of the Moon", shard0, shard1)
	answered(askGuild(guildB, discordtest.ChannelID, tides), "gravitational pull of the Moon", shard1, shard0)
	dmAnswered(tides, "gravitational pull of the Moon")
	if a := askCLI(tides); len(a.Citations) == 0 || a.Citations[0].Article.ID != "tides" {
		t.Fatalf("ask after the re-index: %+v", a.Citations)
	}
	if got := fake.Deliveries("MESSAGE_CREATE"); len(got) != 2 || got[0].Shard.ID != 0 || got[1].Shard.ID != 0 {
		t.Errorf("DMs delivered to %+v, want shard 0 twice", got)
	}
	shard0.stop(t)
	shard1.stop(t)
}
