package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"conveyor/backend"
)

func init() {
	backend.Register(Open, "sqlite")
	backend.RegisterExists(Exists, "sqlite")
}

// Defaults of Config.
const (
	DefaultPath        = "conveyor.db"
	DefaultBusyTimeout = 10 * time.Second
	DefaultReadConns   = 4
	DefaultCacheKiB    = 32 << 10
	// DefaultForeignWakeInterval is how often a process with idle workers
	// checks whether another process wrote the file.
	DefaultForeignWakeInterval = 50 * time.Millisecond
)

// Synchronous levels accepted by Config.Synchronous (SQLite's PRAGMA synchronous).
const (
	// SyncNormal: in WAL mode a commit is not fsynced; the WAL is synced at
	// checkpoints. Survives a process crash, not an OS crash or power loss.
	SyncNormal = "NORMAL"
	// SyncFull: every commit fsyncs the WAL. Survives power loss too, at the
	// cost of one fsync per transaction (one per batch).
	SyncFull = "FULL"
)

// Config configures the SQLite backend. The zero value means "conveyor.db in
// the working directory, with the defaults below".
type Config struct {
	// Path is the database file; created if missing. Default "conveyor.db".
	Path string
	// BusyTimeout is how long a statement waits for another process's
	// write lock before failing. Default 10 s.
	BusyTimeout time.Duration
	// ReadConns bounds the read pool (JobGet, JobList, QueueList, records
	// reads). Default 4.
	ReadConns int
	// Synchronous is SyncNormal or SyncFull. Default SyncNormal (see the
	// package doc for what each survives).
	Synchronous string
	// CacheKiB is SQLite's page cache per connection, in KiB. Default 32768 (32 MiB).
	CacheKiB int
	// ForeignWakeInterval is how often, while a worker waits for jobs, the
	// backend checks whether another process committed to the file (PRAGMA
	// data_version) and wakes the worker if so. Default 50 ms; negative
	// turns the check off (other processes' jobs then wait for the worker's
	// fallback poll).
	ForeignWakeInterval time.Duration
	// SkipMigrate leaves the schema alone in New; call Migrate yourself.
	// Default false: New migrates.
	SkipMigrate bool
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = DefaultBusyTimeout
	}
	if c.ReadConns == 0 {
		c.ReadConns = DefaultReadConns
	}
	if c.Synchronous == "" {
		c.Synchronous = SyncNormal
	}
	c.Synchronous = strings.ToUpper(c.Synchronous)
	if c.CacheKiB == 0 {
		c.CacheKiB = DefaultCacheKiB
	}
	if c.ForeignWakeInterval == 0 {
		c.ForeignWakeInterval = DefaultForeignWakeInterval
	}
	return c
}

// Validate reports a configuration that cannot work. It expects defaults applied.
func (c Config) Validate() error {
	switch {
	case strings.ContainsAny(c.Path, "?#"):
		return fmt.Errorf("sqlite config: Path %q must not contain '?' or '#'", c.Path)
	case strings.HasPrefix(c.Path, "file:"), c.Path == ":memory:":
		return fmt.Errorf("sqlite config: Path %q must be a file path (in-memory and URI names are not supported: the backend opens several connections)", c.Path)
	case c.BusyTimeout < 0:
		return fmt.Errorf("sqlite config: BusyTimeout must be >= 0, got %s", c.BusyTimeout)
	case c.ReadConns < 0:
		return fmt.Errorf("sqlite config: ReadConns must be >= 0, got %d", c.ReadConns)
	case c.Synchronous != SyncNormal && c.Synchronous != SyncFull:
		return fmt.Errorf("sqlite config: Synchronous must be %s or %s, got %q", SyncNormal, SyncFull, c.Synchronous)
	case c.CacheKiB < 0:
		return fmt.Errorf("sqlite config: CacheKiB must be >= 0, got %d", c.CacheKiB)
	}
	return nil
}

// ParseURL turns "sqlite:PATH[?param=value&...]" into a Config. PATH may be
// relative ("sqlite:conveyor.db") or absolute ("sqlite:/var/lib/x.db",
// also "sqlite:///var/lib/x.db"); empty means DefaultPath. Parameters:
// busy_timeout (a Go duration), read_conns, synchronous (normal|full),
// cache_kib, foreign_wake (a Go duration; negative: off), migrate
// (true|false).
func ParseURL(rawURL string) (Config, error) {
	var cfg Config
	rest, ok := strings.CutPrefix(rawURL, "sqlite:")
	if !ok {
		return cfg, fmt.Errorf("sqlite URL %q: want sqlite:PATH", rawURL)
	}
	rest = strings.TrimPrefix(rest, "//") // sqlite:///abs/path and sqlite://rel/path
	path, rawQuery, _ := strings.Cut(rest, "?")
	cfg.Path = path
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return cfg, fmt.Errorf("sqlite URL %q: %w", rawURL, err)
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "busy_timeout":
			cfg.BusyTimeout, err = time.ParseDuration(v)
		case "read_conns":
			cfg.ReadConns, err = strconv.Atoi(v)
		case "synchronous":
			cfg.Synchronous = v
		case "cache_kib":
			cfg.CacheKiB, err = strconv.Atoi(v)
		case "foreign_wake":
			cfg.ForeignWakeInterval, err = time.ParseDuration(v)
		case "migrate":
			var m bool
			m, err = strconv.ParseBool(v)
			cfg.SkipMigrate = !m
		default:
			err = fmt.Errorf("unknown parameter (want busy_timeout, read_conns, synchronous, cache_kib, foreign_wake, migrate)")
		}
		if err != nil {
			return cfg, fmt.Errorf("sqlite URL %q: parameter %s: %w", rawURL, k, err)
		}
	}
	return cfg, nil
}

// Exists returns an error wrapping backend.ErrNoStore when the database
// file a "sqlite:PATH" URL names is missing (Open would create it). It is
// registered with backend.RegisterExists.
func Exists(rawURL string) error {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return err
	}
	path := cfg.WithDefaults().Path
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("database file %s: %w", path, backend.ErrNoStore)
	}
	return nil
}

// Open opens the backend a "sqlite:PATH" URL names and migrates it (unless
// the URL says migrate=false). It is registered with backend.Register.
func Open(ctx context.Context, rawURL string) (backend.Backend, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg)
}
