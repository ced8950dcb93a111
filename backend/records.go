package backend

import "context"

// ListRecords lists every record of namespace ns, each turned into a T by
// decode (the first decode error ends the listing): how packages keeping
// typed values in Records (schedules, webhooks) list them.
func ListRecords[T any](ctx context.Context, r Records, ns string, decode func(*Record) (T, error)) ([]T, error) {
	res, err := r.RecordList(ctx, &RecordListParams{Namespace: ns})
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(res.Records))
	for _, rec := range res.Records {
		v, err := decode(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
