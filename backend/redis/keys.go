package redis

// Every Redis key and channel name the backend uses is built here, so the
// layout can be read in one place (see doc.go for what each key holds).
//
// Per-queue keys share the hash tag {PREFIX:QUEUE}, so every per-queue script
// touches a single cluster slot. Global keys (the id index, the queue set,
// records) live outside any queue tag and are only ever touched by plain
// commands or single-key scripts.

// keys builds key names for one prefix.
type keys struct {
	prefix string
}

// tag is the hash tag shared by every key of one queue.
func (k keys) tag(queue string) string { return "{" + k.prefix + ":" + queue + "}" }

// Per-queue sorted sets, in the order the job scripts receive them as KEYS.
const (
	kReady     = iota // queued jobs: score -priority, member RUNAT_US(17 digits)..ID[..NUL..claim body]
	kScheduled        // scheduled jobs: score run_at µs, member ID[..NUL..claim body]
	kRetrying         // retrying jobs: score run_at µs, member ID
	kRunning          // running jobs: score lease expiry µs, member "RANDOM.N|ID" (token "Q|RANDOM.N")
	kCompleted        // completed jobs: score finished_at µs, member ID
	kFailed           // failed jobs: score finished_at µs, member ID
	kCancelled        // cancelled jobs: score finished_at µs, member ID
	kPaused           // string "1" while the queue is paused
	kIDs              // every job of the queue: score 0, member ID (lexicographic = time order)
	numQueueKeys
)

// queueKeys returns the KEYS every per-queue job script receives, indexed by
// the k* constants above.
func (k keys) queueKeys(queue string) []string {
	t := k.tag(queue)
	return []string{
		kReady:     t + ":ready",
		kScheduled: t + ":scheduled",
		kRetrying:  t + ":retrying",
		kRunning:   t + ":running",
		kCompleted: t + ":done:completed",
		kFailed:    t + ":done:failed",
		kCancelled: t + ":done:cancelled",
		kPaused:    t + ":paused",
		kIDs:       t + ":ids",
	}
}

// jobPrefix is prepended to a job ID to name its hash (same slot as the queue).
func (k keys) jobPrefix(queue string) string { return k.tag(queue) + ":job:" }

// job names the hash holding one job record.
func (k keys) job(queue, id string) string { return k.jobPrefix(queue) + id }

// uniquePrefix is prepended to a unique key to name the set of job IDs that
// were enqueued with it in this queue.
func (k keys) uniquePrefix(queue string) string { return k.tag(queue) + ":unique:" }

// wakeChannel is the pub/sub channel the scripts publish to when jobs of a
// queue become claimable.
func (k keys) wakeChannel(queue string) string { return k.prefix + ":wake:" + queue }

// queues is the global set of queue names.
func (k keys) queues() string { return k.prefix + ":queues" }

// records names the hash holding every record of one namespace.
func (k keys) records(namespace string) string { return k.prefix + ":records:" + namespace }

// schema holds the layout version written by Migrate.
func (k keys) schema() string { return k.prefix + ":schema" }

// scanPatterns match every key of the prefix (used by tests and tools to
// delete a namespace).
func (k keys) scanPatterns() []string {
	return []string{k.prefix + ":*", "{" + k.prefix + ":*"}
}
