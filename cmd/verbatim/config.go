package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/verbatimbot/verbatim/bot/discord"
	"github.com/verbatimbot/verbatim/bot/llm"
	"github.com/verbatimbot/verbatim/openaicompat"
)

// setting describes one environment variable: the single source for parsing,
// validation and the generated .env.example (a test keeps them in step).
type setting struct {
	Name    string
	Default string
	Help    string
	Secret  bool
}

// settings is every variable verbatim reads, in .env.example order.
var settings = []setting{
	{Name: "VERBATIM_CORPUS", Default: "", Help: "Directory of articles (.md, .txt, .html, .jsonl). Empty: the bundled articles."},
	{Name: "VERBATIM_INDEX", Default: "", Help: "Index directory. Empty: <user cache dir>/verbatim/index/<hash of the corpus path>."},
	{Name: "VERBATIM_DATABASE_URL", Default: "", Help: "postgres://user:password@host/db: keep the index in PostgreSQL + pgvector, shared by every process (README: Scaling out). Empty: VERBATIM_INDEX on this machine.", Secret: true},
	{Name: "VERBATIM_HNSW_EF_SEARCH", Default: "100", Help: "With a database: pgvector's hnsw.ef_search, candidates a vector search keeps (more: better recall, slower; at least 50)."},
	{Name: "VERBATIM_MAX_FILE_BYTES", Default: "16777216", Help: "Corpus files larger than this are skipped (and reported)."},
	{Name: "VERBATIM_PARSE_TIMEOUT", Default: "30s", Help: "Longest one corpus file may take to parse; a file that takes longer (pathological HTML) is skipped and reported."},
	{Name: "VERBATIM_TOP_K", Default: "8", Help: "Passages retrieved per question."},
	{Name: "VERBATIM_ANSWER_TIMEOUT", Default: "90s", Help: "Deadline for answering one question (retrieval, model, verification)."},
	{Name: "VERBATIM_MEMORY_LIMIT", Default: "768MiB", Help: "Soft memory limit for the Go runtime (e.g. 512MiB, 2GiB; off: none). GOMEMLIMIT, when set, wins."},
	{Name: "VERBATIM_LOG_LEVEL", Default: "warn", Help: "Log level: debug, info, warn or error (discord defaults to info when unset)."},
	{Name: "VERBATIM_LOG_FORMAT", Default: "text", Help: "Log format: text or json."},

	{Name: "OPENAI_API_KEY", Default: "", Help: "API key of an OpenAI-compatible server. Setting it (or OPENAI_BASE_URL) turns on LLM answers.", Secret: true},
	{Name: "OPENAI_BASE_URL", Default: "", Help: "Base URL with /v1, e.g. http://localhost:11434/v1 for Ollama. Empty: https://api.openai.com/v1."},
	{Name: "VERBATIM_CHAT_MODEL", Default: "", Help: "Chat model. Empty: gpt-4o-mini on OpenAI, llama3.1 on Ollama if pulled, else the server's first listed model."},
	{Name: "VERBATIM_LLM", Default: "auto", Help: "auto (LLM when a key or base URL is set; a failing model gives the extractive answer with a notice), off (always extractive) or on (fail if no server is configured or the model fails)."},
	{Name: "VERBATIM_LLM_TIMEOUT", Default: "60s", Help: "Per-request timeout for chat and embedding calls (a streamed reply included; raise it for a model on CPU)."},
	{Name: "VERBATIM_LLM_RETRIES", Default: "3", Help: "Retries on 429, 408, 5xx and broken connections (honouring Retry-After); never on 401 or other 4xx (0: none)."},
	{Name: "VERBATIM_CONTEXT_TOKENS", Default: "8192", Help: "The chat server's real context window (at least 1024); the whole request is budgeted to fit it."},
	{Name: "VERBATIM_MAX_ANSWER_TOKENS", Default: "1024", Help: "Longest reply the model may write (max_tokens), at most a quarter of the context window."},
	{Name: "VERBATIM_HISTORY_TURNS", Default: "6", Help: "Conversation turns kept for follow-up questions (chat; Discord DMs, threads and reply chains)."},
	{Name: "VERBATIM_EMBED_MODEL", Default: "local", Help: "local (weight-free, offline) or the name of a /v1/embeddings model. Changing it rebuilds the index."},
	{Name: "VERBATIM_EMBED_BASE_URL", Default: "", Help: "Base URL for embeddings. Empty: OPENAI_BASE_URL."},
	{Name: "VERBATIM_EMBED_API_KEY", Default: "", Help: "API key for embeddings. Empty: OPENAI_API_KEY.", Secret: true},

	{Name: "DISCORD_TOKEN", Default: "", Help: "Bot token; required by `verbatim discord`.", Secret: true},
	{Name: "DISCORD_GUILD_ID", Default: "", Help: "Register slash commands in this guild only (instant updates). Empty: globally."},
	{Name: "DISCORD_API_URL", Default: "https://discord.com/", Help: "Replaces https://discord.com/ for every REST call and gateway discovery (REST proxy, tests)."},
	{Name: "VERBATIM_RELOAD_INTERVAL", Default: "30s", Help: "How often chat and the Discord bot look for an index that `verbatim index` rebuilt meanwhile (0: never; with a database they also follow its commit notifications)."},
	{Name: "VERBATIM_VOTES_FILE", Default: "", Help: "Where 👍/👎 votes are stored (JSON Lines). Empty: <user config dir>/verbatim/votes.jsonl."},
	{Name: "VERBATIM_RATE_PER_MINUTE", Default: "6", Help: "Questions one Discord user may ask per minute."},
	{Name: "VERBATIM_MAX_CONCURRENT", Default: "4", Help: "Answers computed at once across all Discord users."},
	{Name: "VERBATIM_QUEUE_LENGTH", Default: "20", Help: "Discord questions that may wait for a free answer slot, each shown its place in line (0: none wait; beyond it the bot says it is busy)."},
	{Name: "VERBATIM_MAX_QUESTION_CHARS", Default: "500", Help: "Longest question accepted, in characters, by Discord, ask and chat (at most 6000, Discord's limit); a longer one is refused with a message."},
	{Name: "VERBATIM_DISCORD_CHANNELS", Default: "", Help: "Comma-separated channel IDs the bot answers in (and their threads); DMs always. Empty: every channel it can see."},
	{Name: "VERBATIM_DISCORD_THREADS", Default: "button", Help: "Public answers in server channels: button (offer \"Continue in a thread\"), auto (start a thread on each) or off."},
	{Name: "VERBATIM_DISCORD_SHARDS", Default: "1", Help: "Gateway shards of the bot across all its processes (Discord requires one per 2,500 servers): a count, or auto (Discord's recommendation, for one process running every shard). 1: no sharding."},
	{Name: "VERBATIM_DISCORD_SHARD_ID", Default: "", Help: "The shards this process runs, e.g. 0, 1,3 or 0-3; the one running shard 0 receives the DMs and registers the commands. Empty: every shard, each on its own connection."},

	{Name: "VERBATIM_FETCH_TIMEOUT", Default: "20s", Help: "Longest one fetch of a page or feed may take (`add`, `feeds`, Discord /add and /feeds), redirects and body included."},
	{Name: "VERBATIM_FETCH_MAX_BYTES", Default: "5242880", Help: "Largest page or feed fetched, in bytes; a larger one is refused."},
	{Name: "VERBATIM_FETCH_MAX_REDIRECTS", Default: "5", Help: "Redirects one fetch may follow."},
	{Name: "VERBATIM_FETCH_ALLOW_PRIVATE", Default: "false", Help: "true lets fetches reach loopback, private, link-local (cloud metadata) and other special-purpose addresses; keep false on a bot others can use."},
	{Name: "VERBATIM_FETCH_PER_MINUTE", Default: "3", Help: "Pages and feeds one Discord member may have the bot fetch per minute (/add, /feeds add)."},
	{Name: "VERBATIM_FEEDS_INTERVAL", Default: "30m", Help: "How often `verbatim discord` and `index --watch` sync the followed feeds (0: never; `verbatim feeds sync` by hand)."},
	{Name: "VERBATIM_FEED_MAX_ITEMS", Default: "20", Help: "New items one sync adds from one feed; the rest wait for the next sync."},
	{Name: "VERBATIM_WATCH", Default: "on", Help: "on: `verbatim discord` watches the corpus directory and re-indexes what changes; off: only what `verbatim index` commits is picked up."},
	{Name: "VERBATIM_WATCH_QUIET", Default: "2s", Help: "How long the corpus directory must stay still after a change before it is re-indexed (a burst of files is one re-index)."},
	{Name: "VERBATIM_GAPS", Default: "on", Help: "on: refused questions and 👎 answers are recorded beside the index (gaps.jsonl) for `verbatim gaps` and /gaps; off: not recorded."},
	{Name: "VERBATIM_GAPS_USERS", Default: "off", Help: "on: the gaps record who asked (Discord user IDs); off: no user IDs are stored."},
}

// Config is every setting, parsed. Its String method redacts secrets.
type Config struct {
	Corpus        string
	Index         string
	DatabaseURL   string
	EfSearch      int
	MaxFileBytes  int64
	ParseTimeout  time.Duration
	TopK          int
	AnswerTimeout time.Duration
	MemoryLimit   int64 // bytes; 0: none (or GOMEMLIMIT rules)
	LogLevel      string
	LogLevelSet   bool
	LogFormat     string

	OpenAIKey      string
	OpenAIBaseURL  string
	ChatModel      string
	LLM            string // auto, on, off
	LLMTimeout     time.Duration
	LLMRetries     int
	ContextTokens  int
	MaxAnswer      int
	HistoryTurns   int
	EmbedModel     string
	EmbedBaseURL   string
	EmbedAPIKey    string
	DiscordToken   string
	DiscordGuildID string
	DiscordAPIURL  string
	ReloadInterval time.Duration
	VotesFile      string
	RatePerMinute  int
	MaxConcurrent  int
	QueueLength    int
	MaxQuestion    int
	// DiscordChannels are the channel IDs the bot answers in; nil: all.
	DiscordChannels []string
	DiscordThreads  string // off, button, auto
	// DiscordShards are VERBATIM_DISCORD_SHARDS and _SHARD_ID.
	DiscordShards discord.Shards

	FetchTimeout      time.Duration
	FetchMaxBytes     int64
	FetchMaxRedirects int
	FetchAllowPrivate bool
	FetchPerMinute    int
	FeedsInterval     time.Duration // 0: never
	FeedMaxItems      int
	Watch             bool
	WatchQuiet        time.Duration
	Gaps              bool
	GapsUsers         bool
}

// loadConfig reads every setting through lookup (the process environment,
// with .env values underneath, see envLookup), applying defaults.
func loadConfig(lookup func(string) (string, bool)) (Config, error) {
	get := func(name string) string {
		if v, ok := lookup(name); ok {
			return strings.TrimSpace(v)
		}
		for _, s := range settings {
			if s.Name == name {
				return s.Default
			}
		}
		panic("unknown setting " + name) // programming error: add it to settings
	}
	var errs []string
	intVal := func(name string, min int) int {
		v, err := strconv.Atoi(get(name))
		if err != nil || v < min {
			errs = append(errs, fmt.Sprintf("%s=%q: want a whole number ≥ %d", name, get(name), min))
		}
		return v
	}
	durVal := func(name string) time.Duration {
		v, err := time.ParseDuration(get(name))
		if err != nil || v <= 0 {
			errs = append(errs, fmt.Sprintf("%s=%q: want a positive duration such as 30s", name, get(name)))
		}
		return v
	}
	durOrZero := func(name string) time.Duration {
		if v := get(name); v == "0" {
			return 0
		}
		return durVal(name)
	}
	boolVal := func(name string) bool {
		switch strings.ToLower(get(name)) {
		case "on", "true", "yes", "1":
			return true
		case "off", "false", "no", "0":
			return false
		}
		errs = append(errs, fmt.Sprintf("%s=%q: want on or off (true or false)", name, get(name)))
		return false
	}
	_, levelSet := lookup("VERBATIM_LOG_LEVEL")
	memLimit := func() int64 {
		if _, ok := lookup("GOMEMLIMIT"); ok {
			return 0 // the runtime applied it already
		}
		v := get("VERBATIM_MEMORY_LIMIT")
		if strings.EqualFold(v, "off") || v == "0" {
			return 0
		}
		n, err := parseBytes(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("VERBATIM_MEMORY_LIMIT=%q: %v", v, err))
		}
		return n
	}
	c := Config{
		Corpus:         get("VERBATIM_CORPUS"),
		Index:          get("VERBATIM_INDEX"),
		DatabaseURL:    get("VERBATIM_DATABASE_URL"),
		EfSearch:       intVal("VERBATIM_HNSW_EF_SEARCH", 50),
		MaxFileBytes:   int64(intVal("VERBATIM_MAX_FILE_BYTES", 1)),
		ParseTimeout:   durVal("VERBATIM_PARSE_TIMEOUT"),
		TopK:           intVal("VERBATIM_TOP_K", 1),
		AnswerTimeout:  durVal("VERBATIM_ANSWER_TIMEOUT"),
		MemoryLimit:    memLimit(),
		LogLevel:       strings.ToLower(get("VERBATIM_LOG_LEVEL")),
		LogLevelSet:    levelSet,
		LogFormat:      strings.ToLower(get("VERBATIM_LOG_FORMAT")),
		OpenAIKey:      get("OPENAI_API_KEY"),
		OpenAIBaseURL:  get("OPENAI_BASE_URL"),
		ChatModel:      get("VERBATIM_CHAT_MODEL"),
		LLM:            strings.ToLower(get("VERBATIM_LLM")),
		LLMTimeout:     durVal("VERBATIM_LLM_TIMEOUT"),
		LLMRetries:     intVal("VERBATIM_LLM_RETRIES", 0),
		ContextTokens:  intVal("VERBATIM_CONTEXT_TOKENS", llm.MinContextTokens),
		MaxAnswer:      intVal("VERBATIM_MAX_ANSWER_TOKENS", 16),
		HistoryTurns:   intVal("VERBATIM_HISTORY_TURNS", 0),
		EmbedModel:     get("VERBATIM_EMBED_MODEL"),
		EmbedBaseURL:   get("VERBATIM_EMBED_BASE_URL"),
		EmbedAPIKey:    get("VERBATIM_EMBED_API_KEY"),
		DiscordToken:   get("DISCORD_TOKEN"),
		DiscordGuildID: get("DISCORD_GUILD_ID"),
		DiscordAPIURL:  get("DISCORD_API_URL"),
		ReloadInterval: durOrZero("VERBATIM_RELOAD_INTERVAL"),
		VotesFile:      get("VERBATIM_VOTES_FILE"),
		RatePerMinute:  intVal("VERBATIM_RATE_PER_MINUTE", 1),
		MaxConcurrent:  intVal("VERBATIM_MAX_CONCURRENT", 1),
		QueueLength:    intVal("VERBATIM_QUEUE_LENGTH", 0),
		MaxQuestion:    intVal("VERBATIM_MAX_QUESTION_CHARS", 10),
		DiscordThreads: strings.ToLower(get("VERBATIM_DISCORD_THREADS")),

		FetchTimeout:      durVal("VERBATIM_FETCH_TIMEOUT"),
		FetchMaxBytes:     int64(intVal("VERBATIM_FETCH_MAX_BYTES", 1024)),
		FetchMaxRedirects: intVal("VERBATIM_FETCH_MAX_REDIRECTS", 0),
		FetchAllowPrivate: boolVal("VERBATIM_FETCH_ALLOW_PRIVATE"),
		FetchPerMinute:    intVal("VERBATIM_FETCH_PER_MINUTE", 1),
		FeedsInterval:     durOrZero("VERBATIM_FEEDS_INTERVAL"),
		FeedMaxItems:      intVal("VERBATIM_FEED_MAX_ITEMS", 1),
		Watch:             boolVal("VERBATIM_WATCH"),
		WatchQuiet:        durVal("VERBATIM_WATCH_QUIET"),
		Gaps:              boolVal("VERBATIM_GAPS"),
		GapsUsers:         boolVal("VERBATIM_GAPS_USERS"),
	}
	for _, id := range strings.Split(get("VERBATIM_DISCORD_CHANNELS"), ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if strings.Trim(id, "0123456789") != "" || len(id) > 20 {
			errs = append(errs, fmt.Sprintf("VERBATIM_DISCORD_CHANNELS: %q is not a channel ID (want numbers such as 123456789012345678, comma-separated)", id))
			continue
		}
		c.DiscordChannels = append(c.DiscordChannels, id)
	}
	shards, err := parseShards(get("VERBATIM_DISCORD_SHARDS"), get("VERBATIM_DISCORD_SHARD_ID"))
	if err != nil {
		errs = append(errs, err.Error())
	}
	c.DiscordShards = shards
	switch c.DiscordThreads {
	case "off", "button", "auto":
	default:
		errs = append(errs, fmt.Sprintf("VERBATIM_DISCORD_THREADS=%q: want button, auto or off", c.DiscordThreads))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Sprintf("VERBATIM_LOG_LEVEL=%q: want debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Sprintf("VERBATIM_LOG_FORMAT=%q: want text or json", c.LogFormat))
	}
	switch c.LLM {
	case "auto", "on", "off":
	default:
		errs = append(errs, fmt.Sprintf("VERBATIM_LLM=%q: want auto, on or off", c.LLM))
	}
	if c.EmbedModel == "" {
		c.EmbedModel = "local"
	}
	if c.EmbedBaseURL == "" {
		c.EmbedBaseURL = c.OpenAIBaseURL
	}
	if c.EmbedAPIKey == "" {
		c.EmbedAPIKey = c.OpenAIKey
	}
	if u := c.DatabaseURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		errs = append(errs, "VERBATIM_DATABASE_URL: want a postgres:// URL")
	}
	if !strings.HasSuffix(c.DiscordAPIURL, "/") {
		c.DiscordAPIURL += "/"
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("settings: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// Secrets are the configured secrets, for scrubbing them from every error
// and log line. The database's password is scrubbed where it stands in a
// URL (":password@"), not wherever the word occurs: a password such as
// "verbatim" would otherwise garble every line that names the program.
func (c Config) Secrets() *openaicompat.Secrets {
	values := []string{c.OpenAIKey, c.EmbedAPIKey, c.DiscordToken, c.DatabaseURL}
	if pw := databasePassword(c.DatabaseURL); pw != "" {
		values = append(values, ":"+pw+"@", ":"+url.PathEscape(pw)+"@", ":"+url.QueryEscape(pw)+"@")
	}
	return openaicompat.NewSecrets(values...)
}

// UseLLM reports whether answers are written by a chat model.
func (c Config) UseLLM() bool {
	switch c.LLM {
	case "off":
		return false
	case "on":
		return true
	}
	return c.OpenAIKey != "" || c.OpenAIBaseURL != ""
}

// String prints every setting, secrets redacted, for --verbose and logs.
func (c Config) String() string {
	redact := func(s string) string {
		if s == "" {
			return ""
		}
		return "<redacted>"
	}
	return fmt.Sprintf("corpus=%q index=%q database=%s top_k=%d llm=%s base_url=%q chat_model=%q api_key=%s context_tokens=%d max_answer_tokens=%d embed_model=%q embed_base_url=%q embed_api_key=%s discord_token=%s discord_guild=%q discord_api=%q",
		c.Corpus, c.Index, redact(c.DatabaseURL), c.TopK, c.LLM, c.OpenAIBaseURL, c.ChatModel, redact(c.OpenAIKey), c.ContextTokens, c.MaxAnswer, c.EmbedModel, c.EmbedBaseURL, redact(c.EmbedAPIKey), redact(c.DiscordToken), c.DiscordGuildID, c.DiscordAPIURL)
}

// parseShards reads VERBATIM_DISCORD_SHARDS (a count or auto) and
// VERBATIM_DISCORD_SHARD_ID (IDs and ranges, comma-separated; empty: all).
func parseShards(count, ids string) (discord.Shards, error) {
	var sh discord.Shards
	if strings.EqualFold(count, "auto") {
		sh.Auto = true
	} else if n, err := strconv.Atoi(count); err != nil || n < 1 {
		return sh, fmt.Errorf("VERBATIM_DISCORD_SHARDS=%q: want a count ≥ 1 or auto", count)
	} else {
		sh.Count = n
	}
	bad := func(why string) (discord.Shards, error) {
		return sh, fmt.Errorf("VERBATIM_DISCORD_SHARD_ID=%q: %s", ids, why)
	}
	seen := map[int]bool{}
	for _, part := range strings.Split(ids, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		first, err1 := strconv.Atoi(strings.TrimSpace(lo))
		last, err2 := first, error(nil)
		if isRange {
			last, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 != nil || err2 != nil || first < 0 || last < first {
			return bad("want shard IDs such as 0, 1,3 or 0-3")
		}
		for id := first; id <= last; id++ {
			if !sh.Auto && id >= sh.Count {
				return bad(fmt.Sprintf("shard %d does not exist with VERBATIM_DISCORD_SHARDS=%d (IDs go from 0 to %d)", id, sh.Count, sh.Count-1))
			}
			if seen[id] {
				return bad(fmt.Sprintf("shard %d listed twice", id))
			}
			seen[id] = true
			sh.IDs = append(sh.IDs, id)
		}
	}
	return sh, nil
}

// databasePassword is the password in a database URL, if any.
func databasePassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}

// parseBytes reads a size such as 768MiB, 2GiB, 512MB or 1048576.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a size such as 768MiB or 2GiB")
	}
	return n * mult, nil
}
