package postgres

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed queries/*.sql
var queryFS embed.FS

// jobColumns is the column list every query that returns whole jobs uses (as
// {{job_columns}}, with the table aliased j); scanJob reads it in this order.
const jobColumns = `j.id, j.kind, j.queue, j.args, j.priority, j.state, j.attempt, j.max_attempts, j.timeout_ns,
	j.run_at, COALESCE(j.unique_key, ''), j.unique_states, j.tags, j.meta, j.result, j.errors, j.progress,
	j.enqueued_at, j.started_at, j.finished_at, COALESCE(j.lease_owner, ''), COALESCE(j.lease_token, ''),
	j.lease_expires_at, j.cancel_requested`

// queries holds the SQL of every statement, with the schema substituted.
type queries struct {
	enqueue, enqueueLookup, claim, finish, leaseExtend, rescue, promote           string
	jobGet, jobList, jobCancel, jobRetry, jobDelete, jobState, jobPrune           string
	queueList, queuePause, queuePurge, queueRegister, notify, uniqueRelease       string
	recordInsert, recordUpsert, recordUpdate, recordGet, recordList, recordDelete string
}

// loadQueries reads the embedded SQL files and substitutes the quoted schema
// name and the job column list.
func loadQueries(quotedSchema string) (*queries, error) {
	var err error
	load := func(name string) string {
		b, e := queryFS.ReadFile("queries/" + name + ".sql")
		if e != nil && err == nil {
			err = fmt.Errorf("load query %s: %w", name, e)
		}
		return expand(string(b), quotedSchema)
	}
	q := &queries{
		enqueue: load("enqueue"), enqueueLookup: load("enqueue_lookup"), claim: load("claim"),
		finish: load("finish"), leaseExtend: load("lease_extend"), rescue: load("rescue"), promote: load("promote"),
		jobGet: load("job_get"), jobList: load("job_list"), jobCancel: load("job_cancel"), jobRetry: load("job_retry"),
		jobDelete: load("job_delete"), jobState: load("job_state"), jobPrune: load("job_prune"),
		queueList: load("queue_list"), queuePause: load("queue_pause"), queuePurge: load("queue_purge"), notify: load("notify"), queueRegister: load("queue_register"), uniqueRelease: load("unique_release"),
		recordInsert: load("record_insert"), recordUpsert: load("record_upsert"), recordUpdate: load("record_update"),
		recordGet: load("record_get"), recordList: load("record_list"), recordDelete: load("record_delete"),
	}
	return q, err
}

// expand substitutes the placeholders of an embedded SQL file.
func expand(sql, quotedSchema string) string {
	return strings.NewReplacer("{{schema}}", quotedSchema, "{{job_columns}}", jobColumns).Replace(sql)
}
