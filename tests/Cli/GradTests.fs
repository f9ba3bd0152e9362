/// `nn grad` over a sequence: the gradient through time (the norm of the loss's gradient with respect to the input at
/// each step) printed as a table with the verdict, first step against last (examples/adding.nn).
module Nn.Tests.Cli.GradTests

open System.IO
open System.Text.RegularExpressions
open Expecto
open Nn.Tests.TestUtil

let private adding = Path.Combine(repoRoot, "examples", "adding.nn")

/// The rows of the table under "gradient through time": (step, |grad|, of the last step's).
let private stepRows (out: string) =
    [ for m in Regex.Matches(out, @"(?m)^(\d+) +(\S+) +(\S+)$") ->
          int m.Groups[1].Value, float m.Groups[2].Value, float m.Groups[3].Value ]

[<Tests>]
let tests =
    testList "Cli.Grad" [
        test "nn grad adding.nn --network rnn prints the gradient through time and finds it vanishing" {
            let code, out, err = runNn [] repoRoot [ "grad"; adding; "--network"; "rnn"; "--batch"; "16" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.stringContains out
                "gradient through time of the input `x` [n, 50, 2] (norm over the rows and features at each step):"
                "title"
            Expect.stringContains out "step  |grad|     of the last step's" "table header"
            let rows = stepRows out
            Expect.equal (rows |> List.map (fun (s, _, _) -> s)) [ 1; 6; 12; 17; 23; 28; 34; 39; 45; 50 ]
                "ten steps spread over 50, both ends"
            let _, last, one = List.last rows
            Expect.equal one 1.0 "the last step against itself"
            for _, g, r in rows do
                Expect.floatClose { absolute = 0.0; relative = 2e-3 } r (g / last) "each step against the last"
            let _, _, first = List.head rows
            Expect.isLessThan first 0.01 "the first step's gradient is below 1/100 of the last's"
            Expect.isMatch out
                (@"vanishing gradients through time in `x`: the first step's \|grad\| is \d\.\d{3}e-\d\d of the last "
                 + @"step's \(below 1/100\); towards the first step they change by ×0\.\d+ per step")
                "verdict"
        }

        test "nn grad prints no gradient through time for a network without a sequence input" {
            let iris = Path.Combine(repoRoot, "examples", "iris.nn")
            let code, out, err = runNn [] repoRoot [ "grad"; iris; "--batch"; "8" ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.isFalse (out.Contains "through time") "no table"
        }
    ]
