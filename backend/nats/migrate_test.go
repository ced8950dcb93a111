package nats

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

func TestRetryStoreFailure(t *testing.T) {
	t.Parallel()
	storeFailed := &jetstream.APIError{Code: 500, ErrorCode: storeFailedCode, Description: "error creating store for stream"}
	other := errors.New("subjects overlap")
	tests := []struct {
		name      string
		failures  int   // calls answering storeFailed before success
		otherErr  error // answered on the first call instead
		wantCalls int
		wantErr   error
	}{
		{name: "SucceedsAtOnce", wantCalls: 1},
		{name: "TransientFailure", failures: 2, wantCalls: 3},
		{name: "PersistentFailure", failures: 99, wantCalls: 5, wantErr: storeFailed},
		{name: "OtherErrorNotRetried", otherErr: other, wantCalls: 1, wantErr: other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			err := retryStoreFailure(context.Background(), func() error {
				calls++
				if tt.otherErr != nil {
					return tt.otherErr
				}
				if calls <= tt.failures {
					return storeFailed
				}
				return nil
			})
			require.Equal(t, tt.wantCalls, calls)
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}
