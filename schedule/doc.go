// Package schedule runs jobs on cron schedules (DESIGN.md §6).
//
// A Schedule names a cron expression (5 or 6 fields, or a descriptor such
// as @every 5m or @daily, read in its Timezone) and the job to enqueue at
// each fire time. Schedules are declared in code (Config.Schedules) and/or
// stored in the backend's records (namespace "conveyor.schedules") through
// Store, the API or the CLI; a running Scheduler reads the store every
// Interval, so changes apply without a restart.
//
// Exactly one job per (schedule, fire time), with any number of scheduler
// replicas: each fire's enqueue carries the unique key
// "schedule:NAME:FIRE_TIME" held in every job state, so a second replica's
// enqueue of the same fire returns the first one's job; and each schedule's
// state (last run, next run, last job) advances by compare-and-set on its
// record, so a replica never walks back over fire times another one
// handled. The state survives restarts with the backend. The job is
// enqueued before the state is saved: a crash in between makes the next
// pass fire the same time again, which the unique key absorbs (as long as
// that job has not been pruned meanwhile).
//
// Fire times that passed while no scheduler ran, or while the schedule was
// disabled, follow the schedule's Missed policy: skip (default: only fires
// at most MisfireGrace late run), run_once (one job for all of them) or
// catch_up (one job each, at most CatchUpLimit, the latest). With Overlap
// skip a fire is dropped while the previous run's job is unfinished (and a
// catch-up runs only the latest fire). After an outage longer than 100 000
// fire times of one schedule, only the last hour's fire times are
// considered.
//
// Each job's meta holds {"schedule": NAME, "fire_time": TIME} (or
// "trigger": "manual" for Trigger).
package schedule
