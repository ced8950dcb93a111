package backend

import "errors"

// Sentinel errors. Backends map their native errors to these so callers can
// test with errors.Is, whatever the storage.
var (
	// ErrNotFound: no job, queue or record with that identity.
	ErrNotFound = errors.New("conveyor: not found")
	// ErrLeaseLost: the lease token does not match the job's current claim
	// (the lease expired and the job was rescued, or it was finished already).
	ErrLeaseLost = errors.New("conveyor: lease lost")
	// ErrWrongState: the operation does not apply to the job in its current
	// state (cancel a completed job, delete a running one, retry a queued one).
	ErrWrongState = errors.New("conveyor: operation not allowed in the job's state")
	// ErrConflict: a compare-and-set on a record found another version.
	ErrConflict = errors.New("conveyor: version conflict")
	// ErrUnsupportedTx: transactional enqueue was given a transaction type the
	// backend does not know.
	ErrUnsupportedTx = errors.New("conveyor: unsupported transaction type")
	// ErrNoStore: the URL names a store that does not exist yet and that
	// Open would create (a SQLite file); see CheckExists.
	ErrNoStore = errors.New("conveyor: store does not exist")
	// ErrTooLarge: a message exceeds a limit of the backend (see
	// MaxBroadcastBytes).
	ErrTooLarge = errors.New("conveyor: too large")
	// ErrClosed: the backend was closed.
	ErrClosed = errors.New("conveyor: backend closed")
)
