/// The checks of issue #15 (points 2, 3, 6, 7) through the `nn` command: a target that does not fit the loss stops
/// `nn train` before the first step (exit 1, no run folder), `nn check` finds crossEntropy on scores and a trained
/// network with several inputs (exit 1), and prints warnings with exit 0.
module Nn.Tests.Cli.ChecksTests

open System
open System.Diagnostics
open System.IO
open Expecto

/// Run the built nn.dll in `dir` with NO_COLOR=1: exit code, stdout, stderr (file paths shown relative to `dir`).
let private nn (dir: string) (args: string list) =
    let code, out, err = Nn.Tests.TestUtil.runNn [] dir args
    code, out, err.Replace(dir + "/", "")

let private sandbox (files: (string * string) list) =
    let d = Path.Combine(Path.GetTempPath(), "nn-checks-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    for name, text in files do File.WriteAllText(Path.Combine(d, name), text)
    d

/// The issue's XOR with a target of 2 (it trained to a loss of -107 with exit 0).
let private badXor =
    "network xor (x: [n, 2]) : [n, 1] =\n    x |> dense 8 |> tanh |> dense 1 |> sigmoid\n\n"
    + "train xor {\n    data = rows [ [0; 0], [0]\n                  [0; 1], [2]\n"
    + "                  [1; 0], [1]\n                  [1; 1], [0] ]\n"
    + "    loss = binaryCrossEntropy\n    optimizer = sgd { lr = 0.5 }\n    epochs = 50\n}\n"

[<Tests>]
let tests =
    testList "Cli.Checks" [
        test "nn train stops at a binaryCrossEntropy target of 2 before the first step" {
            let dir = sandbox [ "xor.nn", badXor ]
            let code, out, err = nn dir [ "train"; "xor.nn"; "--out"; "run" ]
            Expect.equal code 1 "exit code"
            Expect.stringStarts err "xor.nn(6,27): error NN0545: row 2 of `rows`: the target 2 is outside [0, 1]"
                "the row and the value"
            Expect.isFalse (out.Contains "epoch") "no epoch ran"
            Expect.isFalse (Directory.Exists(Path.Combine(dir, "run"))) "no run folder"
        }

        test "nn check: crossEntropy on scores and a network with several inputs fed by `rows` are errors" {
            let scores = "network c (x: [n, 2]) : [n, 3] =\n    x |> dense 3\n\n\
                          train c {\n    data = rows [ [0; 0], [1] ]\n    loss = crossEntropy\n}\n"
            let two = "network t (a: [n, 2]) (b: [n, 1]) : [n, 1] =\n    concat 1 [a; b] |> dense 1\n\n\
                       train t {\n    data = rows [ [0; 0], [1] ]\n    loss = mse\n}\n"
            let dir = sandbox [ "scores.nn", scores; "two.nn", two ]
            let code, _, err = nn dir [ "check"; "scores.nn" ]
            Expect.equal code 1 "crossEntropy on scores"
            Expect.stringStarts err "scores.nn(6,12): error NN0421:" "at the loss"
            let code, _, err = nn dir [ "check"; "two.nn" ]
            Expect.equal code 1 "several inputs"
            Expect.stringStarts err "two.nn(5,12): error NN0442:" "at the data"
        }

        test "nn check prints warnings and exits 0" {
            let text =
                "let layer (x: [n, k]) =\n    param w : [k, 3] = glorot\n    param w : [k, 3] = zeros\n    x @ w\n\n"
                + "network c (x: [n, 2]) : [n, 3] =\n    x |> layer |> softmax\n\n"
                + "train c {\n    data = rows [ [0; 0], [1] ]\n    loss = softmaxCrossEntropy\n}\n"
            let dir = sandbox [ "w.nn", text ]
            let code, out, err = nn dir [ "check"; "w.nn" ]
            Expect.equal code 0 "warnings only"
            Expect.equal (out.Trim()) "w.nn: ok (1 network: c; 2 warnings)" "summary line"
            Expect.stringStarts err "w.nn(2,11): warning NN0320:" "the shadowed param first"
            Expect.stringContains err "w.nn(11,12): warning NN0422:" "the double softmax"
        }
    ]
