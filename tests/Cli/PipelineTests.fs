/// `nn train --pipeline K` and `nn graph --step train --pipeline K` from the command line: the cut is shown, a
/// pipelined run trains as one process, and every bad value or combination is a diagnostic with its code, exit 1.
module Nn.Tests.Cli.Pipeline

open System.IO
open Expecto
open Nn.Tests

let private nn = TestUtil.runNn []

/// The losses of a run folder's metrics.csv, per epoch.
let private losses (dir: string) =
    File.ReadAllLines(Path.Combine(dir, "metrics.csv")) |> Array.skip 1 |> Array.map (fun l -> float (l.Split(',').[1]))

[<Tests>]
let tests =
    testList "Cli.Pipeline" [
        test "nn graph --step train --pipeline 2 shows each stage's cost, parameters and activations" {
            let code, out, err =
                nn TestUtil.repoRoot [ "graph"; "examples/xor.nn"; "--step"; "train"; "--pipeline"; "2" ]
            Expect.equal code 0 err
            // dense 8: 3 · (2·2·8 + 8 + 8) = 144 a row; dense 1 + sigmoid: 3 · (2·8 + 1 + 1) = 54
            Expect.stringContains out "stage 0: cost 144 (72.7%)" "stage 0"
            Expect.stringContains out "parameters: dense1.w [2, 8], dense1.b [8]" "stage 0's layer"
            Expect.stringContains out "stage 1: cost 54 (27.3%)" "stage 1"
            Expect.stringContains out "receives:   %5 [n, 8]" "the activation between them"
        }

        test "nn train --pipeline 2 trains xor as one process does, within float32 rounding" {
            TestUtil.withTempDir "nn-pipeline-cli-" (fun dir ->
                let run (extra: string list) out =
                    let args = [ "train"; Path.Combine(TestUtil.repoRoot, "examples", "xor.nn"); "--set"; "epochs=30"
                                 "--quiet"; "--out"; Path.Combine(dir, out) ]
                    let code, _, err = nn dir (args @ extra)
                    Expect.equal code 0 err
                    losses (Path.Combine(dir, out))
                let one, two = run [] "one", run [ "--pipeline"; "2"; "--micro-batches"; "2" ] "two"
                Expect.equal two.Length 30 "every epoch"
                for a, b in Array.zip one two do
                    Expect.isLessThanOrEqual (abs (a - b)) (1e-5 * max 1.0 (abs a)) "the same loss")
        }

        testList "bad values and combinations are diagnostics with exit code 1" [
            for args, code, words in
                [ [ "train"; "examples/xor.nn"; "--pipeline"; "0" ], "NN0820", "--pipeline needs a whole number"
                  [ "train"; "examples/xor.nn"; "--pipeline"; "two" ], "NN0820", "got `two`"
                  [ "train"; "examples/xor.nn"; "--micro-batches"; "2" ], "NN0820", "give --pipeline K too"
                  [ "train"; "examples/xor.nn"; "--pipeline"; "9" ], "NN0821", "at most 6 stages, not 9"
                  [ "train"; "examples/xor.nn"; "--pipeline"; "2"; "--engine"; "reference" ], "NN0823", "fused"
                  [ "graph"; "examples/xor.nn"; "--pipeline"; "2" ], "NN0823", "give --step train" ] ->
                test (String.concat " " args) {
                    let exit, _, err = nn TestUtil.repoRoot args
                    Expect.equal exit 1 err
                    Expect.stringContains err code "the code"
                    Expect.stringContains err words "the message"
                    Expect.isFalse (err.Contains "   at ") "no stack trace"
                }
        ]
    ]
