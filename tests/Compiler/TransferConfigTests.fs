/// `init` and `freeze` (Model/TransferConfig.fs): the static errors NN0455-NN0458, found by the compiler (and so by
/// `nn check`) before any data or weights file is read, and the glob matching of `freeze`.
module Nn.Tests.Compiler.TransferConfigTests

open Expecto
open Nn.Compiler
open Nn.Tests.Compiler.DiagnosticsHelpers

/// A network with dense1 [2, 3] and dense2 [3, 1] and a train block ending with `field`.
let private block (field: string) =
    "network m (x: [n, 2]) : [n, 1] =\n    x |> dense 3 |> tanh |> dense 1\n\n"
    + "train m {\n    data = rows [ [0; 0], [0] ]\n    loss = mse\n" + field + "\n}\n"

let private expect (field: string) (expected: string) =
    Expect.equal (errors (block field)) (expected.TrimStart('\n')) "rendered diagnostics"

[<Tests>]
let tests =
    testList "Compiler.TransferConfig" [
        test "NN0456 a freeze pattern that matches no parameter, listing the parameters" {
            expect """    freeze = ["dense1.*"; "dense3*"]""" ("""
test.nn(7,27): error NN0456: the pattern "dense3*" matches no parameter of the network (its"""
                + """ parameters are `dense1.w`, `dense1.b`, `dense2.w`, `dense2.b`)
  |
7 |     freeze = ["dense1.*"; "dense3*"]
  |                           ^^^^^^^^^""")
        }

        test "NN0455 a pattern with a character no path has, at the item" {
            expect """    freeze = ["dense1.w"; "dense 2"]""" ("""
test.nn(7,27): error NN0455: `dense 2` is not a pattern of parameter paths: it may hold letters,"""
                + """ digits, `_`, `.` and the wildcards `*` (any characters) and `?` (one character), such"""
                + """ as "dense1.*"
  |
7 |     freeze = ["dense1.w"; "dense 2"]
  |                           ^^^^^^^^^""")
        }

        test "NN0455 freeze is not a list of strings" {
            expect """    freeze = 3""" ("""
test.nn(7,14): error NN0455: `freeze` is a list of patterns of parameter paths in quotes, such as"""
                + """ ["dense1.*"], but this is an integer
  |
7 |     freeze = 3
  |              ^""")
        }

        test "NN0457 rename holds a pair that is not two strings, at the pair" {
            expect """    init = weights "pre.safetensors" { rename = [("encode.", ""); ("a", 1)] }""" ("""
test.nn(7,67): error NN0457: `rename` is a list of pairs of path prefixes, from the file's names to"""
                + """ the network's, such as [("encode.", "")], but this pair holds a string and an integer,"""
                + """ not two strings
  |
7 |     init = weights "pre.safetensors" { rename = [("encode.", ""); ("a", 1)] }
  |                                                                   ^^^^^^^^""")
        }

        test "NN0457 rename is a pair, not a list of pairs" {
            expect """    init = weights "pre.safetensors" { rename = ("encode.", "") }""" ("""
test.nn(7,49): error NN0457: `rename` is a list of pairs of path prefixes, from the file's names to"""
                + """ the network's, such as [("encode.", "")], but this is a tuple
  |
7 |     init = weights "pre.safetensors" { rename = ("encode.", "") }
  |                                                 ^^^^^^^^^^^^^^^""")
        }

        test "NN0458 init is not weights \"...\"" {
            expect "    init = \"runs/pre/latest\"" ("""
test.nn(7,12): error NN0458: `init` is `weights "runs/NET/latest"` (a run folder or a .safetensors"""
                + """ file), optionally with { rename = [("from.", "to.")] }, but this is a string
  |
7 |     init = "runs/pre/latest"
  |            ^^^^^^^^^^^^^^^^^""")
        }

        test "NN0458 weights of something that is not a path" {
            expect """    init = weights 5""" ("""
test.nn(7,20): error NN0458: `weights` takes a run folder or a file name in quotes, but this is an integer
  |
7 |     init = weights 5
  |                    ^""")
        }

        test "init and freeze read into the settings; a missing weights file is not the compiler's business" {
            let fields = "    init = weights \"none\" { rename = [(\"a.\", \"\")] }\n    freeze = [\"dense?.b\"]"
            match Compile.compileText file (block fields) with
            | Error ds -> failtestf "%A" (ds |> List.map (fun d -> d.Message))
            | Ok c ->
                let cfg = TrainPlan.config c c.Trains.Head
                Expect.equal cfg.Init.Value.Rename [ "a.", "" ] "rename"
                Expect.equal (cfg.Freeze |> List.map (fun f -> f.Pattern)) [ "dense?.b" ] "freeze"
        }

        test "globs match whole paths; * crosses dots, ? is one character" {
            let cases =
                [ "dense1.*", "dense1.w", true; "dense1.*", "tower1.dense1.w", false; "dense1.*", "dense10.w", false
                  "dense1*", "dense10.w", true; "*.b", "tower1.dense2.b", true; "dense?.b", "dense2.b", true
                  "dense?.b", "dense12.b", false; "dense1.w", "dense1.w", true; "dense1.w", "dense1xw", false ]
            for pattern, path, expected in cases do
                Expect.equal (TransferConfig.matches pattern path) expected (sprintf "%s against %s" pattern path)
        }
    ]
