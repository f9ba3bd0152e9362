/// Issue #15 points 8 and 10: a user's mistake is never an internal error (exit code 2), and `--set` says what a
/// field expects. Each case here is one a new user met by trying the tool.
module Nn.Tests.Cli.ExitCodes

open System
open System.Diagnostics
open System.IO
open Expecto
open Nn.Tests

/// Run the built nn.dll in `dir` with NO_COLOR=1 and redirected output: exit code, stdout, stderr.
let private nn = Nn.Tests.TestUtil.runNn []

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "nn-exit-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

let private example name = Path.Combine(TestUtil.repoRoot, "examples", name)

/// The lines of a report with the temporary folder taken out.
let private lines (dir: string) (text: string) =
    text.Replace(dir + string Path.DirectorySeparatorChar, "").Replace("\r", "").TrimEnd().Split('\n') |> List.ofArray

/// `nn train xor.nn --set S` in a fresh folder: exit code and standard error.
let private trainSet (sets: string list) =
    let dir = tempDir ()
    let code, _, err = nn dir ([ "train"; example "xor.nn" ] @ (sets |> List.collect (fun s -> [ "--set"; s ])))
    code, lines dir err

[<Tests>]
let tests =
    testList "Cli.ExitCodes" [
        test "--out naming an existing file is NN0706 with exit code 1, and the file is kept" {
            let dir = tempDir ()
            File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine")
            let code, _, err = nn dir [ "train"; example "xor.nn"; "--out"; "notes.txt"; "--set"; "epochs=1" ]
            Expect.equal code 1 "exit code"
            Expect.equal (lines dir err)
                [ "notes.txt: error NN0706: cannot create the folder: a file of that name exists"; ""; "1 error" ]
                "message"
            Expect.equal (File.ReadAllText(Path.Combine(dir, "notes.txt"))) "mine" "the file is untouched"
        }

        test "--out inside a file (an unwritable place) is NN0706 with exit code 1" {
            let dir = tempDir ()
            File.WriteAllText(Path.Combine(dir, "file"), "")
            let code, _, err =
                nn dir [ "train"; example "xor.nn"; "--out"; Path.Combine("file", "run"); "--set"; "epochs=1" ]
            Expect.equal code 1 "exit code"
            Expect.stringStarts err (Path.Combine("file", "run") + ": error NN0706: cannot create the folder") "message"
            Expect.isFalse (err.Contains "internal error") "not an internal error"
        }

        test "options that a command does not know say `unknown option`, for every command" {
            for verb in [ "check"; "fmt"; "summary"; "graph"; "train"; "eval"; "predict"; "grad" ] do
                let code, _, err = nn TestUtil.repoRoot [ verb; "--bogus"; example "xor.nn" ]
                Expect.equal code 1 (sprintf "nn %s exit code" verb)
                let expected = sprintf "nn: unknown option `--bogus` for `nn %s` (see `nn %s --help`)" verb verb
                Expect.equal (err.Trim()) expected verb
        }

        test "a bare `nn` prints the usage on standard error and exits 1; `nn --bogus` is an unknown option" {
            let code, out, err = nn TestUtil.repoRoot []
            Expect.equal code 1 "exit code"
            Expect.equal out "" "nothing on standard output"
            Expect.stringContains err "Usage: nn COMMAND" "the usage"
            let code, _, err = nn TestUtil.repoRoot [ "--bogus" ]
            Expect.equal code 1 "exit code"
            Expect.stringStarts err "nn: unknown option `--bogus`" "message"
        }

        test "directories, empty and missing files where a file is expected are user errors" {
            let dir = tempDir ()
            File.WriteAllText(Path.Combine(dir, "empty.nn"), "")
            File.WriteAllBytes(Path.Combine(dir, "empty.safetensors"), [||])
            let cases =
                [ [ "check"; "." ]; [ "train"; "." ]; [ "summary"; "empty.nn" ]; [ "graph"; "missing.nn" ]
                  [ "eval"; example "xor.nn"; "--weights"; "empty.safetensors" ]
                  [ "eval"; example "xor.nn"; "--weights"; "." ]
                  [ "predict"; example "iris.nn"; "--weights"; "."; "--input"; "." ]
                  [ "train"; example "xor.nn"; "--resume"; "."; "--set"; "epochs=1" ]
                  [ "train"; example "xor.nn"; "--out"; ""; "--set"; "epochs=1" ] ]
            for args in cases do
                let code, _, err = nn dir args
                Expect.equal code 1 (sprintf "nn %s" (String.concat " " args))
                Expect.isFalse (err.Contains "internal error") (sprintf "nn %s: %s" (String.concat " " args) err)
        }

        test "--set epochs=-3 says it must be at least 1" {
            let code, err = trainSet [ "epochs=-3" ]
            Expect.equal code 1 "exit code"
            Expect.equal err.Head "--set(1,8): error NN0407: `epochs` must be a whole number of at least 1, got -3"
                "message"
        }

        test "--set epochs=abc says a whole number is expected, without a did-you-mean" {
            let code, err = trainSet [ "epochs=abc" ]
            Expect.equal code 1 "exit code"
            Expect.equal err.Head "--set(1,8): error NN0407: `epochs` expects a whole number of at least 1, but `abc` \
                                   is not a number or a defined name" "message"
        }

        test "an unknown loss, metric, optimizer or schedule lists the valid names under its own code" {
            let expect set (first: string) =
                let code, err = trainSet [ set ]
                Expect.equal code 1 set
                Expect.equal err.Head first set
            expect "loss=foo"
                "--set(1,6): error NN0408: unknown loss `foo` (the losses are `mse`, `mae`, `huber`, \
                 `binaryCrossEntropy`, `softmaxCrossEntropy`, `crossEntropy`)"
            expect "metrics=[acuracy]"
                "--set(1,10): error NN0409: unknown metric `acuracy`; did you mean `accuracy`? (the \
                 metrics are `accuracy`, `precision`, `recall`, `f1`, `mae`, `mse`, `rmse`, `r2`, `topK`)"
            expect "optimizer=adamm { lr = 0.1 }"
                "--set(1,11): error NN0403: unknown optimizer `adamm`; did you mean `adam`? (the optimizers are `sgd`, \
                 `adam`, `adamW`, `nadam`, `rmsprop`, `adagrad`)"
            expect "schedule=foo"
                "--set(1,10): error NN0404: unknown schedule `foo` (the schedules are `stepDecay`, `exponential`, \
                 `cosine`, `warmup`, `reduceOnPlateau`)"
        }

        test "the `N errors` footer ends every report of diagnostics" {
            // a parse error of --set, a settings error, a data error, a program error: each ends with the count
            for sets in [ [ "epochs=" ]; [ "epochs=-3" ]; [ "data=csv \"nofile.csv\"" ] ] do
                let code, err = trainSet sets
                Expect.equal code 1 (String.concat " " sets)
                Expect.equal (List.last err) "1 error" (sprintf "%A" err)
            let dir = tempDir ()
            File.WriteAllText(Path.Combine(dir, "bad.nn"), "network a (x: [n, 2]) : [n, 2] = relu y\n")
            for verb in [ "train"; "summary"; "graph"; "grad" ] do
                let code, _, err = nn dir [ verb; "bad.nn" ]
                Expect.equal code 1 verb
                Expect.equal (List.last (lines dir err)) "1 error" (sprintf "nn %s: %s" verb err)
            let code, _, err = nn dir [ "eval"; example "xor.nn"; "--weights"; "nothere" ]
            Expect.equal code 1 "eval"
            Expect.equal (List.last (lines dir err)) "1 error" err
        }
    ]
