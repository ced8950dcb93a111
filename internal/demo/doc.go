// Package demo holds the built-in demo job kinds that `conveyor dev` and
// `conveyor worker --demo` register, so people can watch conveyor work
// without writing a handler. Each one shows one pattern of the seed:
//
//   - demo.sleep {"ms":N}: fire-and-forget work that takes N milliseconds.
//   - demo.fail {"times":N}: fails its first N attempts, then succeeds;
//     retried on a short fixed delay so the demo completes in seconds.
//   - demo.echo {…}: returns its args as its result (result-bearing).
//   - demo.report {"steps":N,"step_ms":M}: a few seconds of work that
//     reports its progress after each step.
package demo
