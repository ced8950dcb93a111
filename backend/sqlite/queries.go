package sqlite

import (
	"embed"
	"fmt"
	"strings"
)

// queryFS holds one SQL statement per file; each file's header comment states
// its inputs and outputs.
//
//go:embed queries/*.sql
var queryFS embed.FS

// jobColumns is the column list every statement returning whole jobs uses
// (in place of /*JOB_COLUMNS*/), in the order scanJob reads them.
const jobColumns = `id, kind, queue, args, priority, state, attempt, max_attempts, timeout, run_at,
unique_key, unique_states, tags, meta, result, errors, progress, enqueued_at, started_at, finished_at,
lease_owner, lease_token, lease_expires_at, cancel_requested`

// The statements, loaded from queryFS at init.
var (
	sqlEnqueueHolder   = query("enqueue_holder")
	sqlEnqueueInsert   = query("enqueue_insert")
	sqlJobState        = query("job_state")
	sqlQueueEnsure     = query("queue_ensure")
	sqlClaim           = query("claim")
	sqlFinishCompleted = query("finish_completed")
	sqlFinishManyTmpl  = query("finish_completed_many")
	sqlFinishRetry     = query("finish_retry")
	sqlFinishFinal     = query("finish_final")
	sqlFinishSnoozed   = query("finish_snoozed")
	sqlLeaseExtend     = query("lease_extend")
	sqlRescue          = query("rescue")
	sqlPromote         = query("promote")
	sqlJobGet          = query("job_get")
	sqlJobList         = query("job_list")
	sqlJobCancel       = query("job_cancel")
	sqlJobRetry        = query("job_retry")
	sqlJobDelete       = query("job_delete")
	sqlJobPrune        = query("job_prune")
	sqlQueuePause      = query("queue_pause")
	sqlQueueResume     = query("queue_resume")
	sqlQueuePurge      = query("queue_purge")
	sqlQueueNames      = query("queue_names")
	sqlQueueCounts     = query("queue_counts")
	sqlRecordGet       = query("record_get")
	sqlRecordList      = query("record_list")
	sqlRecordPut       = query("record_put")
	sqlRecordUpdate    = query("record_update")
	sqlRecordDelete    = query("record_delete")
)

// query returns the statement in queries/name.sql with its column
// placeholder expanded. A missing file is a build defect, hence the panic.
func query(name string) string {
	b, err := queryFS.ReadFile("queries/" + name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("sqlite: embedded query %s: %v", name, err))
	}
	return strings.ReplaceAll(string(b), "/*JOB_COLUMNS*/", jobColumns)
}
