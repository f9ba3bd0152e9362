/// Parameters nothing uses (issue #15.6): a `param` bound again before any use (warning NN0320) and a parameter
/// the network's output does not depend on (warning NN0321), each naming both lines.
module Nn.Tests.Compiler.DiagnosticsParamsTests

open System.IO
open Expecto
open Nn.Compiler
open Nn.Tests.TestUtil
open Nn.Tests.Compiler.DiagnosticsHelpers

[<Tests>]
let tests =
    testList "Compiler.Diagnostics.Params" [
        case "NN0320 a param shadowed before any use" warnings
            """
let layer (x: [n, k]) =
    param w : [k, 4] = glorot
    param w : [k, 4] = zeros
    x @ w

network net (x: [n, 2]) : [n, 4] =
    x |> layer
"""
            ("""
test.nn(2,11): warning NN0320: the parameter `w` is never used: line 3 binds `w` again before anything reads it (it"""
             + """ would still be created, counted in `summary` and saved)
  |
2 |     param w : [k, 4] = glorot
  |           ^
test.nn(3,11): note: `w` is bound again here; remove the first `param w` or rename one of them
  |
3 |     param w : [k, 4] = zeros
  |           ^""")

        case "NN0321 a parameter the output does not depend on" warnings
            """
let extra (x: [n, k]) =
    param v : [k, 4] = glorot
    x

network net (x: [n, 2]) : [n, 1] =
    x |> extra |> dense 1
"""
            ("""
test.nn(2,5): warning NN0321: the output of `net` does not depend on the parameter `extra1.v`: it is created, counted"""
             + """ in `summary` and saved, but nothing uses it
  |
2 |     param v : [k, 4] = glorot
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^
test.nn(5,9): note: the network `net` is declared here
  |
5 | network net (x: [n, 2]) : [n, 1] =
  |         ^^^""")

        case "NN0321 once per declaration, naming the parameters it made" warnings
            """
let extra (x: [n, k]) =
    param v : [k, 4] = glorot
    x

network net (x: [n, 2]) : [n, 2] =
    x |> extra |> extra |> extra |> extra
"""
            ("""
test.nn(2,5): warning NN0321: the output of `net` does not depend on the parameters `extra1.v`, `extra2.v`,"""
             + """ `extra3.v` and 1 more: it is created, counted in `summary` and saved, but nothing uses it
  |
2 |     param v : [k, 4] = glorot
  |     ^^^^^^^^^^^^^^^^^^^^^^^^^
test.nn(5,9): note: the network `net` is declared here
  |
5 | network net (x: [n, 2]) : [n, 2] =
  |         ^^^""")

        test "a param read before it is bound again, and an adapted state's params, are not warned about" {
            let text =
                "let layer (x: [n, k]) =\n    param w : [k, 4] = glorot\n    let h = x @ w\n"
                + "    param w : [4, 4] = glorot\n    h @ w\n\n"
                + "let scaled (x: [n, k]) =\n    param s : [1, k] = ones\n    state m = mean 0 (x * s)\n    x - m\n\n"
                + "network net (x: [n, 2]) : [n, 4] =\n    x |> scaled |> layer\n"
            Expect.equal (warnings text) "" "no warnings"
        }

        test "the examples compile without warnings" {
            for f in Directory.GetFiles(Path.Combine(repoRoot, "examples"), "*.nn") do
                match Compile.compileFile f with
                | Ok c -> Expect.isEmpty (c.Warnings |> List.map (fun d -> d.Message)) (Path.GetFileName f)
                | Error ds -> failtestf "%s: %A" f ds
        }
    ]
