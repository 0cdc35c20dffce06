package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/verbatimbot/verbatim/bot/discord"
	"github.com/verbatimbot/verbatim/corpus/web"
	"github.com/verbatimbot/verbatim/retrieval"
	"github.com/verbatimbot/verbatim/retrieval/postgres"
)

// votesPath is VERBATIM_VOTES_FILE, else <user config dir>/verbatim/votes.jsonl.
func (a *app) votesPath() (string, error) {
	if a.cfg.VotesFile != "" {
		return a.cfg.VotesFile, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("votes file: set VERBATIM_VOTES_FILE: %w", err)
	}
	return filepath.Join(dir, "verbatim", "votes.jsonl"), nil
}

// cmdDiscord runs the Discord bot until SIGINT/SIGTERM, then shuts down
// gracefully (answers in progress finish, the gateway closes).
func cmdDiscord(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("discord", "[flags]", "Run the Discord bot: /ask, /sources, /help, direct messages and @mentions; /add, /feeds\nand /gaps for server managers. It watches the corpus directory and syncs the feeds.\nNeeds DISCORD_TOKEN; see docs/discord.md.")
	src := a.sourceFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("discord takes no arguments")
	}
	if a.cfg.DiscordToken == "" {
		return usagef("DISCORD_TOKEN is not set (in the environment or .env)")
	}
	votes, err := a.votesPath()
	if err != nil {
		return err
	}
	ix, _, err := a.openIndex(ctx, *src, openOptions{toLog: true, require: true})
	if err != nil {
		return err
	}
	eng, err := a.engine(ix, false)
	if err != nil {
		return err
	}
	cfg := discord.Config{
		Token:            a.cfg.DiscordToken,
		GuildID:          a.cfg.DiscordGuildID,
		APIURL:           a.cfg.DiscordAPIURL,
		RatePerMinute:    a.cfg.RatePerMinute,
		MaxConcurrent:    a.cfg.MaxConcurrent,
		QueueLength:      a.cfg.QueueLength,
		MaxQuestionChars: a.cfg.MaxQuestion,
		Channels:         a.cfg.DiscordChannels,
		Threads:          discord.ThreadMode(a.cfg.DiscordThreads),
		HistoryTurns:     a.cfg.HistoryTurns,
		AnswerTimeout:    a.cfg.AnswerTimeout,
		VotesFile:        votes,
		Shards:           a.cfg.DiscordShards,
		FetchPerMinute:   a.cfg.FetchPerMinute,
		Logger:           a.log,
	}
	if db, ok := ix.Store().(*postgres.Store); ok {
		// Memory and votes beside the index, shared by every bot process.
		cfg.Memory = dbMemory{db: db, turns: a.cfg.HistoryTurns}
		cfg.Votes = dbVotes{db: db}
	}
	fresh, err := a.liveCorpus(*src, ix, &cfg)
	if err != nil {
		return err
	}
	b, err := discord.New(cfg, eng, ix)
	if err != nil {
		return err
	}
	mode := "extractive"
	if a.cfg.UseLLM() {
		mode = "llm"
	}
	a.log.Info("discord starting", "articles", len(ix.Articles()), "mode", mode, "config", cfg.String())

	// Pick up what `verbatim index` commits while the bot runs, what
	// changes in the corpus directory, and the feeds' new items.
	reloadCtx, stopReload := context.WithCancel(ctx)
	var reloads sync.WaitGroup
	reloads.Go(func() { ix.ReloadEvery(reloadCtx, a.cfg.ReloadInterval) })
	reloads.Go(func() { fresh.run(reloadCtx) })
	err = b.Run(ctx)
	stopReload()
	reloads.Wait()
	return err
}

// liveCorpus sets up the living corpus of the Discord bot: /add and
// /feeds over the corpus directory (none for the bundled corpus), the
// coverage gaps beside the index, and what keeps the index fresh — the
// watched directory (VERBATIM_WATCH) and the feed syncs
// (VERBATIM_FEEDS_INTERVAL), re-indexed into the serving index.
func (a *app) liveCorpus(src source, ix *retrieval.Index, cfg *discord.Config) (*freshness, error) {
	r := retrieval.NewRefresher(ix, a.refreshOptions(src, ix))
	f := &freshness{
		refresh: r, interval: a.cfg.FeedsInterval,
		refreshed: func(rep retrieval.CorpusReport, err error) {
			if err != nil {
				a.log.Error("corpus re-index failed; still serving the loaded index", "err", err)
			}
			for _, p := range rep.Unreported {
				a.log.Warn("skipped corpus file", "path", p.Path, "line", p.Line, "reason", p.Err)
			}
		},
		synced: func(syncs []web.FeedSync, err error) {
			for _, s := range syncs {
				if s.Err != nil {
					a.log.Warn("feed sync failed", "feed", s.URL, "err", s.Err)
				} else if !s.NotModified {
					a.log.Info("feed synced", "feed", s.URL, "items", s.Items, "new", s.New, "added", len(s.Added), "failed", len(s.Failed))
				}
			}
			if err != nil {
				a.log.Error("feed sync failed", "err", err)
			}
		},
	}
	if g := a.gapStore(ix.Info().Dir); g != nil {
		cfg.Gaps = g
	}
	if src.corpus == "" {
		a.log.Info("the bundled corpus is read-only: /add and /feeds are off (set VERBATIM_CORPUS to a directory)")
		return f, nil
	}
	lib, err := a.library(src, ix, r)
	if err != nil {
		return nil, err
	}
	f.feeds = a.feeds(lib)
	cfg.Pages, cfg.Feeds = lib, f.feeds
	if a.cfg.Watch {
		if f.watcher, err = a.newWatcher(src); err != nil {
			a.log.Error("not watching the corpus directory; changes are picked up when `verbatim index` runs", "err", err)
		} else {
			a.log.Info("watching the corpus directory", "dir", src.corpus, "directories", f.watcher.Dirs())
		}
	}
	return f, nil
}

// cmdVotes lists the 👍/👎 votes the Discord bot stored.
func cmdVotes(ctx context.Context, a *app, args []string) error {
	fs := a.newFlagSet("votes", "[flags]", "List the 👍/👎 votes given to Discord answers (a user's last vote per answer).")
	asJSON := fs.Bool("json", false, "print the votes as a JSON array, with questions, answers and citations")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("votes takes no arguments")
	}
	path, err := a.votesPath()
	if err != nil {
		return err
	}
	var (
		votes   []discord.Vote
		skipped []discord.BadLine
	)
	if a.cfg.DatabaseURL != "" {
		db, err := a.store(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		path = "database"
		if votes, err = (dbVotes{db: db}).list(ctx); err != nil {
			return err
		}
	} else if votes, skipped, err = discord.NewVoteStore(path).List(); err != nil {
		return err
	}
	for _, bad := range skipped {
		fmt.Fprintf(a.err, "verbatim votes: warning: %s\n", a.errorLine(bad))
	}
	if *asJSON {
		if votes == nil {
			votes = []discord.Vote{}
		}
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(votes)
	}
	up := 0
	tw := tabwriter.NewWriter(a.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tVOTE\tQUOTES\tQUESTION")
	for _, v := range votes {
		mark := "👎"
		if v.Value == "up" {
			mark = "👍"
			up++
		}
		q := shown(strings.Join(strings.Fields(v.Question), " "), 70)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", v.Time.Local().Format("2006-01-02 15:04"), mark, len(v.Citations), q)
	}
	tw.Flush()
	fmt.Fprintf(a.out, "%s: %d 👍, %d 👎 (%s)\n", plural(len(votes), "vote"), up, len(votes)-up, path)
	return nil
}
