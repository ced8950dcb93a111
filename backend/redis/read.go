package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
)

// readJobs reads the records of jobs (ids[i] in queue queues[i]) with one
// job_get script call per queue, all in one pipelined round trip. The
// script, not a plain HGETALL, is what knows the state a short-form
// completion implies (see finish.lua). A job that does not exist reads as
// nil.
func (b *Backend) readJobs(ctx context.Context, ids, queues []string) ([]*jobFields, error) {
	out := make([]*jobFields, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var order []string
	at := map[string][]int{} // queue -> positions in ids
	for i, q := range queues {
		if _, ok := at[q]; !ok {
			order = append(order, q)
		}
		at[q] = append(at[q], i)
	}
	cmds := make([]*goredis.Cmd, len(order))
	if _, err := b.pipeline(ctx, func(pipe goredis.Pipeliner) {
		for n, q := range order {
			args := b.commonArgs(q, len(at[q]))
			for _, i := range at[q] {
				args = append(args, ids[i])
			}
			cmds[n] = scriptJobGet.EvalSha(ctx, pipe, b.queueKeys(q), args...)
		}
	}); err != nil {
		return nil, err
	}
	for n, q := range order {
		vals, err := cmds[n].Slice()
		if err != nil {
			return nil, err
		}
		for k, i := range at[q] {
			if k >= len(vals) {
				break
			}
			if h, _ := vals[k].([]any); len(h) > 0 {
				out[i] = fieldsFromPairs(h)
			}
		}
	}
	return out, nil
}
