/// Where a command's time goes, for measuring start-up (issue #18): with NN_TIMINGS=1 set, each phase's wall time
/// since the process started is printed to standard error as `nn: timing PHASE S s` (JIT, loading and writing
/// included). Off by default: nothing is measured or printed.
module internal Nn.Cli.Timings

open System
open System.Diagnostics

let private enabled = Environment.GetEnvironmentVariable "NN_TIMINGS" = "1"

/// Seconds since the process started (the runtime's own start-up included).
let private sinceStart () =
    (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds

/// Prints that `phase` ended now, when NN_TIMINGS=1.
let mark (phase: string) =
    if enabled then eprintfn "nn: timing %-24s %7.3f s" phase (sinceStart ())
