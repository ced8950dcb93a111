-- Migration 2: broadcasts, the Broadcaster's messages between processes on
-- one file (see broadcast.go). AUTOINCREMENT so a sequence number is never
-- reused after old rows are pruned: listeners read "seq > last seen".
CREATE TABLE broadcasts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at  INTEGER NOT NULL,  -- unix nanoseconds, for pruning
    msg BLOB    NOT NULL
);
