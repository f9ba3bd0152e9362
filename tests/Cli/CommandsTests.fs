/// The `nn` command as a user runs it: help texts, exit codes, `nn check` on broken files, plain output.
module Nn.Tests.Cli.Commands

open System
open System.Diagnostics
open System.IO
open Expecto
open Nn.Tests

/// Run the built nn.dll in `dir` with NO_COLOR=1 and redirected output: exit code, stdout, stderr.
let private nn = Nn.Tests.TestUtil.runNn []

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "nn-cli-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

let private example name = Path.Combine(TestUtil.repoRoot, "examples", name)

let private verbs = [ "check"; "fmt"; "summary"; "graph"; "train"; "eval"; "predict"; "grad"; "export" ]

let private noEscapes (text: string) = not (text.Contains "\u001b")

/// `nn check FILE` on a file with the given bytes: exit code and standard error.
let private checkBytes (name: string) (bytes: byte[]) =
    let dir = tempDir ()
    let path = Path.Combine(dir, name)
    File.WriteAllBytes(path, bytes)
    let code, out, err = nn dir [ "check"; name ]
    code, out, err.Replace(path, name)

[<Tests>]
let tests =
    testList "Cli.Commands" [
        test "nn --help lists every command and exits 0" {
            let code, out, err = nn TestUtil.repoRoot [ "--help" ]
            Expect.equal code 0 "exit code"
            for v in verbs do Expect.stringContains out (sprintf "  %s " v) (sprintf "lists %s" v)
            Expect.equal err "" "no errors"
        }

        test "every command's --help has a usage line and examples, exit 0, no escapes" {
            for v in verbs do
                let code, out, _ = nn TestUtil.repoRoot [ v; "--help" ]
                Expect.equal code 0 (sprintf "nn %s --help exit code" v)
                Expect.stringStarts out (sprintf "Usage: nn %s" v) (sprintf "nn %s usage line" v)
                Expect.stringContains out "Example" (sprintf "nn %s shows examples" v)
                Expect.stringContains out "Exit codes" (sprintf "nn %s documents exit codes" v)
                Expect.isTrue (noEscapes out) (sprintf "nn %s --help is plain" v)
        }

        test "an unknown command, an unknown option and a missing FILE exit 1 with a message" {
            let code, _, err = nn TestUtil.repoRoot [ "trian"; "x.nn" ]
            Expect.equal code 1 "unknown command"
            Expect.stringContains err "unknown command `trian`" "names the command"
            let code, _, err = nn TestUtil.repoRoot [ "train"; example "xor.nn"; "--epochs"; "3" ]
            Expect.equal code 1 "unknown option"
            Expect.equal (err.Trim()) "nn: unknown option `--epochs` for `nn train` (see `nn train --help`)" "message"
            let code, _, err = nn TestUtil.repoRoot [ "eval" ]
            Expect.equal code 1 "missing file"
            Expect.equal (err.Trim()) "nn: `nn eval` needs a FILE" "message"
            let code, _, err = nn TestUtil.repoRoot [ "train"; example "xor.nn"; "--threads"; "zero" ]
            Expect.equal code 1 "bad number"
            Expect.equal (err.Trim()) "nn: --threads needs a positive whole number, got `zero`" "message"
        }

        test "nn check on an empty file" {
            let code, out, err = checkBytes "empty.nn" [||]
            Expect.equal code 1 "exit code"
            Expect.equal out "" "nothing on stdout"
            Expect.stringStarts err "empty.nn: error NN0003: the file is empty: a program needs \
                                     at least one declaration" "message"
        }

        test "nn check on a binary file" {
            let code, _, err = checkBytes "model.nn" [| 0x7fuy; 0x45uy; 0x4cuy; 0x46uy; 0uy; 1uy; 2uy |]
            Expect.equal code 1 "exit code"
            Expect.stringStarts err "model.nn: error NN0002: `model.nn` is not a text file (it contains NUL bytes)"
                "message"
        }

        test "nn check on a missing file" {
            let dir = tempDir ()
            let code, _, err = nn dir [ "check"; "nothere.nn" ]
            Expect.equal code 1 "exit code"
            let err = err.Replace(Path.Combine(dir, "nothere.nn"), "nothere.nn")
            Expect.stringStarts err "nothere.nn: error NN0001: cannot read `nothere.nn`: no such file" "message"
        }

        test "nn check on an unclosed bracket shows both places with carets" {
            let text = "network a (x: [n, 2]) : [n, 2] =\n    relu (x\n"
            let code, _, err = checkBytes "bracket.nn" (Text.Encoding.UTF8.GetBytes text)
            Expect.equal code 1 "exit code"
            let expected =
                [ "bracket.nn(3,1): error NN0102: expected `)` to close the parenthesis, but the file ended"
                  "  |"
                  "3 | "
                  "  | ^"
                  "bracket.nn(2,10): note: the parenthesis opened here"
                  "  |"
                  "2 |     relu (x"
                  "  |          ^"
                  ""
                  "bracket.nn: 1 error" ]
            Expect.equal (err.Replace("\r\n", "\n").TrimEnd('\n').Split('\n') |> List.ofArray) expected
                "rendered diagnostic"
        }

        test "nn check accepts every example, plain output" {
            let files = Directory.GetFiles(Path.Combine(TestUtil.repoRoot, "examples"), "*.nn") |> List.ofArray
            let code, out, err = nn TestUtil.repoRoot ("check" :: files)
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.equal (out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length) files.Length
                "one line per file"
            Expect.isTrue (noEscapes out && noEscapes err) "no ANSI escapes when redirected"
        }

        test "nn check reports a target that does not fit the output without reading the data, exit 1" {
            let dir = tempDir ()
            let text = "network ae (x: [n, 4]) : [n, 3] =\n    x |> dense 3\n\n\
                        train ae {\n    data = npy \"missing.npy\"\n    target = input\n    loss = mse\n}\n"
            File.WriteAllText(Path.Combine(dir, "ae.nn"), text)
            let code, out, err = nn dir [ "check"; "ae.nn" ]
            Expect.equal code 1 "exit code"
            Expect.equal out "" "nothing on stdout"
            let err = err.Replace(Path.Combine(dir, "ae.nn"), "ae.nn").Replace("\r\n", "\n")
            let expected =
                [ "ae.nn(6,14): error NN0210: `mse` needs a target of the same shape, but the prediction is [n, 3] \
                   and the target is [n, 4]"
                  "  |"
                  "6 |     target = input"
                  "  |              ^^^^^" ]
            Expect.equal (err.Split('\n') |> Array.truncate 4 |> List.ofArray) expected "the diagnostic at the target"
            Expect.stringContains err "ae.nn(1,26): note: the output of `ae` is declared here" "a note at the output"
            Expect.isFalse (err.Contains "NN0501") "the missing data file is not looked at"
        }

        test "nn train of a program with a train-block error exits 1 with nn check's diagnostic and no stack trace" {
            let dir = tempDir ()
            let program (field: string) =
                "network t (x: [n, 2]) : [n, 1] =\n    x |> dense 1\n\n\
                 train t {\n    data = rows [ [0; 0], [0] ]\n    loss = mse\n    " + field + "\n}\n"
            let fields =
                [ "optimizer = adam { lr = -1 }"; "stop = earlyStopping { patience = -3 }"; "clip = norm 0"
                  "schedule = stepDecay { every = 0 }"; "target = input"; "clip = norm -1"
                  "metrics = [accuracy; mse]" ]
            for field in fields do
                File.WriteAllText(Path.Combine(dir, "t.nn"), program field)
                let checkCode, _, checkErr = nn dir [ "check"; "t.nn" ]
                let trainCode, _, trainErr = nn dir [ "train"; "t.nn"; "--quiet" ]
                Expect.equal checkCode 1 (sprintf "nn check exit code for `%s`" field)
                Expect.equal trainCode 1 (sprintf "nn train exit code for `%s`" field)
                let diagnostic (err: string) = err.Replace("\r\n", "\n").Split("\n\n").[0]
                Expect.stringContains (diagnostic checkErr) "t.nn(7," (sprintf "at the field's line for `%s`" field)
                Expect.equal (diagnostic trainErr) (diagnostic checkErr) (sprintf "the same diagnostic for `%s`" field)
                Expect.isFalse (trainErr.Contains "   at " || trainErr.Contains "Exception")
                    (sprintf "no stack trace for `%s`" field)
            Expect.isFalse (Directory.Exists(Path.Combine(dir, "runs"))) "no run folder was made"
        }

        test "nn train --network checks the block's target against that network before reading data" {
            let dir = tempDir ()
            let text =
                "network same (x: [n, 4]) : [n, 4] =\n    x |> dense 4\n\n\
                 network squeeze (x: [n, 4]) : [n, 2] =\n    x |> dense 2\n\n"
                + "train same {\n    data = npy \"missing.npy\"\n    target = input\n    loss = mse\n}\n"
            File.WriteAllText(Path.Combine(dir, "two.nn"), text)
            let code, _, err = nn dir [ "train"; "two.nn"; "--network"; "squeeze" ]
            Expect.equal code 1 "exit code"
            let err = err.Replace(Path.Combine(dir, "two.nn"), "two.nn")
            Expect.stringStarts err "two.nn(9,14): error NN0210: `mse` needs a target of the same shape, but the \
                                     prediction is [n, 2] and the target is [n, 4]" "at the target"
            Expect.stringContains err "two.nn(4,31): note: the output of `squeeze` is declared here"
                "a note at squeeze's output"
            let code, _, err = nn dir [ "train"; "two.nn"; "--network"; "nothere" ]
            Expect.equal code 1 "exit code for an unknown network"
            Expect.stringContains err "has no network named `nothere` (it has `same`, `squeeze`)" "names the networks"
        }

        test "nn summary names the parameter paths" {
            let code, out, _ = nn TestUtil.repoRoot [ "summary"; example "xor.nn" ]
            Expect.equal code 0 "exit code"
            for p in [ "dense1.w"; "dense1.b"; "dense2.w"; "total parameters: 33" ] do Expect.stringContains out p p
        }

        test "nn summary shows the prelude's tower and sequential by their call paths, and standardize's states" {
            let dir = tempDir ()
            try
                let text =
                    "network t (x: [n, 4]) : [n, 3] =\n"
                    + "    x |> standardize |> tower relu [16; 8] |> sequential [dense 6; tanh; dense 3]\n"
                File.WriteAllText(Path.Combine(dir, "t.nn"), text)
                let code, out, err = nn dir [ "summary"; "t.nn" ]
                Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
                for line in [ "tower1.dense1       [n, 16]       80"; "tower1              [n, 8]        216"
                              "sequential1.dense2  [n, 3]        21"; "standardize1.std     [1, 4]  4"
                              "standardize1.mean    [1, 4]  4" ] do
                    Expect.stringContains out line line
            finally Directory.Delete(dir, true)
        }
    ]
