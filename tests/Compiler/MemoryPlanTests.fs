/// The memory plan of a training run (src/Compiler/Api/MemoryPlan.fs): measured from the step's graphs before anything
/// is allocated, reported by `nn summary`, warned about by `nn check`, and a coded error from `nn train`.
module Nn.Tests.Compiler.MemoryPlanTests

open System.IO
open Expecto
open Nn.Dsl
open Nn.Compiler
open Nn.Tests.TestUtil
open Nn.Tests.Compiler.DiagnosticsHelpers

/// A parameter of 10^10 elements that the network never reads (it passed check and summary, and exited 2 with
/// "Arithmetic operation resulted in an overflow" at train).
let private hugeParam = """
let huge (x: [n, 2]) =
    param w : [100000, 100000] = zeros
    x
network t (x: [n, 2]) : [n, 2] = huge x

train t {
    data = rows [ [0; 0], [0; 1] ]
    loss = mse
    batch = 1
    epochs = 1
}
"""

/// A 1000x1000 kernel over an 8x8 image: 488 MiB of im2col workspace per batch of 2.
let private wideConvTemplate = """
let bigconv (x: [n, 64]) =
    param k : [1000, 1000, 1, 1] = glorot
    conv2d { padding = same } k (reshape [8; 8; 1] x) |> flatten
network t (x: [n, 64]) : [n, 64] = bigconv x

train t {
    data = rows [ [ROW], [ROW]
                  [ROW], [ROW] ]
    loss = mse
    batch = 2
    epochs = 1
}
"""

let private wideConv = wideConvTemplate.Replace("ROW", String.replicate 63 "0; " + "0")

let private compiled (text: string) =
    match Compile.compileText file (text.TrimStart '\n') with
    | Ok c -> c
    | Error ds -> failtestf "expected the program to compile, got %s" ds.Head.Message

[<Tests>]
let tests =
    testList "Compiler.MemoryPlan" [
        case "a parameter larger than an array is NN0630 before anything is allocated" planErrors hugeParam (
            """
test.nn(2,5): error NN0630: `huge1.w` [100000, 100000] has 10,000,000,000 elements, more than one array can hold"""
            + """ (2,147,483,591)
  |
2 |     param w : [100000, 100000] = zeros
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
test.nn(2,5): note: `huge1.w` [100000, 100000]: 37.3 GiB
  |
2 |     param w : [100000, 100000] = zeros
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
   = note: parameters and states (with their initial values) 74.5 GiB, training step 12 B, evaluation step 12 B""")

        test "a run over the limit names the convolution's workspace at its line" {
            let c = compiled wideConv
            try
                TrainPlan.createWithin (Some(400L <<< 20)) c c.Trains.Head None |> ignore
                failtest "expected NN0630"
            with DiagnosticException d ->
                Expect.equal d.Code "NN0630" "code"
                Expect.equal d.Span.Start.Line 3 "the conv2d's line"
                Expect.stringContains
                    d.Message
                    "training at batch 2 needs about 988.0 MiB of memory, more than the 400.0 MiB"
                    "message"
                Expect.equal d.Notes.Head.Message "the workspace of `conv2d` (im2col): 488.3 MiB" "the largest part"
        }

        test "the same run within the limit is planned, and the estimate adds up its parts" {
            let c = compiled wideConv
            let plan = TrainPlan.createWithin (Some(2L <<< 30)) c c.Trains.Head None
            let e = MemoryPlan.estimate plan.Graphs 2
            Expect.equal e.ValueBytes (2L * 4L * 1_000_000L) "two copies of the kernel"
            // the step holds the im2col workspace of 2 x 64 positions x 10^6 taps
            Expect.isGreaterThanOrEqual e.TrainBytes (4L * 128_000_000L) "the training step's workspace"
            Expect.equal e.TotalBytes (e.ValueBytes + e.TrainBytes + e.EvalBytes) "the parts"
        }

        test "sizes are read as users write them" {
            let cases =
                [ "4GB", Some(4L <<< 30); "512MB", Some(512L <<< 20); "1.5GiB", Some(3L <<< 29)
                  "800k", Some(800L <<< 10)
                  "1000", Some 1000L; "5XB", None; "", None; "-1GB", None; "NaN", None ]
            for text, expected in cases do Expect.equal (MemoryPlan.parseSize text) expected text
        }

        test "nn check warns about the huge parameter, and nn train --max-memory stops before writing a run" {
            let dir = tempDir "nn-memory-"
            File.WriteAllText(Path.Combine(dir, "huge.nn"), hugeParam.TrimStart '\n')
            let code, _, err = runNn [] dir [ "check"; "huge.nn" ]
            Expect.equal code 0 "a warning does not fail check"
            Expect.stringContains err "warning NN0630" "the warning"
            File.WriteAllText(Path.Combine(dir, "conv.nn"), wideConv.TrimStart '\n')
            let code, _, err = runNn [] dir [ "train"; "conv.nn"; "--max-memory"; "400MB"; "--out"; "run" ]
            Expect.equal code 1 "a user error"
            Expect.stringContains err "error NN0630" "the error"
            Expect.isFalse (Directory.Exists(Path.Combine(dir, "run"))) "no run folder"
            let code, _, err = runNn [] dir [ "train"; "conv.nn"; "--max-memory"; "lots" ]
            Expect.equal code 1 "a bad size is a usage error"
            Expect.stringContains err "--max-memory needs a size such as 4GB or 512MB, got `lots`" "the message"
        }
    ]
