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
// replicas: a scheduler first claims a schedule's due fire times by
// compare-and-set on its state (last run, next run, the claimed fires as
// pending with the queue they go to) and enqueues them only if that write
// won; then it clears them. A scheduler that dies in between leaves them
// pending and the next pass (of any replica) enqueues them again, which the
// fire's unique key ("schedule:NAME:FIRE_TIME", held in every job state)
// absorbs as long as the first job has not been pruned. Each schedule's
// state carries a generation set at its creation, so a replica holding a
// copy of a schedule deleted and created again cannot write over the new
// one. A job is enqueued with its fire time as run_at, so a replica whose
// clock runs ahead never starts one early (keep clocks in sync all the
// same: a replica far behind fires late, one far ahead claims early).
//
// Time zones: a schedule at fixed hours (its hour field is not "*") in a
// zone with daylight saving time fires once in the hour repeated when
// clocks go back (its key is the wall-clock time), as cron does; one at
// every hour keeps both. A fire time inside the hour skipped when clocks go
// forward does not exist and does not run.
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
