/// `--set NAME=VALUE` on a top-level `let` (issue #19.7): a sweep is a shell loop, and the run remembers the values
/// so --resume, eval and predict rebuild the network it trained.
module Nn.Tests.Cli.SetLet

open System.IO
open Expecto
open Nn.Runtime.Checkpoints

let private nn = Nn.Tests.TestUtil.runNn []

let private program =
    """// a width to sweep
let hidden = 8
let widths = [4; 4]
let epochs = 7

network m (x: [n, 2]) : [n, 1] =
    x |> dense hidden |> tanh |> tower tanh widths |> dense epochs |> dense 1 |> sigmoid

train m {
    data = rows [ [0; 0], [0]
                  [0; 1], [1]
                  [1; 0], [1]
                  [1; 1], [0] ]
    loss = binaryCrossEntropy
    optimizer = nadam { lr = 0.05 }
    epochs = 3
    batch = 4
}
"""

/// A temporary folder holding m.nn.
let private sandbox () =
    let d = Path.Combine(Path.GetTempPath(), "nn-setlet-" + System.Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    File.WriteAllText(Path.Combine(d, "m.nn"), program)
    d

let private shapeIn (dir: string) (name: string) =
    (SafeTensors.Read(Path.Combine(dir, "checkpoint.safetensors"))[name]).Shape |> List.ofArray

let private normal (s: string) = s.Replace("\r\n", "\n")

[<Tests>]
let tests =
    testList "Cli.SetLet" [
        test "--set hidden=16 changes the network; the run's copy, eval, predict and --resume rebuild it" {
            let dir = sandbox ()
            let code, _, err = nn dir [ "train"; "m.nn"; "--set"; "hidden=16"; "--set"; "widths=[6; 3]"; "--out"; "a"
                                        "--quiet" ]
            Expect.equal code 0 err
            let run = Path.Combine(dir, "a")
            Expect.equal (shapeIn run "dense1.w") [ 2; 16 ] "hidden = 16"
            Expect.equal (shapeIn run "tower1.dense1.w") [ 16; 6 ] "widths = [6; 3]"
            let copy = normal (File.ReadAllText(Path.Combine(run, "m.nn")))
            Expect.stringContains copy "// --set hidden=16 (the program says: 8)\nlet hidden = 16\n" "the copy"
            Expect.stringContains copy "let widths = [6; 3]\n" "the list"
            let meta = SafeTensors.Read(Path.Combine(run, "checkpoint.safetensors")).Metadata
            Expect.equal meta["sets"] "hidden=16\nwidths=[6; 3]" "the checkpoint's sets"
            // eval and predict with the file itself, or with the run's copy
            for file in [ "m.nn"; Path.Combine("a", "m.nn") ] do
                let code, out, err = nn dir [ "eval"; file; "--weights"; "a" ]
                Expect.equal code 0 (file + ": " + err)
                Expect.stringContains out "loss " file
            File.WriteAllText(Path.Combine(dir, "x.csv"), "0,1\n1,1\n")
            let code, _, err = nn dir [ "predict"; "m.nn"; "--weights"; "a"; "--input"; "x.csv" ]
            Expect.equal code 0 err
            // --resume from the file and from the copy
            let code, _, err = nn dir [ "train"; "m.nn"; "--resume"; "a"; "--set"; "epochs=4"; "--quiet" ]
            Expect.equal code 0 err
            let code, _, err = nn dir [ "train"; Path.Combine("a", "m.nn"); "--resume"; "a"; "--set"; "epochs=5"
                                        "--quiet" ]
            Expect.equal code 0 err
            Expect.equal (shapeIn run "dense1.w") [ 2; 16 ] "still 16 after resuming"
            // a program without those lets ignores the run's sets of them (here its widths are written out)
            let other = program.Replace("let hidden = 8\n", "").Replace("dense hidden", "dense 16")
                               .Replace("let widths = [4; 4]\n", "").Replace("tower tanh widths", "tower tanh [6; 3]")
            File.WriteAllText(Path.Combine(dir, "other.nn"), other)
            let code, _, err = nn dir [ "eval"; "other.nn"; "--weights"; "a" ]
            Expect.equal code 0 ("other.nn: " + err)
            // the command line wins over the run's own sets: these weights do not fit a width of 4
            let code, _, err = nn dir [ "eval"; "m.nn"; "--weights"; "a"; "--set"; "hidden=4" ]
            Expect.equal code 1 "another width"
            Expect.stringContains err "NN0708" "a shape mismatch"
        }
        test "a name that is a train field and a top-level let is the train field's" {
            let dir = sandbox ()
            let code, _, err = nn dir [ "train"; "m.nn"; "--set"; "epochs=1"; "--out"; "a"; "--quiet" ]
            Expect.equal code 0 err
            let rows = File.ReadAllLines(Path.Combine(dir, "a", "metrics.csv")).Length - 1
            Expect.equal rows 1 "one epoch trained"
            Expect.equal (shapeIn (Path.Combine(dir, "a")) "dense2.w") [ 4; 7 ] "the let `epochs` keeps 7"
        }
        test "a value of another kind, a function and an unknown name are diagnostics at the override" {
            let dir = sandbox ()
            let code, _, err = nn dir [ "train"; "m.nn"; "--set"; "hidden=[3]" ]
            Expect.equal code 1 "a list for a number"
            Expect.stringStarts (normal err)
                ("--set(1,8): error NN0436: `hidden` is a number in the program, but `--set` gives a list\n"
                 + "  |\n1 | hidden=[3]\n  |        ^^^\n")
                "kind"
            Expect.stringContains (normal err) "m.nn(2,5): note: `hidden` is declared here" "where"
            let code, _, err = nn dir [ "train"; "m.nn"; "--set"; "widths=\"a\"" ]
            Expect.equal code 1 "a string for a list"
            Expect.stringContains err "`widths` is a list in the program, but `--set` gives a string" "string"
            let code, _, err = nn dir [ "train"; "m.nn"; "--set"; "hiden=3" ]
            Expect.equal code 1 "unknown"
            Expect.stringStarts (normal err)
                ("--set(1,1): error NN0401: `--set hiden`: the program has no train field or top-level `let` named "
                 + "`hiden`; did you mean `hidden`? (train fields: data, target, validation, shuffle, loss, metrics, "
                 + "optimizer, schedule, regularize, clip, batch, epochs, stop, checkpoint, seed, divergence, "
                 + "classWeights, init, freeze; top-level lets: hidden, widths, epochs)\n  |\n1 | hiden=3\n  | ^^^^^\n")
                "the fields and the lets"
        }
        test "a let that is a function of its arguments is not a --set value" {
            let dir = sandbox ()
            File.AppendAllText(Path.Combine(dir, "m.nn"), "\nlet twice x = 2 * x\n")
            let code, _, err = nn dir [ "check"; "m.nn" ]
            Expect.equal code 0 err
            let code, _, err = nn dir [ "train"; "m.nn"; "--set"; "twice=3" ]
            Expect.equal code 1 "a function"
            Expect.stringContains err
                "error NN0436: `twice` is a function of its arguments; `--set` replaces values (numbers, lists, \
                 strings, booleans)" "message"
        }
        test "a sweep is a shell loop: each width trains its own network" {
            let dir = sandbox ()
            for h in [ 2; 5 ] do
                let out = sprintf "h%d" h
                let code, _, err =
                    nn dir [ "train"; "m.nn"; "--set"; sprintf "hidden=%d" h; "--set"; "epochs=1"; "--out"; out
                             "--quiet" ]
                Expect.equal code 0 err
                Expect.equal (shapeIn (Path.Combine(dir, out)) "dense1.w") [ 2; h ] out
        }
    ]
