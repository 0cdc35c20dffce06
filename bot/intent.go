package bot

import (
	"regexp"
	"strings"
	"unicode"
)

// intent is what a message asks of the bot, before any retrieval.
type intent int

const (
	// askIntent: a question for the articles.
	askIntent intent = iota
	// smallTalkIntent: a greeting, thanks, "who are you", "help": answered
	// with a short note on what the bot does and how to ask.
	smallTalkIntent
	// overviewIntent: "what is this article about?", "summarize …":
	// answered with the lead and the most central sentences of an article.
	overviewIntent
)

// greetings are openers that may precede a real question ("hi, who is
// …?") and, alone, are small talk; longer ones first, so "hello there" is
// taken off whole.
var greetings = []string{"hi there", "hello there", "hey there", "good morning", "good afternoon", "good evening",
	"good day", "dear bot", "greetings", "hello", "howdy", "heya", "hiya", "okay", "hey", "hi", "yo", "ok"}

// smallTalk is what a whole message is, when it is small talk (after
// greetings are taken off).
var smallTalk = []string{"thanks", "thank you", "thank you very much", "thanks a lot", "many thanks", "thx", "ty",
	"cheers", "great", "cool", "nice", "awesome", "perfect", "got it", "bye", "goodbye", "see you", "good night",
	"who are you", "what are you", "what is your name", "what's your name", "whats your name",
	"what can you do", "what do you do", "what can i ask", "what can i ask you", "what should i ask",
	"how do i use this", "how do i use you", "how does this work", "how do you work", "help", "help me",
	"can you help", "can you help me", "how are you", "how are you doing", "are you a bot", "are you there",
	"what is this", "what's this", "commands", "usage", "start", "test"}

// overviewPhrases ask what an article is about as a whole. A phrase with a
// trailing space takes a topic after it ("summarize the sanctions part").
var overviewPhrases = regexp.MustCompile(`^(?:` +
	// Whole questions about the article: nothing may follow.
	`(?:(?:what|whats|what's) (?:is|are) (?:this|the|these|that|those) (?:article|articles|text|document|documents|piece|story|corpus|source|sources) (?:about|on)|` +
	`(?:what|whats|what's) (?:is|are) (?:it|they) (?:about|on)|` +
	`what (?:does|do) (?:this|the|these) (?:article|articles|text|document|documents|piece|story) (?:say|cover|discuss|talk about)|` +
	`(?:what are|tell me) the (?:main|key) (?:points|ideas|takeaways|facts)(?: of (?:the|this) (?:article|text|piece|story))?|` +
	`(?:what is|whats|what's) the (?:main idea|gist|point|summary|topic)(?: of (?:the|this) (?:article|text|piece|story))?)(?: please)?$|` +
	// Requests for a summary, which may name a topic after them.
	`(?:can you |could you |please )?(?:summari[sz]e|sum up|give (?:me )?(?:a |an )?(?:summary|overview|recap|gist)(?: of)?|overview(?: of)?|summary(?: of)?|tl;?dr(?: of)?|recap(?: of)?)\b|` +
	// What the articles say about a topic.
	`what (?:does|do) (?:this|the|these|that) (?:article|articles|text|piece|story|corpus) (?:say|tell us|tell me|write|report) (?:about|on|of|regarding|concerning)\b|` +
	`what (?:is|are) (?:said|written|reported) (?:about|on|regarding)\b` +
	`)`)

// topicLeads open a topic named after a summary phrase without being part
// of it: "summarize the part about Syria" is about Syria.
var topicLeads = regexp.MustCompile(`^(?:(?:the |this |that )?(?:part|parts|section|sections|bit|bits|passage|passages|paragraph|paragraphs|lines)(?: of (?:the|this) (?:article|text))? )?(?:about|on|regarding|concerning|of) `)

// articleWords are the words that may stand for "the article" after a
// summary phrase ("summarize the article" names no topic).
var articleWords = map[string]bool{"the": true, "this": true, "that": true, "these": true, "article": true,
	"articles": true, "text": true, "document": true, "piece": true, "story": true, "it": true, "please": true,
	"for": true, "me": true, "us": true, "corpus": true, "all": true, "of": true, "everything": true}

// intentOf classifies a message. For an ask, rest is the message with a
// leading greeting removed; for an overview, rest is the topic named after
// the summary phrase ("" when none: "summarize the article").
func intentOf(text string) (it intent, rest string) {
	norm := normalizeMessage(text)
	if norm == "" {
		return smallTalkIntent, ""
	}
	body := norm
	for changed := true; changed; {
		changed = false
		for _, g := range greetings {
			if body == g {
				return smallTalkIntent, ""
			}
			if strings.HasPrefix(body, g+" ") {
				body = strings.TrimSpace(body[len(g):])
				changed = true
			}
		}
	}
	for _, s := range smallTalk {
		if body == s || body == s+" please" || strings.HasPrefix(body, s+" bot") {
			return smallTalkIntent, ""
		}
	}
	if m := overviewPhrases.FindString(body); m != "" {
		topic := strings.Fields(strings.TrimSpace(body[len(m):]))
		for len(topic) > 0 && articleWords[topic[0]] {
			topic = topic[1:]
		}
		for len(topic) > 0 && articleWords[topic[len(topic)-1]] {
			topic = topic[:len(topic)-1]
		}
		rest := strings.Fields(topicLeads.ReplaceAllString(strings.Join(topic, " ")+" ", ""))
		return overviewIntent, asTyped(text, rest)
	}
	if asksOverview(body) {
		return overviewIntent, ""
	}
	if body != norm {
		// "Hi, who is Iran's ambassador?": the question after the greeting.
		text = stripGreeting(text)
	}
	return askIntent, stripRequest(text)
}

// requestFrame is how a request rather than a question opens: "Explain
// …", "Describe …", "Give me details on …", "I want to know about …".
// Its words say nothing of the topic, and an article rarely uses them, so
// left in they read as the question's missing words.
var requestFrame = regexp.MustCompile(`(?i)^(?:(?:please|pls|plz|kindly|(?:can|could|would|will) (?:you|u))\s+)*` +
	`(?:explain|describe|elaborate on|clarify|outline|discuss|expand on|talk about|` +
	`(?:tell|teach) (?:me|us)(?: more)?(?: about| of| on)?|` +
	`(?:give|show|get) (?:me |us )?(?:some |more |the )?(?:details|detail|information|info|facts|background) (?:about|on|of|regarding|for)|` +
	`(?:i|we) (?:want|wanna|would like|'d like|’d like|need) to (?:know|learn|hear|understand)(?: more)?(?: about| of| on)?|` +
	`what (?:can|could) you tell (?:me|us) about|` +
	`(?:more )?(?:details|detail|information|info|facts) (?:about|on|of|regarding))\s+`)

// shorthand finds a question opened by chat's spelling of a question word
// and then a word that follows one ("wat is", not "Wat Arun"), and
// shorthandFor spells it out.
var (
	shorthand    = regexp.MustCompile(`(?i)^(?:(wats|wuts)\s+\S|(wat|wut|wht|hw|whn|wen|whr|wher|y)\s+(?:is|are|was|were|does|do|did|can|could|should|would|will|has|have|had|about|happened|happens|many|much|long|old|the|a|an)\b)`)
	shorthandFor = map[string]string{"wat": "what", "wut": "what", "wht": "what", "wats": "what's", "wuts": "what's",
		"hw": "how", "whn": "when", "wen": "when", "whr": "where", "wher": "where", "y": "why"}
)

// stripRequest returns text without a leading requestFrame, as typed
// ("Explain the sanctions" asks about "the sanctions"), or text itself
// when nothing would be left; a shorthand question word ("wat", "hw") is
// spelt out.
func stripRequest(text string) string {
	t := strings.TrimSpace(text)
	if m := shorthand.FindStringSubmatchIndex(t); m != nil {
		// "wat is instex": chat's spelling of a question word, which the
		// articles would never hold.
		lo, hi := m[2], m[3]
		if lo < 0 {
			lo, hi = m[4], m[5]
		}
		t = shorthandFor[strings.ToLower(t[lo:hi])] + t[hi:]
		text = t
	}
	m := requestFrame.FindStringIndex(t)
	if m == nil || strings.TrimFunc(t[m[1]:], func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) == "" {
		return text
	}
	return t[m[1]:]
}

// asTyped returns the words of text that normalizeMessage turned into
// words (its last such words), as the user typed them: "Syria", not
// "syria".
func asTyped(text string, words []string) string {
	if len(words) == 0 {
		return ""
	}
	typed := strings.Fields(normalizeCase(text))
	if len(typed) < len(words) {
		return strings.Join(words, " ")
	}
	return strings.Join(typed[len(typed)-len(words):], " ")
}

// normalizeCase is normalizeMessage without the lower-casing.
func normalizeCase(text string) string {
	var b strings.Builder
	space := false
	for _, r := range text {
		if r == '’' {
			r = '\''
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != ';' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// normalizeMessage lower-cases a message and keeps only letters, digits,
// apostrophes and single spaces, so "Hi!!" and "hi" compare equal.
func normalizeMessage(text string) string { return strings.ToLower(normalizeCase(text)) }

// stripGreeting removes a leading greeting word and the punctuation after
// it from text, keeping the rest as typed.
func stripGreeting(text string) string {
	t := strings.TrimSpace(text)
	for changed := true; changed; {
		changed = false
		lower := strings.ToLower(t)
		for _, g := range greetings {
			if strings.HasPrefix(lower, g) && len(t) > len(g) {
				next := rune(t[len(g)])
				if unicode.IsLetter(next) || unicode.IsDigit(next) {
					continue
				}
				t = strings.TrimLeftFunc(t[len(g):], func(r rune) bool {
					return unicode.IsSpace(r) || unicode.IsPunct(r)
				})
				changed = true
				break
			}
		}
	}
	return t
}

// overviewWords say what an overview request asks for: the article's
// point, topic or summary as a whole. Those in strongOverview ask for it
// alone ("key points?", "the main topic"); the others ("about",
// "describe", "main") only together with a word for the article
// (documentWords).
var (
	overviewWords = set("about", "describe", "explain", "main", "key", "central", "important", "overall", "general",
		"generally", "mainly", "basically", "briefly", "brief", "short", "big", "picture")
	strongOverview = set("summary", "summarise", "summarize", "summarised", "summarized", "summarising", "summarizing",
		"overview", "gist", "point", "points", "idea", "ideas", "takeaway", "takeaways", "highlight", "highlights",
		"thesis", "argument", "arguments", "argue", "argues", "topic", "topics", "theme", "themes", "subject",
		"message", "essence", "synopsis", "outline", "recap", "tldr", "tl;dr", "lesson", "lessons", "upshot")
	documentWords = set("article", "articles", "text", "texts", "piece", "story", "stories", "document", "documents",
		"post", "essay", "paper", "corpus", "source", "sources", "it", "this", "that", "these", "those", "they")
	// overviewGlue are the function words an overview request may hold
	// besides: "what is the article's main point", "can you tell me
	// what the text argues".
	overviewGlue = set("what", "whats", "what's", "is", "are", "was", "were", "does", "do", "did", "the", "a", "an",
		"of", "in", "me", "us", "tell", "give", "show", "can", "could", "would", "will", "you", "please", "i",
		"we", "want", "need", "know", "to", "for", "so", "its", "it's", "say", "says", "cover", "covers",
		"discuss", "discusses", "talk", "talks", "really", "all", "there", "here", "just", "quick", "quickly",
		"one", "two", "three", "few", "some", "most", "make", "makes", "made", "trying", "try", "get", "across", "s")
)

// asksOverview reports whether a whole message (normalised) asks what an
// article is about in words overviewPhrases does not list: every word an
// overview or document word or glue, and the request said by a strong
// overview word or by an overview word about the article ("What's the
// article's thesis?", "Describe the article", "What are the highlights?";
// not "What is the summary judgment rule?").
func asksOverview(body string) bool {
	strong, weak, doc := false, false, false
	for _, w := range strings.Fields(body) {
		w = strings.TrimSuffix(strings.TrimSuffix(w, "'s"), "'")
		switch {
		case strongOverview[w]:
			strong = true
		case overviewWords[w]:
			weak = true
		case documentWords[w]:
			doc = true
		case overviewGlue[w]:
		default:
			return false
		}
	}
	return strong || weak && doc
}
