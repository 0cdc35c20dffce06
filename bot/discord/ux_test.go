package discord

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
	"github.com/verbatimbot/verbatim/corpus"
)

// Tests of the conversation UX items (9–15) against the fake.

func messageEdits(channelID, messageID string) func(discordtest.Call) bool {
	return is("PATCH", "/channels/"+channelID+"/messages/"+messageID)
}

// checkStreamed asserts a streamed channel answer: one message, edited at
// most once per editWindow/editBurst, the verified answer last.
func checkStreamed(t *testing.T, h *harness, channelID string, first discordtest.Call) {
	t.Helper()
	var sent struct {
		ID string `json:"id"`
	}
	// The fake's answer is not recorded; find the message by its nonce.
	firstBody := decode[struct {
		Nonce string `json:"nonce"`
	}](t, first)
	for _, m := range h.fake.Messages(channelID) {
		if m.Nonce == firstBody.Nonce {
			sent.ID = m.ID
		}
	}
	if sent.ID == "" {
		t.Fatalf("streamed message not found")
	}
	final := h.fake.WaitCall(t, wait, "final edit", func(c discordtest.Call) bool {
		return messageEdits(channelID, sent.ID)(c) && strings.Contains(string(c.Body), `"custom_id":"up:`)
	})
	edits := h.fake.Find(messageEdits(channelID, sent.ID))
	if len(edits) < 2 {
		t.Errorf("%d edits: the answer did not stream", len(edits))
	}
	if edits[len(edits)-1].At != final.At {
		t.Errorf("an edit came after the verified answer")
	}
	// At most editBurst edits in any editWindow (the first message counts),
	// allowing for request arrival jitter.
	times := []time.Time{first.At}
	for _, e := range edits {
		times = append(times, e.At)
	}
	const slack = 100 * time.Millisecond
	for i := h.bot.editBurst; i < len(times); i++ {
		if gap := times[i].Sub(times[i-h.bot.editBurst]); gap < h.bot.editWindow-slack {
			t.Errorf("messages %d..%d within %v (limit %d per %v)", i-h.bot.editBurst, i, gap, h.bot.editBurst, h.bot.editWindow)
		}
	}
	m := decode[messageJSON](t, final)
	if !strings.Contains(m.text(), "“The treaties were signed in 1648, ending the war.”") {
		t.Errorf("final edit lacks the verified quote: %s", m.text())
	}
	if p := decode[messageJSON](t, first); !strings.Contains(p.text(), "writing") {
		t.Errorf("first message is not a preview: %s", p.text())
	}
}

// TestStreamingEverywhere (item 10): DMs and mentions stream by throttled
// edits of one message, the verified answer last.
func TestStreamingEverywhere(t *testing.T) {
	h := start(t, discordtest.GuildID)
	dm := h.fake.SendDM(t, user(1), "", qStream+" in a DM")
	first := h.fake.WaitCall(t, wait, "DM preview", channelMessage(dm.ChannelID))
	checkStreamed(t, h, dm.ChannelID, first)

	h.settle(t)
	sent := h.fake.SendMention(t, user(2), qStream+" in a channel")
	first = h.fake.WaitCall(t, wait, "mention preview", func(c discordtest.Call) bool {
		return channelMessage(discordtest.ChannelID)(c) && strings.Contains(string(c.Body), sent.ID)
	})
	if m := decode[messageJSON](t, first); m.MessageReference == nil || m.MessageReference.MessageID != sent.ID {
		t.Errorf("streamed mention answer is not a reply: %+v", m.MessageReference)
	}
	checkStreamed(t, h, discordtest.ChannelID, first)
}

// TestThreadButton (item 9): a public /ask answer in a channel offers a
// thread; clicking starts it on the answer, and a mention in the thread
// follows up with the answer as history.
func TestThreadButton(t *testing.T) {
	h := start(t, discordtest.GuildID)
	in := askSlash(t, h.fake, user(1), "When was Westphalia signed?")
	m := decode[messageJSON](t, h.fake.WaitCall(t, wait, "answer", finalEdit(in)))
	if !slices.Contains(m.customIDs(), "thread:"+in.ID) {
		t.Fatalf("buttons = %v, want a thread button", m.customIDs())
	}
	orig, ok := h.fake.Original(in)
	if !ok {
		t.Fatal("no original response")
	}
	click := h.fake.SendClick(t, discordtest.Click{CustomID: "thread:" + in.ID, User: user(1), GuildID: discordtest.GuildID, MessageID: orig.ID})
	if cb := decode[callbackJSON](t, h.fake.WaitCall(t, wait, "click answered", callback(click))); cb.Type != 5 || cb.Data == nil || cb.Data.Flags != 64 {
		t.Errorf("click answered with %+v, want a private deferral", cb)
	}
	th := h.fake.WaitCall(t, wait, "thread started", is("POST", "/channels/"+discordtest.ChannelID+"/messages/"+orig.ID+"/threads"))
	if th.Status != 201 {
		t.Fatalf("thread start: %s", th)
	}
	note := decode[messageJSON](t, h.fake.WaitCall(t, wait, "where the thread is", editOriginal(click)))
	if !strings.Contains(note.Content, "<#"+orig.ID+">") {
		t.Errorf("click reply = %q, want the thread's link", note.Content)
	}
	h.fake.WaitCall(t, wait, "thread intro", channelMessage(orig.ID))
	h.settle(t)

	h.fake.MentionIn(t, user(2), orig.ID, "And who signed it?")
	h.fake.WaitCall(t, wait, "answer in the thread", func(c discordtest.Call) bool {
		return channelMessage(orig.ID)(c) && strings.Contains(string(c.Body), "up:")
	})
	qs := h.ans.questions("And who signed it?")
	if len(qs) != 1 || len(qs[0].History) != 1 || qs[0].History[0].Question != "When was Westphalia signed?" {
		t.Errorf("thread follow-up history = %+v, want the /ask turn", qs)
	}

	// Where the bot may not start threads, it does not offer them.
	no := h.fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user(3), GuildID: discordtest.GuildID,
		AppPermissions: discordtest.AllPerms &^ discordtest.PermCreatePublicThreads,
		Options:        []discordtest.Option{{Name: "question", Value: "Again?"}}})
	m = decode[messageJSON](t, h.fake.WaitCall(t, wait, "answer", finalEdit(no)))
	if slices.ContainsFunc(m.customIDs(), func(s string) bool { return strings.HasPrefix(s, "thread:") }) {
		t.Errorf("thread offered without Create Public Threads: %v", m.customIDs())
	}
}

// TestAutoThreads (item 9): with threads on auto, a mention's answer
// starts a thread whose follow-ups carry the conversation.
func TestAutoThreads(t *testing.T) {
	h := start(t, discordtest.GuildID, withConfig(func(c *Config) { c.Threads = ThreadsAuto }))
	sent := h.fake.SendMention(t, user(1), "When was Westphalia signed?")
	reply := h.fake.WaitCall(t, wait, "reply", func(c discordtest.Call) bool {
		return channelMessage(discordtest.ChannelID)(c) && strings.Contains(string(c.Body), sent.ID)
	})
	var answerID string
	for _, m := range h.fake.Messages(discordtest.ChannelID) {
		if m.ReplyTo == sent.ID {
			answerID = m.ID
		}
	}
	if ids := decode[messageJSON](t, reply).customIDs(); slices.ContainsFunc(ids, func(s string) bool { return strings.HasPrefix(s, "thread:") }) {
		t.Errorf("auto mode still shows the button: %v", ids)
	}
	h.fake.WaitCall(t, wait, "thread", is("POST", "/channels/"+discordtest.ChannelID+"/messages/"+answerID+"/threads"))
	h.settle(t)
	for i, q := range []string{"Who signed it?", "Where?"} {
		h.fake.MentionIn(t, user(2), answerID, q)
		h.fake.WaitCalls(t, wait, i+1, "answer in the thread", func(c discordtest.Call) bool {
			return channelMessage(answerID)(c) && strings.Contains(string(c.Body), "up:")
		})
		h.settle(t)
	}
	qs := h.ans.questions("Where?")
	if len(qs) != 1 || len(qs[0].History) != 2 || qs[0].History[0].Question != "When was Westphalia signed?" || qs[0].History[1].Question != "Who signed it?" {
		t.Errorf("second follow-up in the thread saw %+v", qs)
	}
}

// TestReplyChain (item 9): replying to one of the bot's answers (with a
// mention) carries that exchange as context, also after a restart.
func TestReplyChain(t *testing.T) {
	fake := discordtest.New(t)
	h := start(t, discordtest.GuildID, withFake(fake), withConfig(func(c *Config) { c.Threads = ThreadsOff }))
	sent := fake.SendMention(t, user(1), "When was Westphalia signed?")
	fake.WaitCall(t, wait, "reply", func(c discordtest.Call) bool {
		return channelMessage(discordtest.ChannelID)(c) && strings.Contains(string(c.Body), sent.ID)
	})
	h.settle(t)
	var answer discordtest.StoredMessage
	for _, m := range fake.Messages(discordtest.ChannelID) {
		if m.ReplyTo == sent.ID {
			answer = m
		}
	}
	follow := func(h *harness, q string) {
		t.Helper()
		fake.SendMessage(t, discordtest.Message{Content: "<@" + discordtest.BotID + "> " + q, Author: user(2),
			GuildID: discordtest.GuildID, ChannelID: discordtest.ChannelID, Mentions: []discordtest.User{discordtest.Bot}, ReplyTo: answer.ID})
		fake.WaitCall(t, wait, "follow-up answer", func(c discordtest.Call) bool {
			return channelMessage(discordtest.ChannelID)(c) && strings.Contains(string(c.Body), q)
		})
		h.settle(t)
	}
	follow(h, "and who signed it?")
	qs := h.ans.questions("and who signed it?")
	if len(qs) != 1 || len(qs[0].History) != 1 || qs[0].History[0].Question != "When was Westphalia signed?" ||
		!strings.Contains(qs[0].History[0].Answer, "1648") {
		t.Errorf("reply follow-up history = %+v", qs)
	}

	h.stop()
	h2 := start(t, discordtest.GuildID, withFake(fake), withConfig(func(c *Config) { c.Threads = ThreadsOff }))
	follow(h2, "and after a restart?")
	qs = h2.ans.questions("and after a restart?")
	if len(qs) != 1 || len(qs[0].History) != 1 || qs[0].History[0].Question != "When was Westphalia signed?" ||
		!strings.Contains(qs[0].History[0].Answer, "1648") {
		t.Errorf("after a restart the reply's history = %+v, want the answer read back from the message", qs)
	}
}

// TestAskMessageContextMenu (item 11): "Ask verbatim" on a message asks its
// text, privately — content the Message Content rule withheld from the
// gateway event but delivers to the command.
func TestAskMessageContextMenu(t *testing.T) {
	h := start(t, discordtest.GuildID)
	target := h.fake.SendMessage(t, discordtest.Message{Content: "When was Westphalia signed?", Author: user(1), GuildID: discordtest.GuildID})
	in := h.fake.SendMessageCommand(t, discordtest.MessageCommand{Name: cmdAskMessage, TargetID: target.ID, User: user(2), GuildID: discordtest.GuildID})
	if cb := decode[callbackJSON](t, h.fake.WaitCall(t, wait, "deferral", callback(in))); cb.Type != 5 || cb.Data == nil || cb.Data.Flags != 64 {
		t.Errorf("deferral = %+v, want a private one", cb)
	}
	m := decode[messageJSON](t, h.fake.WaitCall(t, wait, "answer", finalEdit(in)))
	if m.Embeds[0].Title != "When was Westphalia signed?" || !strings.Contains(m.text(), "signed in 1648") {
		t.Errorf("context-menu answer = %s", m.text())
	}
	empty := h.fake.SendMessage(t, discordtest.Message{Content: "", Author: user(1), GuildID: discordtest.GuildID})
	in = h.fake.SendMessageCommand(t, discordtest.MessageCommand{Name: cmdAskMessage, TargetID: empty.ID, User: user(2), GuildID: discordtest.GuildID})
	if cb := decode[callbackJSON](t, h.fake.WaitCall(t, wait, "reply", callback(in))); cb.Data == nil || !strings.Contains(cb.Data.Content, "no text") || cb.Data.Flags != 64 {
		t.Errorf("empty target reply = %+v", cb)
	}
}

// TestSourcesAutocompleteAndPages (item 12): titles are suggested as the
// filter is typed; the list is private and paged with buttons.
func TestSourcesAutocompleteAndPages(t *testing.T) {
	lib := fakeLibrary{arts: []corpus.Article{westphalia, untitledNotes}}
	for i := range 38 {
		lib.arts = append(lib.arts, corpus.Article{ID: fmt.Sprintf("extra/%d", i), Title: fmt.Sprintf("Extra article %02d", i), Paragraphs: []string{"x"}})
	}
	h := start(t, discordtest.GuildID, withLibrary(lib))
	ac := h.fake.SendAutocomplete(t, discordtest.Slash{Name: "sources", User: user(1), GuildID: discordtest.GuildID,
		Options: []discordtest.Option{{Name: "filter", Value: "peace", Focused: true}}})
	c := h.fake.WaitCall(t, wait, "autocomplete", callback(ac))
	var res struct {
		Type int `json:"type"`
		Data struct {
			Choices []struct{ Name, Value string } `json:"choices"`
		} `json:"data"`
	}
	if err := c.JSON(&res); err != nil || c.Status != 204 || res.Type != 8 || len(res.Data.Choices) != 1 || res.Data.Choices[0].Name != "Peace of Westphalia" {
		t.Errorf("autocomplete %d %+v", c.Status, res)
	}
	ac = h.fake.SendAutocomplete(t, discordtest.Slash{Name: "sources", User: user(1), GuildID: discordtest.GuildID,
		Options: []discordtest.Option{{Name: "filter", Value: "", Focused: true}}})
	if c := h.fake.WaitCall(t, wait, "autocomplete", callback(ac)); c.Status != 204 || strings.Count(string(c.Body), `"name"`) != maxChoices {
		t.Errorf("empty filter: %s, want %d choices", c, maxChoices)
	}

	in := h.fake.SendSlash(t, discordtest.Slash{Name: "sources", User: user(1), GuildID: discordtest.GuildID})
	cb := decode[callbackJSON](t, h.fake.WaitCall(t, wait, "sources", callback(in)))
	if cb.Data == nil || cb.Data.Flags != 64 || len(cb.Data.Components) != 1 || len(h.fake.Find(followup(in))) != 0 {
		t.Fatalf("sources reply = %+v, want one private page with buttons", cb.Data)
	}
	next := cb.Data.customIDs()[1]
	orig, _ := h.fake.Original(in)
	click := h.fake.SendClick(t, discordtest.Click{CustomID: next, User: user(1), GuildID: discordtest.GuildID, MessageID: orig.ID})
	page2 := decode[callbackJSON](t, h.fake.WaitCall(t, wait, "page 2", callback(click)))
	if page2.Type != 7 || page2.Data == nil || page2.Data.Embeds[0].Footer == nil || page2.Data.Embeds[0].Footer.Text != "Page 2 of 3" {
		t.Errorf("next page = %+v, want an update to page 2 of 3", page2)
	}
	if !strings.Contains(page2.Data.Embeds[0].Description, "Extra article 13") {
		t.Errorf("page 2 = %s", page2.Data.Embeds[0].Description)
	}
}

// TestChannelScope (item 14): with VERBATIM_DISCORD_CHANNELS set the bot
// answers only there (and in its threads); elsewhere mentions are ignored
// and commands say where to ask.
func TestChannelScope(t *testing.T) {
	h := start(t, discordtest.GuildID, withConfig(func(c *Config) { c.Channels = []string{discordtest.ChannelID} }))
	const other, thread = "800000000000000010", "800000000000000011"
	h.fake.AddChannel(discordtest.Channel{ID: other, GuildID: discordtest.GuildID, Type: discordtest.ChannelText})
	h.fake.AddChannel(discordtest.Channel{ID: thread, GuildID: discordtest.GuildID, Type: discordtest.ChannelPublicThread, ParentID: discordtest.ChannelID})

	h.fake.MentionIn(t, user(1), other, "When was Westphalia signed?")
	h.fake.NoCall(t, 300*time.Millisecond, "a reply outside the enabled channels", func(c discordtest.Call) bool {
		return strings.HasPrefix(c.Path, "/channels/"+other+"/")
	})
	in := h.fake.SendSlash(t, discordtest.Slash{Name: "ask", User: user(1), GuildID: discordtest.GuildID, ChannelID: other,
		Options: []discordtest.Option{{Name: "question", Value: "When?"}}})
	cb := decode[callbackJSON](t, h.fake.WaitCall(t, wait, "not here", callback(in)))
	if cb.Type != 4 || cb.Data == nil || cb.Data.Flags != 64 || !strings.Contains(cb.Data.Content, "<#"+discordtest.ChannelID+">") {
		t.Errorf("/ask outside the enabled channels: %+v", cb)
	}
	h.fake.MentionIn(t, user(1), thread, "When was Westphalia signed?")
	h.fake.WaitCall(t, wait, "answer in a thread of an enabled channel", channelMessage(thread))
	h.fake.SendMention(t, user(2), "When was Westphalia signed?")
	h.fake.WaitCall(t, wait, "answer in the enabled channel", channelMessage(discordtest.ChannelID))
	if len(h.ans.questions("When?")) != 0 {
		t.Errorf("a question outside the enabled channels reached the answerer")
	}
}

// TestRoleMention (item 14): mentioning the bot's managed role counts as
// mentioning the bot; when Discord withholds such a message's content the
// bot says how to reach it.
func TestRoleMention(t *testing.T) {
	h := start(t, discordtest.GuildID)
	roleMention := func(q string) discordtest.Sent {
		return h.fake.SendMessage(t, discordtest.Message{Content: "<@&" + discordtest.BotRoleID + "> " + q, Author: user(1),
			GuildID: discordtest.GuildID, MentionRoles: []string{discordtest.BotRoleID}})
	}
	sent := roleMention("When was Westphalia signed?")
	hint := decode[messageJSON](t, h.fake.WaitCall(t, wait, "hint", func(c discordtest.Call) bool {
		return channelMessage(discordtest.ChannelID)(c) && strings.Contains(string(c.Body), sent.ID)
	}))
	if hint.Content != roleHidden {
		t.Errorf("withheld role mention: %q", hint.Content)
	}
	h.settle(t)
	h.fake.ContentForRoleMentions(true)
	sent = roleMention(qMention + " via the role?")
	h.fake.WaitCall(t, wait, "answer", func(c discordtest.Call) bool {
		return channelMessage(discordtest.ChannelID)(c) && strings.Contains(string(c.Body), sent.ID)
	})
	if qs := h.ans.questions(qMention + " via the role?"); len(qs) != 1 {
		t.Errorf("role mention question = %+v, want the role mention stripped", qs)
	}
	h.fake.SendMessage(t, discordtest.Message{Content: "<@&42> not us", Author: user(1), GuildID: discordtest.GuildID, MentionRoles: []string{"42"}})
	h.fake.NoCall(t, 200*time.Millisecond, "an answer to another role's mention", func(c discordtest.Call) bool {
		return channelMessage(discordtest.ChannelID)(c) && strings.Contains(string(c.Body), "not us")
	})
}

// TestButtonsSurviveRestart (item 15): "Show paragraphs" and votes work on
// an answer the bot gave before it restarted.
func TestButtonsSurviveRestart(t *testing.T) {
	fake := discordtest.New(t)
	votes := t.TempDir() + "/votes.jsonl"
	h := start(t, discordtest.GuildID, withFake(fake), withVotes(votes))
	in := askSlash(t, fake, user(1), "When was Westphalia signed?")
	m := decode[messageJSON](t, fake.WaitCall(t, wait, "answer", finalEdit(in)))
	orig, _ := fake.Original(in)
	h.settle(t)
	h.stop()

	start(t, discordtest.GuildID, withFake(fake), withVotes(votes)) // the bot after a restart
	var paras string
	for _, id := range m.customIDs() {
		if strings.HasPrefix(id, actionParagraphs+":") {
			paras = id
		}
	}
	if len(paras) > maxCustomID {
		t.Errorf("custom ID %q has %d characters", paras, len(paras))
	}
	click := fake.SendClick(t, discordtest.Click{CustomID: paras, User: user(2), GuildID: discordtest.GuildID, MessageID: orig.ID})
	cb := decode[callbackJSON](t, fake.WaitCall(t, wait, "paragraphs", callback(click)))
	if cb.Data == nil || len(cb.Data.Embeds) != 2 || cb.Data.Embeds[0].Title != "Peace of Westphalia, ¶3" {
		t.Errorf("paragraphs after a restart = %+v", cb.Data)
	}
	click = fake.SendClick(t, discordtest.Click{CustomID: "up:" + in.ID, User: user(2), GuildID: discordtest.GuildID, MessageID: orig.ID})
	cb = decode[callbackJSON](t, fake.WaitCall(t, wait, "vote", callback(click)))
	if cb.Data == nil || !strings.Contains(cb.Data.Content, "Thanks") {
		t.Errorf("vote after a restart = %+v", cb.Data)
	}
	vs, _, err := NewVoteStore(votes).List()
	if err != nil || len(vs) != 1 || vs[0].AnswerID != in.ID || vs[0].Question != "When was Westphalia signed?" ||
		!strings.Contains(vs[0].Answer, "1648") || !vs[0].FromMessage {
		t.Errorf("vote = %+v, %v", vs, err)
	}
}
