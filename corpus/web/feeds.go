package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/mmcdole/gofeed"
)

// Feed is one followed RSS, Atom or JSON feed and what the last sync
// learned of it.
type Feed struct {
	URL     string    `json:"url"`
	Title   string    `json:"title,omitempty"`
	Added   time.Time `json:"added"`
	AddedBy string    `json:"added_by,omitempty"`
	// ETag and LastModified are the validators of the last answer, sent
	// back so an unchanged feed costs a 304.
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// Checked is the last sync; Error its failure ("" when it worked).
	Checked time.Time `json:"checked"`
	Error   string    `json:"error,omitempty"`
	// Articles counts the items added (or updated) from it so far.
	Articles int `json:"articles"`
	// Seen are the keys (GUID, else link) of the items in the feed that
	// were added or given up on; Failures counts temporary failures of
	// the others, which are tried again up to maxItemAttempts times.
	Seen     []string       `json:"seen,omitempty"`
	Failures map[string]int `json:"failures,omitempty"`
}

// feedsFile is feeds.json in the state directory.
type feedsFile struct {
	Feeds []Feed `json:"feeds"`
}

const feedsName = "feeds.json"

// maxItemAttempts is how often an item whose page fails temporarily
// (a timeout, a 5xx) is tried before it is given up on.
const maxItemAttempts = 3

// FeedOptions configure Feeds.
type FeedOptions struct {
	// MaxItems is the most new items one sync of a feed adds; the rest wait
	// for the next sync. Zero means DefaultMaxItems.
	MaxItems int
}

// DefaultMaxItems is the default FeedOptions.MaxItems.
const DefaultMaxItems = 20

// Feeds follows feeds into the corpus of a Library: each sync asks every
// feed conditionally (If-None-Match / If-Modified-Since), adds the pages of
// its new items as Library.Add does, and indexes once at the end.
type Feeds struct {
	lib     *Library
	opts    FeedOptions
	syncing sync.Mutex // one sync at a time in this process
}

// NewFeeds follows feeds into lib's corpus; the list lives in lib's state
// directory.
func NewFeeds(lib *Library, opts FeedOptions) *Feeds {
	if opts.MaxItems <= 0 {
		opts.MaxItems = DefaultMaxItems
	}
	return &Feeds{lib: lib, opts: opts}
}

// ErrFeedExists and ErrNoFeed are the reasons Follow and Unfollow refuse.
var (
	ErrFeedExists = errors.New("that feed is already followed")
	ErrNoFeed     = errors.New("no such feed is followed")
)

// FeedSync is what one sync of one feed did.
type FeedSync struct {
	URL, Title string
	// NotModified: the feed answered 304; nothing was fetched.
	NotModified bool
	// Items is how many items the feed holds; New how many were not seen
	// before, of which Added holds the pages written (added or updated),
	// Kept the ones already in the corpus, Failed the ones that failed,
	// and Deferred counts those left for the next sync (over MaxItems).
	Items, New int
	Added      []Added
	Kept       []Added
	Failed     []ItemError
	Deferred   int
	// Err is why the feed itself could not be read.
	Err error
}

// ItemError is an item whose page could not be added.
type ItemError struct {
	Link string
	Err  error
	// GivenUp: it will not be tried again.
	GivenUp bool
}

// List returns the followed feeds in the order they were added.
func (f *Feeds) List(ctx context.Context) ([]Feed, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ff, err := f.read()
	return ff.Feeds, err
}

// Follow fetches the feed at rawURL (which must be one) and, once it is
// known to be, follows it and syncs it: its items are added now, up to
// MaxItems. by is who asked (see Added.By).
func (f *Feeds) Follow(ctx context.Context, rawURL, by string, progress func(string)) (FeedSync, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return FeedSync{}, err
	}
	key := u.String()
	list, err := f.List(ctx)
	if err != nil {
		return FeedSync{}, err
	}
	if i := slices.IndexFunc(list, func(fd Feed) bool { return fd.URL == key }); i >= 0 {
		return FeedSync{URL: key, Title: list[i].Title}, fmt.Errorf("%w (added %s)", ErrFeedExists, list[i].Added.Format(time.DateOnly))
	}
	f.syncing.Lock()
	defer f.syncing.Unlock()
	feed := Feed{URL: key, Added: f.lib.now().UTC().Truncate(time.Second), AddedBy: by}
	res, next := f.syncOne(ctx, feed, progress)
	if res.Err != nil {
		return res, res.Err // not followed: it is not a feed, or not reachable now
	}
	err = f.update(func(ff *feedsFile) error {
		if slices.ContainsFunc(ff.Feeds, func(fd Feed) bool { return fd.URL == key }) {
			return ErrFeedExists // another process followed it meanwhile
		}
		ff.Feeds = append(ff.Feeds, next)
		return nil
	})
	if err != nil {
		return res, err
	}
	return res, f.reindex(ctx, []FeedSync{res}, progress)
}

// Unfollow stops following the feed at rawURL. The articles added from it
// stay in the corpus.
func (f *Feeds) Unfollow(ctx context.Context, rawURL string) (Feed, error) {
	if err := ctx.Err(); err != nil {
		return Feed{}, err
	}
	key := rawURL
	if u, err := ParseURL(rawURL); err == nil {
		key = u.String()
	}
	var gone Feed
	err := f.update(func(ff *feedsFile) error {
		i := slices.IndexFunc(ff.Feeds, func(fd Feed) bool { return fd.URL == key })
		if i < 0 {
			return fmt.Errorf("%w: %s", ErrNoFeed, key)
		}
		gone = ff.Feeds[i]
		ff.Feeds = slices.Delete(ff.Feeds, i, i+1)
		return nil
	})
	return gone, err
}

// Sync syncs every followed feed (see Feeds) and indexes once if any page
// was written. A feed that fails is reported in its FeedSync and the
// others go on; the error is for the feed list or the index.
func (f *Feeds) Sync(ctx context.Context, progress func(string)) ([]FeedSync, error) {
	f.syncing.Lock()
	defer f.syncing.Unlock()
	list, err := f.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []FeedSync
	updated := map[string]Feed{}
	for _, feed := range list {
		if ctx.Err() != nil {
			break
		}
		res, next := f.syncOne(ctx, feed, progress)
		out = append(out, res)
		updated[feed.URL] = next
	}
	err = f.update(func(ff *feedsFile) error {
		for i, fd := range ff.Feeds {
			if next, ok := updated[fd.URL]; ok {
				ff.Feeds[i] = next // feeds followed or unfollowed meanwhile are left as they are
			}
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	return out, f.reindex(ctx, out, progress)
}

// reindex runs the library's Indexer when a sync wrote a page.
func (f *Feeds) reindex(ctx context.Context, syncs []FeedSync, progress func(string)) error {
	for _, s := range syncs {
		if len(s.Added) > 0 {
			if progress != nil {
				progress("indexing")
			}
			if err := f.lib.Reindex(ctx); err != nil {
				return fmt.Errorf("index the new feed items: %w", err)
			}
			return nil
		}
	}
	return nil
}

// syncOne fetches one feed (conditionally) and adds its new items,
// returning what happened and the feed's next state.
func (f *Feeds) syncOne(ctx context.Context, feed Feed, progress func(string)) (FeedSync, Feed) {
	res := FeedSync{URL: feed.URL, Title: feed.Title}
	say := func(format string, args ...any) {
		if progress != nil {
			progress(fmt.Sprintf(format, args...))
		}
	}
	say("fetching the feed %s", feed.URL)
	next := feed
	next.Checked = f.lib.now().UTC().Truncate(time.Second)
	resp, err := f.lib.opts.Client.fetch(ctx, feed.URL, feedKind, validators{ETag: feed.ETag, LastModified: feed.LastModified})
	if err != nil {
		res.Err = err
		next.Error = err.Error()
		return res, next
	}
	if resp.NotModified {
		res.NotModified = true
		next.Error = ""
		return res, next
	}
	parsed, err := gofeed.NewParser().Parse(bytes.NewReader(resp.Body))
	if err != nil {
		res.Err = fmt.Errorf("read feed %s: %w: %v", feed.URL, ErrNotAFeed, err)
		next.Error = res.Err.Error()
		return res, next
	}
	if parsed.Title != "" {
		res.Title, next.Title = parsed.Title, parsed.Title
	}
	next.ETag, next.LastModified, next.Error = resp.validators.ETag, resp.validators.LastModified, ""
	seen := map[string]bool{}
	for _, k := range feed.Seen {
		seen[k] = true
	}
	failures := map[string]int{}
	var keep []string // the next Seen: keys of items still in the feed
	res.Items = len(parsed.Items)
	for _, it := range parsed.Items {
		link := itemLink(resp, it)
		key := it.GUID
		if key == "" {
			key = link
		}
		if key == "" {
			continue // nothing to fetch
		}
		if seen[key] {
			keep = append(keep, key)
			continue
		}
		res.New++
		if link == "" {
			res.Failed = append(res.Failed, ItemError{Link: key, Err: errors.New("the item has no link"), GivenUp: true})
			keep = append(keep, key)
			continue
		}
		if len(res.Added)+len(res.Kept)+len(res.Failed) >= f.opts.MaxItems || ctx.Err() != nil {
			res.Deferred++
			if n := feed.Failures[key]; n > 0 {
				failures[key] = n
			}
			continue
		}
		var date time.Time
		if it.PublishedParsed != nil {
			date = *it.PublishedParsed
		}
		say("adding %d of %d new items: %s", len(res.Added)+len(res.Kept)+len(res.Failed)+1, res.New, link)
		added, err := f.lib.add(ctx, link, "feed:"+feed.URL, date, nil)
		switch {
		case err == nil:
			if added.Changed() {
				res.Added = append(res.Added, added)
				next.Articles++
			} else {
				res.Kept = append(res.Kept, added)
			}
			keep = append(keep, key)
		case Temporary(err) && feed.Failures[key]+1 < maxItemAttempts:
			failures[key] = feed.Failures[key] + 1
			res.Failed = append(res.Failed, ItemError{Link: link, Err: err})
		default:
			res.Failed = append(res.Failed, ItemError{Link: link, Err: err, GivenUp: true})
			keep = append(keep, key)
		}
	}
	next.Seen = keep
	next.Failures = failures
	if len(failures) == 0 {
		next.Failures = nil
	}
	return res, next
}

// itemLink is an item's page: its link, else its first links entry,
// resolved against the feed's URL; "" when it has none that is http(s).
func itemLink(feed response, it *gofeed.Item) string {
	raw := it.Link
	if raw == "" && len(it.Links) > 0 {
		raw = it.Links[0]
	}
	if raw == "" {
		return ""
	}
	u, err := feed.URL.Parse(raw)
	if err != nil || checkURL(u) != nil {
		return ""
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// read loads feeds.json (no file: no feeds).
func (f *Feeds) read() (feedsFile, error) {
	var ff feedsFile
	data, err := os.ReadFile(filepath.Join(f.lib.opts.State, feedsName))
	if errors.Is(err, fs.ErrNotExist) {
		return ff, nil
	}
	if err != nil {
		return ff, fmt.Errorf("read feeds: %w", err)
	}
	if err := json.Unmarshal(data, &ff); err != nil {
		return ff, fmt.Errorf("read feeds %s: %w", filepath.Join(f.lib.opts.State, feedsName), err)
	}
	return ff, nil
}

// update changes feeds.json under the state lock: read, change, write to a
// temporary file, rename.
func (f *Feeds) update(change func(*feedsFile) error) error {
	unlock, err := f.lib.lockState()
	if err != nil {
		return err
	}
	defer unlock()
	ff, err := f.read()
	if err != nil {
		return err
	}
	if err := change(&ff); err != nil {
		return err
	}
	data, err := json.MarshalIndent(ff, "", "  ")
	if err != nil {
		return fmt.Errorf("write feeds: %w", err)
	}
	if err := writeAtomic(filepath.Join(f.lib.opts.State, feedsName), append(data, '\n')); err != nil {
		return fmt.Errorf("write feeds: %w", err)
	}
	return nil
}
