package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"conveyor"
	"conveyor/backend"
	"conveyor/schedule"
)

// Exit codes (documented in docs/CLI.md and the package doc).
const (
	exitOK           = 0
	exitError        = 1
	exitUsage        = 2
	exitNotFound     = 3
	exitConflict     = 4
	exitUnavailable  = 5
	exitUnauthorized = 6
)

// codedError carries the exit code an error ends the process with.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

func usageErrorf(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// exitCode picks the exit code of err.
func exitCode(err error) int {
	var ce *codedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce):
		return ce.code
	case errors.Is(err, backend.ErrNotFound):
		return exitNotFound
	case errors.Is(err, backend.ErrWrongState), errors.Is(err, backend.ErrConflict):
		return exitConflict
	case errors.Is(err, conveyor.ErrInvalidJob), errors.Is(err, conveyor.ErrUnknownKind), errors.Is(err, schedule.ErrInvalid):
		return exitUsage
	}
	return exitError
}

// printError writes err as one line: scripts read the exit code, people the
// line, and neither wants a multi-line driver dump.
func printError(w io.Writer, err error) {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	fmt.Fprintln(w, "conveyor: "+msg)
}
