package memory

import (
	"slices"
	"strings"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestIDKeyOrderMatchesStrings(t *testing.T) {
	t.Parallel()
	ids := []string{"zz", "ABC", strings.ToUpper(uuid.NewString())}
	for range 2000 {
		ids = append(ids, uuid.NewString(), uuid.Must(uuid.NewV7()).String())
	}
	items := make([]item, len(ids))
	for i, id := range ids {
		items[i] = item{id: newIDKey(id), e: &entry{Job: backend.Job{ID: id}}}
	}
	require.True(t, items[0].id.slow)
	require.True(t, items[2].id.slow, "uppercase UUIDs compare as strings")
	require.False(t, items[3].id.slow)
	for i := range items {
		a, b := &items[i], &items[(i*7+3)%len(items)]
		require.Equal(t, a.e.ID < b.e.ID, idLess(a, b), "%s < %s", a.e.ID, b.e.ID)
	}
}

func TestHeapLazyDeletion(t *testing.T) {
	t.Parallel()
	h := jobHeap{less: waitingLess}
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var es []*entry
	for i := range 5000 {
		e := &entry{Job: backend.Job{ID: uuid.Must(uuid.NewV7()).String(), RunAt: base.Add(time.Duration(i%97) * time.Second)}}
		e.idKey = newIDKey(e.ID)
		es = append(es, e)
		h.push(e)
	}
	// Drop two thirds (forcing compactions), re-push some of them.
	var want []*entry
	for i, e := range es {
		if i%3 != 0 {
			h.drop(e)
			if i%9 == 1 {
				h.push(e)
				want = append(want, e)
			}
		} else {
			want = append(want, e)
		}
	}
	require.Equal(t, len(want), h.live())
	require.Less(t, len(h.items), 2*len(want)+compactMin+1, "compaction bounds stale items")
	slices.SortFunc(want, func(a, b *entry) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	require.Equal(t, want[0], h.peekLive())
	for _, w := range want {
		require.Same(t, w, h.popLive())
	}
	require.Nil(t, h.popLive())
	require.Nil(t, h.peekLive())
	require.Zero(t, h.live())
}
