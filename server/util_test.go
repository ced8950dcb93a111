package server_test

import (
	"bytes"
	"os"
	"sync"
)

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// syncBuffer collects log output written by handler goroutines while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
