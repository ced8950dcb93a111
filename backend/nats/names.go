package nats

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// names builds every stream, bucket, subject and key name from the prefix;
// no other file formats a name.
type names struct {
	prefix string
}

func newNames(prefix string) names { return names{prefix: prefix} }

// Buckets (KV) and the ready stream.
func (n names) jobsBucket() string    { return n.prefix + "_jobs" }
func (n names) queuesBucket() string  { return n.prefix + "_queues" }
func (n names) uniqBucket() string    { return n.prefix + "_uniq" }
func (n names) schedBucket() string   { return n.prefix + "_sched" }
func (n names) runningBucket() string { return n.prefix + "_running" }
func (n names) recordsBucket() string { return n.prefix + "_records" }
func (n names) readyStream() string   { return n.prefix + "_ready" }

// allBuckets lists the KV buckets Migrate creates.
func (n names) allBuckets() []string {
	return []string{n.jobsBucket(), n.queuesBucket(), n.uniqBucket(), n.schedBucket(), n.runningBucket(), n.recordsBucket()}
}

// readySubjects is the ready stream's subject space.
func (n names) readySubjects() string { return n.prefix + ".ready.>" }

// qtok is the subject token of a queue: a hash, so any queue name (dots,
// spaces, unicode) makes a valid token and consumer name.
func qtok(queue string) string {
	h := sha256.Sum256([]byte(queue))
	return hex.EncodeToString(h[:10])
}

// ptok is the subject token of a priority ("p5", "n3" for -3).
func ptok(prio int) string {
	if prio < 0 {
		return "n" + strconv.Itoa(-prio)
	}
	return "p" + strconv.Itoa(prio)
}

// readySubject carries the ready messages of one queue and priority.
func (n names) readySubject(queue string, prio int) string {
	return n.prefix + ".ready." + qtok(queue) + "." + ptok(prio)
}

// consumerName is the durable pull consumer of one queue and priority.
func (n names) consumerName(queue string, prio int) string {
	return "q_" + qtok(queue) + "_" + ptok(prio)
}

// wakeSubject is the core-NATS subject QueueWatch listens on.
func (n names) wakeSubject(queue string) string { return n.prefix + ".wake." + qtok(queue) }

// wakeAll matches every queue's wake subject.
func (n names) wakeAll() string { return n.prefix + ".wake.*" }

// kvSubject is the stream subject of a key in a bucket, for raw publishes.
func kvSubject(bucket, key string) string { return "$KV." + bucket + "." + key }

// uniqKey is the unique-key bucket key: a hash, since keys are free text.
func uniqKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// schedKey is the scheduled-index key of a job due at runAt: the due time
// in zero-padded Unix milliseconds first, so JobPromote can tell due keys
// from their name alone without reading values.
func schedKey(runAt time.Time, id string) string {
	return fmt.Sprintf("%015d.%s", runAt.UnixMilli(), id)
}

// parseSchedKey splits a scheduled-index key.
func parseSchedKey(key string) (ms int64, id string, ok bool) {
	a, id, ok := strings.Cut(key, ".")
	if !ok {
		return 0, "", false
	}
	ms, err := strconv.ParseInt(a, 10, 64)
	return ms, id, err == nil
}

// recordKey is the records-bucket key of (namespace, key): both base64url
// encoded, as they are free text, behind a letter so empty strings work.
func recordKey(ns, key string) string {
	return "n" + base64.RawURLEncoding.EncodeToString([]byte(ns)) + ".k" + base64.RawURLEncoding.EncodeToString([]byte(key))
}

// recordNSPattern matches every key of a namespace.
func recordNSPattern(ns string) string {
	return "n" + base64.RawURLEncoding.EncodeToString([]byte(ns)) + ".*"
}

// readyPayload is the body of a ready message: run_at in Unix milliseconds
// (to order a fetch without reading records), the job ID, and the ready
// generation of the record it was published for (see storedJob.Gen).
func readyPayload(runAt time.Time, id string, gen int64) []byte {
	return []byte(strconv.FormatInt(runAt.UnixMilli(), 10) + " " + id + " " + strconv.FormatInt(gen, 10))
}

func parseReadyPayload(b []byte) (ms int64, id string, gen int64, ok bool) {
	// Only the first line is converted: a carried record follows it.
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) != 3 {
		return 0, "", 0, false
	}
	ms, err1 := strconv.ParseInt(f[0], 10, 64)
	gen, err2 := strconv.ParseInt(f[2], 10, 64)
	return ms, f[1], gen, err1 == nil && err2 == nil
}
