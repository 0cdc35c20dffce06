package discord

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
)

var (
	alice = discordtest.User{ID: "200000000000000001", Name: "alice"}
	bob   = discordtest.User{ID: "200000000000000002", Name: "bob"}
)

func user(n int) discordtest.User {
	return discordtest.User{ID: fmt.Sprintf("2100000000000000%02d", n), Name: fmt.Sprintf("user%d", n)}
}

// TestBot runs one bot against one fake Discord (a session costs a second to
// close) and exercises every door through it.
func TestBot(t *testing.T) {
	h := start(t, discordtest.GuildID)
	fake := h.fake
	// Subtests start with every answer slot free: the previous subtest may
	// have seen its last call before the bot released its slot.
	run := func(name string, f func(t *testing.T)) {
		h.settle(t)
		t.Run(name, f)
	}

	run("identify", func(t *testing.T) {
		ids := fake.Identifies()
		if len(ids) != 1 {
			t.Fatalf("identifies = %d, want 1", len(ids))
		}
		if ids[0].Token != "Bot "+testToken {
			t.Errorf("identify token = %q, want the Bot-prefixed token", ids[0].Token)
		}
		if ids[0].Intents != int(Intents) {
			t.Errorf("intents = %d, want %d", ids[0].Intents, Intents)
		}
		want := 1<<9 | 1<<12 // GUILD_MESSAGES | DIRECT_MESSAGES, not MESSAGE_CONTENT (1<<15)
		if ids[0].Intents != want {
			t.Errorf("intents = %b, want %b", ids[0].Intents, want)
		}
	})

	run("register commands in the guild", func(t *testing.T) {
		path := "/applications/" + discordtest.AppID + "/guilds/" + discordtest.GuildID + "/commands"
		c := fake.WaitCall(t, wait, "guild command overwrite", is("PUT", path))
		if c.Auth != "Bot "+testToken {
			t.Errorf("authorization = %q", c.Auth)
		}
		type opt struct {
			Type      int    `json:"type"`
			Name      string `json:"name"`
			Required  bool   `json:"required"`
			MaxLength int    `json:"max_length"`
		}
		type cmd struct {
			Type        int     `json:"type"`
			Name        string  `json:"name"`
			Description string  `json:"description"`
			Options     []opt   `json:"options"`
			Contexts    []int   `json:"contexts"`
			Perms       *string `json:"default_member_permissions"`
		}
		cmds := decode[[]cmd](t, c)
		var names []string
		for _, c := range cmds {
			names = append(names, c.Name)
			if c.Description == "" && c.Type != 3 {
				t.Errorf("/%s has no description", c.Name)
			}
			if !slices.Equal(c.Contexts, []int{0, 1}) {
				t.Errorf("/%s contexts = %v, want guild and bot DM", c.Name, c.Contexts)
			}
			if c.Perms != nil {
				t.Errorf("/%s default_member_permissions = %s; no command is for admins only", c.Name, *c.Perms)
			}
		}
		if !slices.Equal(names, []string{"ask", "sources", "help", "Ask verbatim"}) {
			t.Fatalf("commands = %v", names)
		}
		if cmds[3].Type != 3 || cmds[3].Description != "" {
			t.Errorf("context menu command = %+v, want a message command (type 3) without description", cmds[3])
		}
		wantAsk := []opt{{Type: 3, Name: "question", Required: true, MaxLength: 200}, {Type: 5, Name: "private"}}
		if !slices.Equal(cmds[0].Options, wantAsk) {
			t.Errorf("/ask options = %+v, want %+v", cmds[0].Options, wantAsk)
		}
		if len(cmds[1].Options) != 2 || cmds[1].Options[0] != (opt{Type: 3, Name: "filter", MaxLength: maxFilterChars}) || cmds[1].Options[1] != (opt{Type: 5, Name: "private"}) {
			t.Errorf("/sources options = %+v", cmds[1].Options)
		}
	})

	var asked discordtest.Interaction
	run("ask defers then edits in the answer", func(t *testing.T) {
		asked = fake.SendSlash(t, discordtest.Slash{
			Name: "ask", User: alice, GuildID: discordtest.GuildID,
			Options: []discordtest.Option{{Name: "question", Value: "When was Westphalia signed?"}},
		})
		cb := decode[callbackJSON](t, fake.WaitCall(t, wait, "deferral", callback(asked)))
		if cb.Type != 5 || cb.Data != nil {
			t.Errorf("deferral = %+v, want {\"type\":5}", cb)
		}
		m := decode[messageJSON](t, fake.WaitCall(t, wait, "edited answer", editOriginal(asked)))
		checkNoMentions(t, "edit", m)
		if len(m.Embeds) != 1 {
			t.Fatalf("embeds = %d, want 1", len(m.Embeds))
		}
		e := m.Embeds[0]
		if e.Title != "When was Westphalia signed?" {
			t.Errorf("title = %q", e.Title)
		}
		for _, want := range []string{
			"The treaties were signed in 1648 [1].",
			"**[1]** “The treaties were signed in 1648, ending the war.” — [Peace of Westphalia](https://example.org/westphalia), ¶3",
			"**[2]** “Nobody @everyone pinged anyone \\<@&42\\> here.” — Field notes, ¶1",
		} {
			if !strings.Contains(e.Description, want) {
				t.Errorf("description lacks %q:\n%s", want, e.Description)
			}
		}
		if strings.Index(e.Description, "signed in 1648 [1]") > strings.Index(e.Description, "“The treaties") {
			t.Errorf("citations come before the answer text:\n%s", e.Description)
		}
		if e.Footer == nil || e.Footer.Text != "extractive · 2 quotes" {
			t.Errorf("footer = %+v", e.Footer)
		}
		wantIDs := []string{"up:" + asked.ID, "down:" + asked.ID, paragraphsCustomID(goodAnswer("").Citations), "thread:" + asked.ID}
		if ids := m.customIDs(); !slices.Equal(ids, wantIDs) {
			t.Errorf("buttons = %v, want %v", ids, wantIDs)
		}
		if n := len(fake.Find(followup(asked))); n != 0 {
			t.Errorf("%d follow-ups for a short answer", n)
		}
	})

	run("private ask is ephemeral", func(t *testing.T) {
		in := fake.SendSlash(t, discordtest.Slash{
			Name: "ask", User: bob, GuildID: discordtest.GuildID,
			Options: []discordtest.Option{{Name: "question", Value: "Private question?"}, {Name: "private", Value: true}},
		})
		cb := decode[callbackJSON](t, fake.WaitCall(t, wait, "deferral", callback(in)))
		if cb.Type != 5 || cb.Data == nil || cb.Data.Flags != 64 {
			t.Errorf("deferral = %+v, want type 5 with flags 64", cb)
		}
		fake.WaitCall(t, wait, "edited answer", editOriginal(in))
	})

	run("ask in a DM", func(t *testing.T) {
		in := fake.SendSlash(t, discordtest.Slash{
			Name: "ask", User: user(1), ChannelID: fake.NewID(),
			Options: []discordtest.Option{{Name: "question", Value: "DM slash question?"}},
		})
		m := decode[messageJSON](t, fake.WaitCall(t, wait, "edited answer", editOriginal(in)))
		if !strings.Contains(m.text(), "signed in 1648") {
			t.Errorf("answer = %s", m.text())
		}
	})

	run("refused answer", func(t *testing.T) {
		in := fake.SendSlash(t, discordtest.Slash{
			Name: "ask", User: user(2), GuildID: discordtest.GuildID,
			Options: []discordtest.Option{{Name: "question", Value: qRefuse + " who won the cup?"}},
		})
		m := decode[messageJSON](t, fake.WaitCall(t, wait, "edited answer", editOriginal(in)))
		if len(m.Embeds) != 1 || !strings.HasPrefix(m.Embeds[0].Description, refusedLead) || m.Embeds[0].Color != colorRefused {
			t.Errorf("refusal not marked: %+v", m.Embeds)
		}
		if !strings.Contains(m.text(), "The articles do not say.") {
			t.Errorf("refusal text missing: %s", m.text())
		}
		if ids := m.customIDs(); slices.ContainsFunc(ids, func(s string) bool { return strings.HasPrefix(s, "paras:") }) {
			t.Errorf("refusal offers paragraphs: %v", ids)
		}
	})

	run("long answer is split across messages", func(t *testing.T) {
		in := fake.SendSlash(t, discordtest.Slash{
			Name: "ask", User: user(3), GuildID: discordtest.GuildID,
			Options: []discordtest.Option{{Name: "question", Value: qLong + " tell me everything"}},
		})
		first := decode[messageJSON](t, fake.WaitCall(t, wait, "edited answer", editOriginal(in)))
		// Wait for the message carrying the buttons: the last one.
		fake.WaitCall(t, wait, "last follow-up", func(c discordtest.Call) bool {
			return followup(in)(c) && strings.Contains(string(c.Body), "up:"+in.ID)
		})
		msgs := []messageJSON{first}
		for _, c := range fake.Find(followup(in)) {
			if c.Query.Get("wait") != "true" {
				t.Errorf("follow-up without wait=true: %s", c.Query.Encode())
			}
			msgs = append(msgs, decode[messageJSON](t, c))
		}
		if len(msgs) < 2 {
			t.Fatalf("%d messages for a 15,000-char answer", len(msgs))
		}
		var all strings.Builder
		for i, m := range msgs {
			where := fmt.Sprintf("message %d", i)
			checkLimits(t, where, m)
			checkNoMentions(t, where, m)
			if hasButtons := len(m.Components) > 0; hasButtons != (i == len(msgs)-1) {
				t.Errorf("%s: buttons = %v, want them on the last message only", where, m.customIDs())
			}
			all.WriteString(m.text())
		}
		for _, want := range []string{"Sentence 0 of", "Sentence 150 of", "THE END.", "**[30]**"} {
			if !strings.Contains(all.String(), want) {
				t.Errorf("split answer lost %q", want)
			}
		}
	})

	run("streaming edits are throttled", func(t *testing.T) {
		in := fake.SendSlash(t, discordtest.Slash{
			Name: "ask", User: user(4), GuildID: discordtest.GuildID,
			Options: []discordtest.Option{{Name: "question", Value: qStream + " please"}},
		})
		final := fake.WaitCall(t, wait, "final edit with buttons", func(c discordtest.Call) bool {
			return editOriginal(in)(c) && strings.Contains(string(c.Body), "up:"+in.ID)
		})
		edits := fake.Find(editOriginal(in))
		if edits[len(edits)-1].At != final.At {
			t.Errorf("an edit came after the final answer")
		}
		previews := edits[:len(edits)-1]
		// 80 words over ≥1.6 s: unthrottled that would be ~80 edits.
		if len(previews) < 3 {
			t.Errorf("%d preview edits; the answer did not stream", len(previews))
		}
		window, burst := h.bot.editWindow, h.bot.editBurst
		const slack = 100 * time.Millisecond // request arrival jitter
		for i := burst; i < len(edits); i++ {
			if gap := edits[i].At.Sub(edits[i-burst].At); gap < window-slack {
				t.Errorf("edits %d..%d within %v (limit %d per %v)", i-burst, i, gap, burst, window)
			}
		}
		full := strings.Join(streamWords, " ")
		for i, c := range previews {
			m := decode[messageJSON](t, c)
			checkNoMentions(t, "preview", m)
			d := strings.TrimSuffix(m.Embeds[0].Description, " …")
			if !strings.HasPrefix(full, d) {
				t.Errorf("preview %d is not a prefix of the answer: %q", i, d)
			}
		}
		if d := decode[messageJSON](t, previews[0]).Embeds[0].Description; len(d) >= len(full) {
			t.Errorf("first preview already holds the whole answer")
		}
		m := decode[messageJSON](t, final)
		if !strings.Contains(m.text(), "“The treaties were signed in 1648, ending the war.”") || !strings.Contains(m.text(), "llm") {
			t.Errorf("final edit lacks the verified citations: %s", m.text())
		}
	})

	run("vote is stored", func(t *testing.T) {
		in := fake.SendClick(t, discordtest.Click{CustomID: "up:" + asked.ID, User: bob, GuildID: discordtest.GuildID})
		cb := decode[callbackJSON](t, fake.WaitCall(t, wait, "vote reply", callback(in)))
		if cb.Type != 4 || cb.Data == nil || cb.Data.Flags != 64 || !strings.Contains(cb.Data.Content, "Thanks") {
			t.Errorf("vote reply = %+v, want an ephemeral thanks", cb)
		}
		checkNoMentions(t, "vote reply", *cb.Data)
		in = fake.SendClick(t, discordtest.Click{CustomID: "down:" + asked.ID, User: alice, GuildID: discordtest.GuildID})
		fake.WaitCall(t, wait, "vote reply", callback(in))

		votes, bad, err := NewVoteStore(h.votes).List()
		if err != nil || len(bad) > 0 {
			t.Fatal(err, bad)
		}
		if len(votes) != 2 {
			t.Fatalf("votes = %+v, want 2", votes)
		}
		v := votes[0]
		if v.AnswerID != asked.ID || v.UserID != bob.ID || v.Value != "up" || v.Question != "When was Westphalia signed?" ||
			!strings.Contains(v.Answer, "1648") || len(v.Citations) != 2 || v.Citations[0].Paragraph != 3 {
			t.Errorf("vote = %+v", v)
		}
		if votes[1].Value != "down" || votes[1].UserID != alice.ID {
			t.Errorf("second vote = %+v", votes[1])
		}
	})

	run("vote on an unknown answer", func(t *testing.T) {
		in := fake.SendClick(t, discordtest.Click{CustomID: "up:12345", User: bob, GuildID: discordtest.GuildID})
		cb := decode[callbackJSON](t, fake.WaitCall(t, wait, "reply", callback(in)))
		if cb.Data == nil || !strings.Contains(cb.Data.Content, "can't tell which answer") || cb.Data.Flags != 64 {
			t.Errorf("reply = %+v", cb)
		}
	})

	run("show paragraphs privately", func(t *testing.T) {
		id := paragraphsCustomID(goodAnswer("").Citations)
		in := fake.SendClick(t, discordtest.Click{CustomID: id, User: bob, GuildID: discordtest.GuildID})
		cb := decode[callbackJSON](t, fake.WaitCall(t, wait, "paragraphs reply", callback(in)))
		if cb.Type != 4 || cb.Data == nil || cb.Data.Flags != 64 {
			t.Fatalf("reply = %+v, want type 4 with flags 64", cb)
		}
		checkNoMentions(t, "paragraphs", *cb.Data)
		es := cb.Data.Embeds
		if len(es) != 2 {
			t.Fatalf("embeds = %+v, want one per cited paragraph", es)
		}
		if es[0].Title != "Peace of Westphalia, ¶3" || es[0].URL != westphalia.URL ||
			es[0].Description != "The treaties were signed in 1648, ending the war. Sovereignty became the rule." {
			t.Errorf("paragraph embed = %+v", es[0])
		}
		if es[1].Title != "Field notes, ¶1" {
			t.Errorf("second embed = %+v", es[1])
		}
	})

	run("sources", func(t *testing.T) {
		in := fake.SendSlash(t, discordtest.Slash{Name: "sources", User: bob, GuildID: discordtest.GuildID,
			Options: []discordtest.Option{{Name: "filter", Value: "westph"}}})
		cb := decode[callbackJSON](t, fake.WaitCall(t, wait, "sources reply", callback(in)))
		if cb.Type != 4 || cb.Data == nil || len(cb.Data.Embeds) != 1 || cb.Data.Flags != 64 {
			t.Fatalf("reply = %+v, want one private embed", cb)
		}
		e := cb.Data.Embeds[0]
		if e.Title != "Sources: 1 of 2 articles" || e.Description != "• [Peace of Westphalia](https://example.org/westphalia) — 3 paragraphs" {
			t.Errorf("sources embed = %+v", e)
		}
	})

	run("help", func(t *testing.T) {
		in := fake.SendSlash(t, discordtest.Slash{Name: "help", User: bob})
		cb := decode[callbackJSON](t, fake.WaitCall(t, wait, "help reply", callback(in)))
		if cb.Type != 4 || cb.Data == nil || !strings.Contains(cb.Data.Content, "/ask") || cb.Data.Flags != 64 {
			t.Errorf("help = %+v", cb)
		}
	})

	run("question too long", func(t *testing.T) {
		in := fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user(5), GuildID: discordtest.GuildID,
			Options: []discordtest.Option{{Name: "question", Value: strings.Repeat("why ", 60)}}})
		cb := decode[callbackJSON](t, fake.WaitCall(t, wait, "reply", callback(in)))
		if cb.Type != 4 || cb.Data == nil || !strings.Contains(cb.Data.Content, "under 200") || cb.Data.Flags != 64 {
			t.Errorf("reply = %+v", cb)
		}
		if len(h.ans.questions("why")) != 0 {
			t.Errorf("the answerer saw the over-long question")
		}
	})

	run("answerer error becomes an apology with an error ID", func(t *testing.T) {
		in := fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user(6), GuildID: discordtest.GuildID,
			Options: []discordtest.Option{{Name: "question", Value: qFail + " please"}}})
		m := decode[messageJSON](t, fake.WaitCall(t, wait, "apology", editOriginal(in)))
		checkNoMentions(t, "apology", m)
		id := regexp.MustCompile(`\(error ID: ([0-9a-f]{8})\)$`).FindStringSubmatch(m.Content)
		if id == nil || !strings.HasPrefix(m.Content, "Sorry") {
			t.Fatalf("apology = %q", m.Content)
		}
		if strings.Contains(m.Content, "boom") || strings.Contains(m.Content, "model server") {
			t.Errorf("apology leaks the error: %q", m.Content)
		}
		logs := h.logs.String()
		if !strings.Contains(logs, `"error_id":"`+id[1]+`"`) || !strings.Contains(logs, "boom") {
			t.Errorf("error ID %s not logged with the error:\n%s", id[1], logs)
		}
	})

	run("DM is answered in the DM with typing and history", func(t *testing.T) {
		u := user(7)
		ch := fake.NewID()
		first := fake.SendDM(t, u, ch, "When was Westphalia signed?")
		fake.WaitCall(t, wait, "typing", is("POST", "/channels/"+ch+"/typing"))
		m := decode[messageJSON](t, fake.WaitCall(t, wait, "DM answer", channelMessage(ch)))
		checkNoMentions(t, "DM", m)
		if m.MessageReference != nil {
			t.Errorf("DM answer is a reply: %+v", m.MessageReference)
		}
		if !strings.Contains(m.text(), "“The treaties were signed in 1648, ending the war.”") {
			t.Errorf("DM answer = %s", m.text())
		}
		if ids := m.customIDs(); !slices.Contains(ids, "up:"+first.ID) {
			t.Errorf("DM buttons = %v", ids)
		}
		typing := fake.Find(is("POST", "/channels/"+ch+"/typing"))[0]
		answer := fake.Find(channelMessage(ch))[0]
		if typing.At.After(answer.At) {
			t.Errorf("typing indicator came after the answer")
		}
		if typing.Body != nil {
			t.Errorf("typing call has a body: %s", typing.Body)
		}

		h.settle(t)
		fake.SendDM(t, u, ch, "And who signed it?")
		fake.WaitCalls(t, wait, 2, "second DM answer", channelMessage(ch))
		qs := h.ans.questions("And who signed it?")
		if len(qs) != 1 || len(qs[0].History) != 1 || qs[0].History[0].Question != "When was Westphalia signed?" ||
			!strings.Contains(qs[0].History[0].Answer, "1648") {
			t.Errorf("follow-up history = %+v", qs)
		}
		// HistoryTurns is 2: a fourth question sees only the last two turns.
		h.settle(t)
		fake.SendDM(t, u, ch, "Third?")
		fake.WaitCalls(t, wait, 3, "third DM answer", channelMessage(ch))
		h.settle(t)
		fake.SendDM(t, u, ch, "Fourth?")
		fake.WaitCalls(t, wait, 4, "fourth DM answer", channelMessage(ch))
		qs = h.ans.questions("Fourth?")
		if len(qs) != 1 || len(qs[0].History) != 2 || qs[0].History[0].Question != "And who signed it?" {
			t.Errorf("history after 3 turns = %+v", qs)
		}
	})

	run("mention is answered as a reply", func(t *testing.T) {
		sent := fake.SendMention(t, user(8), qMention+" where were the talks?")
		m := decode[messageJSON](t, fake.WaitCall(t, wait, "reply", func(c discordtest.Call) bool {
			return channelMessage(discordtest.ChannelID)(c) && strings.Contains(string(c.Body), sent.ID)
		}))
		checkNoMentions(t, "mention reply", m)
		if m.AllowedMentions.RepliedUser {
			t.Errorf("reply pings its author")
		}
		if m.MessageReference == nil || m.MessageReference.MessageID != sent.ID || m.MessageReference.GuildID != discordtest.GuildID {
			t.Errorf("message_reference = %+v, want message %s", m.MessageReference, sent.ID)
		}
		if qs := h.ans.questions(qMention); len(qs) != 1 || qs[0].Text != qMention+" where were the talks?" {
			t.Errorf("question passed on = %+v, want the mention stripped", qs)
		}
	})

	run("own, bots' and unmentioned messages are ignored", func(t *testing.T) {
		ch := fake.NewID()
		fake.SendMessage(t, discordtest.Message{Content: "I am the bot", Author: discordtest.Bot, ChannelID: ch})
		fake.SendMessage(t, discordtest.Message{Content: "beep", Author: discordtest.User{ID: "300", Name: "otherbot", Bot: true}, ChannelID: ch})
		fake.SendMessage(t, discordtest.Message{Content: "<@" + discordtest.BotID + "> hi", Author: discordtest.User{ID: "301", Name: "otherbot", Bot: true},
			GuildID: discordtest.GuildID, ChannelID: ch, Mentions: []discordtest.User{discordtest.Bot}})
		fake.SendMessage(t, discordtest.Message{Content: "just chatting", Author: user(9), GuildID: discordtest.GuildID, ChannelID: ch})
		fake.NoCall(t, 400*time.Millisecond, "call for an ignored message", func(c discordtest.Call) bool {
			return strings.HasPrefix(c.Path, "/channels/"+ch+"/")
		})
	})

	run("rate limit answers slow down", func(t *testing.T) {
		u := user(10)
		ch := fake.NewID()
		for i := range 5 { // RatePerMinute is 4
			h.settle(t)
			fake.SendDM(t, u, ch, fmt.Sprintf("question %d?", i))
			fake.WaitCalls(t, wait, i+1, "DM reply", channelMessage(ch))
		}
		replies := fake.Find(channelMessage(ch))
		last := decode[messageJSON](t, replies[4])
		if !strings.HasPrefix(last.Content, "Slow down") {
			t.Errorf("5th reply = %q, want slow down", last.Content)
		}
		checkNoMentions(t, "slow down", last)
		for _, c := range replies[:4] {
			if m := decode[messageJSON](t, c); strings.Contains(m.Content, "Slow down") {
				t.Errorf("slowed down within the rate: %q", m.Content)
			}
		}
		if n := len(h.ans.questions("question 4?")); n != 0 {
			t.Errorf("rate-limited question reached the answerer")
		}
	})

	run("questions beyond the answer slots queue, then the queue is full", func(t *testing.T) {
		var held, channels []string
		for i := range 3 { // MaxConcurrent is 3
			q := fmt.Sprintf("%s %d", qBlock, i)
			held = append(held, q)
			channels = append(channels, fake.SendDM(t, user(20+i), "", q).ChannelID)
		}
		for range 3 {
			select {
			case <-h.ans.entered:
			case <-time.After(wait):
				t.Fatal("blocking questions never reached the answerer")
			}
		}
		// QueueLength is 1: the next question waits and is told its place.
		queued := fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user(25), GuildID: discordtest.GuildID,
			Options: []discordtest.Option{{Name: "question", Value: "one more?"}}})
		if cb := decode[callbackJSON](t, fake.WaitCall(t, wait, "deferral", callback(queued))); cb.Type != 5 {
			t.Errorf("queued question not deferred: %+v", cb)
		}
		place := decode[messageJSON](t, fake.WaitCall(t, wait, "queue position", editOriginal(queued)))
		if !strings.Contains(place.Content, "next in line") {
			t.Errorf("queued question shows %q, want its place in line", place.Content)
		}
		// The one after finds the queue full: told so, and it does not use
		// up the user's rate limit.
		full := fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user(26), GuildID: discordtest.GuildID,
			Options: []discordtest.Option{{Name: "question", Value: "and another?"}}})
		busyEdit := decode[messageJSON](t, fake.WaitCall(t, wait, "busy", editOriginal(full)))
		if busyEdit.Content != busy {
			t.Errorf("full queue: %q, want %q", busyEdit.Content, busy)
		}
		for i, q := range held {
			h.ans.release(q)
			fake.WaitCall(t, wait, "released answer", channelMessage(channels[i]))
		}
		fake.WaitCall(t, wait, "queued question answered", func(c discordtest.Call) bool {
			return editOriginal(queued)(c) && strings.Contains(string(c.Body), "signed in 1648")
		})
		h.settle(t)
		for i := range 4 { // RatePerMinute is 4: the refused question cost nothing
			in := fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user(26), GuildID: discordtest.GuildID,
				Options: []discordtest.Option{{Name: "question", Value: fmt.Sprintf("after the rush %d?", i)}}})
			m := decode[messageJSON](t, fake.WaitCall(t, wait, "answer after the rush", editOriginal(in)))
			if strings.Contains(m.Content, "Slow down") {
				t.Errorf("question %d slowed down: the refused one was counted", i)
			}
			h.settle(t)
		}
	})

	run("server error on edit is retried", func(t *testing.T) {
		fake.FailNext(func(c discordtest.Call) bool { return c.Method == "PATCH" }, http.StatusInternalServerError, 1)
		in := fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user(11), GuildID: discordtest.GuildID,
			Options: []discordtest.Option{{Name: "question", Value: "retry me?"}}})
		edits := fake.WaitCalls(t, wait, 2, "edit and its retry", editOriginal(in))
		if string(edits[0].Body) != string(edits[1].Body) {
			t.Errorf("retry sent a different body")
		}
		fake.NoCall(t, 200*time.Millisecond, "apology after a successful retry", func(c discordtest.Call) bool {
			return followup(in)(c)
		})
	})

	run("gateway reconnects and resumes", func(t *testing.T) {
		fake.DropConnections()
		in := fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user(12), GuildID: discordtest.GuildID,
			Options: []discordtest.Option{{Name: "question", Value: "still there?"}}})
		fake.WaitCall(t, wait, "answer after reconnect", editOriginal(in))
		if fake.Resumes() != 1 || len(fake.Identifies()) != 1 {
			t.Errorf("resumes = %d, identifies = %d; want the session resumed", fake.Resumes(), len(fake.Identifies()))
		}
	})

	run("every message has empty allowed_mentions", func(t *testing.T) {
		bodies := messageBodies(t, fake.Calls())
		if len(bodies) < 20 {
			t.Errorf("only %d message bodies recorded", len(bodies))
		}
		for where, m := range bodies {
			checkNoMentions(t, where, m)
			checkLimits(t, where, m)
		}
	})

	run("token never logged", func(t *testing.T) {
		h.stop()
		logs := h.logs.String()
		if strings.Contains(logs, testToken) || strings.Contains(logs, "secret-test-token") {
			t.Errorf("token in logs")
		}
		for _, want := range []string{`"interaction_id":"`, `"message_id":"`, `"took":`, "discord question answered"} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %s", want)
			}
		}
	})
}
