/// Engine.KernelClock (NN_TIMINGS=kernels, issue #18): a bound program's runs timed kernel by kernel. What is checked
/// is what the figures are of (every kernel run in order, one row per kernel and one for the time between runs, the
/// last runs kept); the times themselves are never asserted.
module Nn.Tests.Runtime.Engine.KernelClockTests

open Expecto
open Nn.Runtime.Engine

/// A clock over `names`, with steps that record the order they ran in.
let private program (names: string list) =
    let ran = ResizeArray<int>()
    let steps = names |> List.mapi (fun i _ -> System.Action(fun () -> ran.Add i)) |> Array.ofList
    KernelClock(names), steps, ran

[<Tests>]
let tests =
    testList "Runtime.Engine.KernelClock" [
        test "each run runs every kernel in order; one row per kernel, then the time between runs" {
            let clock, steps, ran = program [ "gemm"; "fused"; "sum" ]
            for _ in 1 .. 5 do clock.Run steps
            Expect.sequenceEqual ran (List.replicate 5 [ 0; 1; 2 ] |> List.concat) "every kernel, in order, each run"
            Expect.equal clock.Runs 5L "five runs"
            let rows = clock.Times()
            Expect.sequenceEqual [ for r in rows -> r.Index ] [ 0; 1; 2; 3 ] "three kernels and the time between"
            Expect.sequenceEqual [ for r in rows -> r.What ] [ "gemm"; "fused"; "sum"; "between runs (the caller)" ]
                "named by the plan's descriptions"
            for r in rows do
                Expect.isGreaterThanOrEqual r.Median 0.0 "a time is not negative"
                Expect.isGreaterThanOrEqual r.P90 r.Median "the 90th percentile is not below the median"
        }

        test "one run has no time between runs; none has no rows" {
            let clock, steps, _ = program [ "gemm" ]
            Expect.isEmpty (clock.Times()) "nothing ran"
            clock.Run steps
            Expect.sequenceEqual [ for r in clock.Times() -> r.Index ] [ 0 ] "the kernel alone"
        }

        test "two programs of the same kernels side by side: a row per kernel and the time between runs" {
            let a, steps, _ = program [ "gemm"; "fused" ]
            let b, _, _ = program [ "gemm"; "fused" ]
            let other, otherSteps, _ = program [ "pool" ]
            for _ in 1 .. 3 do
                a.Run steps
                b.Run steps
                other.Run otherSteps
            let text = KernelClock.SideBySide [ a; b; other ]
            Expect.stringStarts text "nn: kernels of a program, bound twice" "named by the first's label"
            let rows =
                text.Split('\n')
                |> Array.filter (fun l ->
                    l.StartsWith "nn:   k" && not (l.StartsWith "nn:   kernel") || l.StartsWith "nn:   - ")
                |> Array.map (fun l -> l.Split(' ', System.StringSplitOptions.RemoveEmptyEntries)[1])
            Expect.sequenceEqual rows [ "k0"; "k1"; "-" ] "the two kernels, then the time between runs"
            Expect.stringContains text "bound twice (3 and 3 runs)" "the runs of each"
            Expect.isFalse (text.Contains "pool") "a program bound once is not listed"
        }

        test "a long job keeps its last runs: more runs than it keeps leave one row per kernel" {
            let clock, steps, ran = program [ "a"; "b" ]
            for _ in 1 .. KernelClock.Kept + 3 do clock.Run steps
            Expect.equal ran.Count (2 * (KernelClock.Kept + 3)) "every run ran"
            Expect.equal clock.Runs (int64 (KernelClock.Kept + 3)) "every run counted"
            Expect.equal (clock.Times().Count) 3 "two kernels and the time between"
        }
    ]
