package discord

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/verbatimbot/verbatim/bot/discord/discordtest"
	"github.com/verbatimbot/verbatim/corpus"
)

// Tests of issue 10's conformance items against the strict fake: each
// fails without its fix (the fake answers as Discord does).

func askSlash(t *testing.T, fake *discordtest.Server, u discordtest.User, question string) discordtest.Interaction {
	t.Helper()
	return fake.SendSlash(t, discordtest.Slash{Name: "ask", User: u, GuildID: discordtest.GuildID,
		Options: []discordtest.Option{{Name: "question", Value: question}}})
}

// waitFor polls cond until it holds, failing the test after wait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func finalEdit(in discordtest.Interaction) func(discordtest.Call) bool {
	return func(c discordtest.Call) bool {
		return editOriginal(in)(c) && c.Status == http.StatusOK && strings.Contains(string(c.Body), `"custom_id":"up:`)
	}
}

// TestEmbedURLs (item 1): article URLs Discord refuses (relative, no
// http(s) scheme, over 2,048 characters) are shown without a link instead
// of costing the whole reply a 400.
func TestEmbedURLs(t *testing.T) {
	h := start(t, discordtest.GuildID, withLibrary(fakeLibrary{arts: []corpus.Article{westphalia, badLinks}}))
	in := askSlash(t, h.fake, user(1), qBadURL+" links?")
	m := decode[messageJSON](t, h.fake.WaitCall(t, wait, "answer", finalEdit(in)))
	d := m.Embeds[0].Description
	for i := range badURLs {
		if want := "Bad " + string(rune('0'+i)) + ", ¶1"; !strings.Contains(d, want) {
			t.Errorf("citation %d not shown as plain %q:\n%s", i, want, d)
		}
	}
	if strings.Contains(d, "](") {
		t.Errorf("a refused URL became a link:\n%s", d)
	}
	var paras string
	for _, id := range m.customIDs() {
		if strings.HasPrefix(id, actionParagraphs+":") {
			paras = id
		}
	}
	click := h.fake.SendClick(t, discordtest.Click{CustomID: paras, User: user(1), GuildID: discordtest.GuildID})
	c := h.fake.WaitCall(t, wait, "paragraphs", callback(click))
	if c.Status != http.StatusNoContent {
		t.Fatalf("paragraphs of an article with a relative URL: %d %s", c.Status, c.Body)
	}
	if cb := decode[callbackJSON](t, c); cb.Data == nil || len(cb.Data.Embeds) != 1 || cb.Data.Embeds[0].URL != "" {
		t.Errorf("paragraphs reply = %+v, want one embed without a URL", cb.Data)
	}
	if safeURL("https://example.org/a") == "" || safeURL("http://x.y/"+strings.Repeat("a", 2030)) == "" {
		t.Errorf("safeURL refused a good URL")
	}
}

// TestAmbiguousInitialResponse (item 2): a 500 on a deferral Discord had
// processed is retried, the retry's 40060 counts as sent, and the answer
// still arrives.
func TestAmbiguousInitialResponse(t *testing.T) {
	h := start(t, discordtest.GuildID)
	h.fake.FailNextProcessed(func(c discordtest.Call) bool { return strings.HasSuffix(c.Path, "/callback") }, 500, 1)
	in := askSlash(t, h.fake, user(1), "When was Westphalia signed?")
	h.fake.WaitCall(t, wait, "answer after the ambiguous deferral", finalEdit(in))
	cbs := h.fake.Find(callback(in))
	if len(cbs) != 2 || cbs[0].Status != 500 || cbs[1].Status != 400 {
		t.Errorf("callbacks = %v, want the 500 and the retry's 400 (40060)", cbs)
	}
}

// TestChannelMessageNotDuplicated (item 2): a reply whose POST failed after
// Discord created it is retried with the same nonce: one message.
func TestChannelMessageNotDuplicated(t *testing.T) {
	h := start(t, discordtest.GuildID)
	h.fake.FailNextProcessed(func(c discordtest.Call) bool { return channelMessage(discordtest.ChannelID)(c) }, 503, 1)
	sent := h.fake.SendMention(t, user(1), "When was Westphalia signed?")
	posts := h.fake.WaitCalls(t, wait, 2, "send and its retry", channelMessage(discordtest.ChannelID))
	type nonced struct {
		Nonce        string `json:"nonce"`
		EnforceNonce bool   `json:"enforce_nonce"`
	}
	if a, b := decode[nonced](t, posts[0]), decode[nonced](t, posts[1]); a.Nonce == "" || a.Nonce != b.Nonce || !b.EnforceNonce {
		t.Errorf("retry nonce %q / %q (enforce %v), want the same nonce enforced", a.Nonce, b.Nonce, b.EnforceNonce)
	}
	h.settle(t)
	n := 0
	for _, m := range h.fake.Messages(discordtest.ChannelID) {
		if m.ReplyTo == sent.ID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d replies to the question, want 1", n)
	}
}

// TestFollowupNotResent (item 2): a follow-up that failed after delivery
// is not sent again, and the pages after it still go out.
func TestFollowupNotResent(t *testing.T) {
	h := start(t, discordtest.GuildID)
	h.fake.FailNextProcessed(func(c discordtest.Call) bool { return c.Method == "POST" && strings.HasPrefix(c.Path, "/webhooks/") }, 500, 1)
	in := askSlash(t, h.fake, user(1), qLong+" everything")
	h.fake.WaitCall(t, wait, "last page", func(c discordtest.Call) bool {
		return followup(in)(c) && strings.Contains(string(c.Body), "up:"+in.ID)
	})
	h.settle(t)
	posts := h.fake.Find(followup(in))
	pages := len(renderAnswer(qLong+" everything", longAnswer(qLong+" everything"))) - 1
	if len(posts) != pages {
		t.Errorf("%d follow-up posts for %d follow-up pages: one was sent twice or lost", len(posts), pages)
	}
}

// interactionMessages are the messages an interaction's responses left in
// the channel: the original and each follow-up delivered.
func interactionMessages(fake *discordtest.Server, in discordtest.Interaction) int {
	n := 0
	for _, m := range fake.Messages(discordtest.ChannelID) {
		if m.Interaction == in.Token {
			n++
		}
	}
	return n
}

func listMessages(c discordtest.Call) bool {
	return c.Method == "GET" && c.Path == "/channels/"+discordtest.ChannelID+"/messages"
}

// TestFollowupLostIsSentAgain (item 2): a follow-up whose request failed
// before Discord processed it is looked for in the channel, not found, and
// sent again: every page arrives exactly once.
func TestFollowupLostIsSentAgain(t *testing.T) {
	h := start(t, discordtest.GuildID)
	h.fake.FailNext(func(c discordtest.Call) bool { return c.Method == "POST" && strings.HasPrefix(c.Path, "/webhooks/") }, 500, 1)
	q := qLong + " everything"
	in := askSlash(t, h.fake, user(1), q)
	h.fake.WaitCall(t, wait, "last page", func(c discordtest.Call) bool {
		return followup(in)(c) && c.Status == http.StatusOK && strings.Contains(string(c.Body), "up:"+in.ID)
	})
	h.settle(t)
	pages := len(renderAnswer(q, longAnswer(q)))
	if n := interactionMessages(h.fake, in); n != pages {
		t.Errorf("%d of the answer's %d pages in the channel: the lost one was not sent again, or one twice", n, pages)
	}
	if len(h.fake.Find(listMessages)) == 0 {
		t.Error("the page was sent again without looking for it first")
	}
}

// TestFollowupUncheckableNotResent (item 2): where the bot cannot read the
// channel's history (Discord would answer an empty list), a follow-up that
// may have been delivered is not sent again on the strength of that list.
func TestFollowupUncheckableNotResent(t *testing.T) {
	h := start(t, discordtest.GuildID)
	h.fake.SetPerms(discordtest.ChannelID, discordtest.Perms{NoReadHistory: true})
	h.fake.FailNextProcessed(func(c discordtest.Call) bool { return c.Method == "POST" && strings.HasPrefix(c.Path, "/webhooks/") }, 500, 1)
	q := qLong + " everything"
	in := askSlash(t, h.fake, user(1), q)
	h.fake.WaitCall(t, wait, "last page", func(c discordtest.Call) bool {
		return followup(in)(c) && strings.Contains(string(c.Body), "up:"+in.ID)
	})
	h.settle(t)
	pages := len(renderAnswer(q, longAnswer(q)))
	if n := interactionMessages(h.fake, in); n != pages {
		t.Errorf("%d of the answer's %d pages in the channel: one was sent twice or lost", n, pages)
	}
	if n := len(h.fake.Find(listMessages)); n != 0 {
		t.Errorf("%d look-ups of a history the bot may not read", n)
	}
}

// TestConcurrentStreamsEditInParallel (item 3): edits of different
// interactions do not queue behind each other (each token has its own
// rate-limit bucket), so with a slow Discord their requests overlap.
func TestConcurrentStreamsEditInParallel(t *testing.T) {
	h := start(t, discordtest.GuildID)
	h.fake.SetLatency(func(c discordtest.Call) bool { return c.Method == "PATCH" }, 300*time.Millisecond)
	a := askSlash(t, h.fake, user(1), qStream+" one")
	b := askSlash(t, h.fake, user(2), qStream+" two")
	h.fake.WaitCall(t, 15*time.Second, "first answer", finalEdit(a))
	h.fake.WaitCall(t, 15*time.Second, "second answer", finalEdit(b))
	overlap := false
	for _, x := range h.fake.Find(editOriginal(a)) {
		for _, y := range h.fake.Find(editOriginal(b)) {
			if x.At.Before(y.Done) && y.At.Before(x.Done) {
				overlap = true
			}
		}
	}
	if !overlap {
		t.Errorf("no edit of one stream overlapped an edit of the other: they share a rate-limit lane")
	}
}

// TestRateLimitedEditIsRetried (item 4): a 429 on the final edit is
// waited out (retry_after) and the answer delivered.
func TestRateLimitedEditIsRetried(t *testing.T) {
	h := start(t, discordtest.GuildID)
	h.fake.RateLimitNext(func(c discordtest.Call) bool {
		return c.Method == "PATCH" && strings.Contains(string(c.Body), `"custom_id":"up:`)
	}, discordtest.RateLimit{RetryAfter: 300 * time.Millisecond}, 1)
	in := askSlash(t, h.fake, user(1), "When was Westphalia signed?")
	final := h.fake.WaitCall(t, wait, "answer after the 429", finalEdit(in))
	var limited discordtest.Call
	for _, c := range h.fake.Find(editOriginal(in)) {
		if c.Status == http.StatusTooManyRequests {
			limited = c
		}
	}
	if limited.Status == 0 {
		t.Fatal("the 429 never happened")
	}
	if gap := final.At.Sub(limited.Done); gap < 290*time.Millisecond {
		t.Errorf("retried %v after the 429, before retry_after (300ms)", gap)
	}
}

// TestGlobalRateLimitHoldsEveryCall (item 4): after a global 429 the bot
// sends nothing (but interaction responses) until it has passed — not
// even for another user's question.
func TestGlobalRateLimitHoldsEveryCall(t *testing.T) {
	h := start(t, discordtest.GuildID)
	h.fake.RateLimitNext(func(c discordtest.Call) bool { return strings.HasSuffix(c.Path, "/typing") },
		discordtest.RateLimit{RetryAfter: 400 * time.Millisecond, Global: true}, 1)
	first := h.fake.SendDM(t, user(1), "", "When was Westphalia signed?")
	limited := h.fake.WaitCall(t, wait, "global 429", func(c discordtest.Call) bool { return c.Status == http.StatusTooManyRequests })
	// The bot has read the 429 once it logs the retry.
	waitFor(t, "the bot to read the 429", func() bool {
		return regexp.MustCompile(`"msg":"discord call failed, retrying"[^\n]*"op":"typing"`).MatchString(h.logs.String())
	})
	second := h.fake.SendDM(t, user(2), "", "Who signed it?")
	for _, dm := range []discordtest.Sent{first, second} {
		answer := h.fake.WaitCall(t, wait, "DM answer", channelMessage(dm.ChannelID))
		if answer.Status != http.StatusOK {
			t.Errorf("answer status %d", answer.Status)
		}
	}
	for _, c := range h.fake.Calls() {
		if c.At.After(limited.Done) && c.At.Before(limited.Done.Add(390*time.Millisecond)) && !strings.HasPrefix(c.Path, "/interactions/") {
			t.Errorf("%s sent %v into a global limit of 400ms", c, c.At.Sub(limited.Done))
		}
	}
	if n := h.fake.InvalidRequests(); n != 1 {
		t.Errorf("%d invalid requests, want just the one 429", n)
	}
}

// TestRateLimitPastDeadlineGivesUp (item 4): a retry_after longer than the
// interaction token lives is not waited for.
func TestRateLimitPastDeadlineGivesUp(t *testing.T) {
	h := start(t, discordtest.GuildID)
	h.fake.RateLimitNext(func(c discordtest.Call) bool { return c.Method == "PATCH" },
		discordtest.RateLimit{RetryAfter: 20 * time.Minute}, 1)
	in := askSlash(t, h.fake, user(1), "When was Westphalia signed?")
	h.fake.WaitCall(t, wait, "rate-limited edit", editOriginal(in))
	deadline := time.Now().Add(wait)
	for !regexp.MustCompile(`"msg":"discord call failed"[^\n]*"op":"edit response"`).MatchString(h.logs.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("the bot is still waiting out a 20-minute 429")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.settle(t)
	if n := len(h.fake.Find(editOriginal(in))); n != 1 {
		t.Errorf("%d edits, want the one rate-limited", n)
	}
}

// TestFailingChannels (item 6): a channel that refuses the bot costs one
// failing call, not one per mention; one without Embed Links gets text.
func TestFailingChannels(t *testing.T) {
	h := start(t, discordtest.GuildID)
	const mute, noView, noEmbeds = "800000000000000001", "800000000000000002", "800000000000000003"
	h.fake.AddChannel(discordtest.Channel{ID: mute, GuildID: discordtest.GuildID, Perms: discordtest.Perms{NoSend: true}})
	h.fake.AddChannel(discordtest.Channel{ID: noView, GuildID: discordtest.GuildID, Perms: discordtest.Perms{NoView: true}})
	h.fake.AddChannel(discordtest.Channel{ID: noEmbeds, GuildID: discordtest.GuildID, Perms: discordtest.Perms{NoEmbedLinks: true}})
	inChannel := func(ch string) func(discordtest.Call) bool {
		return func(c discordtest.Call) bool {
			return strings.HasPrefix(c.Path, "/channels/"+ch+"/") || c.Path == "/channels/"+ch && c.Status != 200
		}
	}
	for _, ch := range []string{mute, noView} {
		h.fake.MentionIn(t, user(1), ch, "When was Westphalia signed?")
		h.fake.WaitCall(t, wait, "the refused call", func(c discordtest.Call) bool { return inChannel(ch)(c) && c.Status == 403 })
		waitFor(t, "the bot to note the refusal", func() bool { ok, _ := h.bot.chans.refused(ch); return ok })
		h.settle(t)
		for range 5 {
			h.fake.MentionIn(t, user(2), ch, "And again?")
		}
		time.Sleep(300 * time.Millisecond) // time for wrong calls to show up
		h.settle(t)
		if got := h.fake.Find(inChannel(ch)); len(got) != 1 {
			t.Errorf("channel %s: %d calls for 6 mentions, want 1: %v", ch, len(got), got)
		}
	}

	h.fake.MentionIn(t, user(3), noEmbeds, "When was Westphalia signed?")
	text := h.fake.WaitCall(t, wait, "text answer", func(c discordtest.Call) bool {
		return channelMessage(noEmbeds)(c) && c.Status == 200
	})
	if m := decode[messageJSON](t, text); len(m.Embeds) != 0 || !strings.Contains(m.Content, "signed in 1648") ||
		!strings.Contains(m.Content, "“The treaties were signed in 1648, ending the war.”") {
		t.Errorf("answer without Embed Links = %+v", m)
	}
	h.settle(t)
	before := len(h.fake.Find(channelMessage(noEmbeds)))
	h.fake.MentionIn(t, user(3), noEmbeds, "And who signed it?")
	h.fake.WaitCalls(t, wait, before+1, "second text answer", channelMessage(noEmbeds))
	h.settle(t)
	if got := h.fake.Find(channelMessage(noEmbeds)); got[len(got)-1].Status != 200 || len(got) != before+1 {
		t.Errorf("second answer took %d sends, want 1 (text at once)", len(got)-before)
	}
	if n := h.fake.InvalidRequests(); n != 3 {
		t.Errorf("%d invalid requests, want 3 (one per refusing channel)", n)
	}
}

// TestInvalidRequestBudget (item 6): past the budget, optional calls (the
// typing indicator) wait; answers still go out.
func TestInvalidRequestBudget(t *testing.T) {
	h := start(t, discordtest.GuildID, withBot(func(b *Bot) { b.invalidBudget = 1 }))
	const mute = "800000000000000001"
	h.fake.AddChannel(discordtest.Channel{ID: mute, GuildID: discordtest.GuildID, Perms: discordtest.Perms{NoSend: true}})
	h.fake.MentionIn(t, user(1), mute, "When was Westphalia signed?")
	h.fake.WaitCall(t, wait, "the refused call", func(c discordtest.Call) bool { return c.Status == 403 })
	waitFor(t, "the invalid request to count", func() bool { return h.bot.invalid.recent(time.Now()) >= 1 })
	h.settle(t)
	dm := h.fake.SendDM(t, user(2), "", "When was Westphalia signed?")
	h.fake.WaitCall(t, wait, "DM answer", channelMessage(dm.ChannelID))
	if n := len(h.fake.Find(is("POST", "/channels/"+dm.ChannelID+"/typing"))); n != 0 {
		t.Errorf("typing sent past the invalid-request budget")
	}
}

// TestMaxQuestionCharsClamped (item 7): a limit above Discord's 6,000 is
// clamped, with a warning, so the commands still register.
func TestMaxQuestionCharsClamped(t *testing.T) {
	h := start(t, discordtest.GuildID, withConfig(func(c *Config) { c.MaxQuestionChars = 10000 }))
	reg := h.fake.Find(func(c discordtest.Call) bool { return c.Method == "PUT" })[0]
	if reg.Status != 200 || !strings.Contains(string(reg.Body), `"max_length":6000`) {
		t.Errorf("registration %d %s", reg.Status, reg.Body)
	}
	if !strings.Contains(h.logs.String(), "clamped") {
		t.Errorf("no warning about the clamp")
	}
}

// TestPrintableOutput (issue 11 item 5): control characters and bidi
// overrides from the model or the corpus never reach Discord, and a
// refusal shows at most 200 characters of the question.
func TestPrintableOutput(t *testing.T) {
	h := start(t, discordtest.GuildID, withConfig(func(c *Config) { c.MaxQuestionChars = 1000 }))
	in := askSlash(t, h.fake, user(1), qHostile+" \x1b[2Jclear?")
	m := decode[messageJSON](t, h.fake.WaitCall(t, wait, "answer", finalEdit(in)))
	if s := m.text(); strings.ContainsAny(s, "\x1b\x07\u202e\u202c") || !strings.Contains(s, "Pwned ]0;pwned") {
		t.Errorf("control characters reached Discord: %q", s)
	}
	long := qRefuse + " " + strings.Repeat("why is the sky so very blue ", 25)
	in = askSlash(t, h.fake, user(2), long)
	m = decode[messageJSON](t, h.fake.WaitCall(t, wait, "refusal", finalEdit(in)))
	if n := utf8.RuneCountInString(m.Embeds[0].Title); n > maxEchoed {
		t.Errorf("refusal echoes %d characters of the question", n)
	}
	dm := h.fake.SendDM(t, user(3), "", qHostile+" in a DM")
	reply := decode[messageJSON](t, h.fake.WaitCall(t, wait, "DM answer", func(c discordtest.Call) bool {
		return channelMessage(dm.ChannelID)(c) && strings.Contains(string(c.Body), "up:")
	}))
	if strings.ContainsAny(reply.text(), "\x1b\x07\u202e") {
		t.Errorf("control characters reached a DM: %q", reply.text())
	}
}
