/// Issue #15 point 15: NO_COLOR removes colour, not the progress bar; the test runner writes no escape codes into
/// logs and pipes and prints only the failures and the counts unless asked.
module Nn.Tests.Cli.PlainOutput

open System
open System.Diagnostics
open System.IO
open Expecto
open Nn.Tests

/// Run a program with redirected output and the given environment changes (null removes a variable).
let private run (file: string) (args: string list) (env: (string * string) list) =
    let psi =
        ProcessStartInfo(file, WorkingDirectory = TestUtil.repoRoot, RedirectStandardOutput = true,
                         RedirectStandardError = true)
    for a in args do psi.ArgumentList.Add a
    for k, v in env do
        if isNull v then psi.Environment.Remove k |> ignore else psi.Environment[k] <- v
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    p.WaitForExit()
    p.ExitCode, out.Result, err.Result

/// `script` runs a command on a pseudo-terminal (util-linux); where it is missing the terminal test is skipped.
let private scriptTool =
    [ "/usr/bin/script"; "/bin/script" ] |> List.tryFind File.Exists

/// A colour escape: ESC [ ... m with a colour number (30-37, 38;5;n, 90-97), not a cursor move.
let private hasColour (text: string) =
    Text.RegularExpressions.Regex.IsMatch(text, "\u001b\\[(3[0-8]|9[0-7])(;[0-9]+)*m")

[<Tests>]
let tests =
    testList "Cli.PlainOutput" [
        test "the text bar shows progress without colour" {
            Expect.equal (Nn.Cli.Progress.barText 4 0.0) "[----]" "empty"
            Expect.equal (Nn.Cli.Progress.barText 4 0.5) "[##--]" "half"
            Expect.equal (Nn.Cli.Progress.barText 4 1.0) "[####]" "full"
        }

        test "on a terminal with NO_COLOR, training shows a bar and no colour" {
            match scriptTool with
            | None -> skiptest "no `script` command to make a pseudo-terminal"
            | Some script ->
                let dir = Path.Combine(Path.GetTempPath(), "nn-tty-" + Guid.NewGuid().ToString("N"))
                let nn = Path.Combine(AppContext.BaseDirectory, "nn.dll")
                let xor = Path.Combine(TestUtil.repoRoot, "examples", "xor.nn")
                // enough epochs (about a second) for the bar to be drawn at least once between refreshes
                let command = sprintf "dotnet exec '%s' train '%s' --set epochs=100000 --out '%s'" nn xor dir
                let code, out, _ =
                    run script [ "-qec"; command; "/dev/null" ]
                        [ "NO_COLOR", "1"; "TERM", "xterm"; "CI", null; "COLUMNS", "120" ]
                Expect.equal code 0 (sprintf "exit code; output:\n%s" out)
                Expect.isTrue (Text.RegularExpressions.Regex.IsMatch(out, "\\[[#-]{16}\\]"))
                    "the bar is drawn in characters"
                Expect.isFalse (hasColour out) "no colour"
        }

        test "the test runner writes no escape codes into a pipe and lists only failures and counts" {
            let tests = Path.Combine(AppContext.BaseDirectory, "Nn.Tests.dll")
            let code, out, err = run "dotnet" [ "exec"; tests; "--filter"; "Dsl.SourceFile" ] []
            Expect.equal code 0 "exit code"
            Expect.isFalse (out.Contains "\u001b" || err.Contains "\u001b") "no escape codes"
            Expect.isFalse (out.Contains "an empty file is NN0003") "passed tests are not listed"
            let last = out.TrimEnd().Split('\n') |> Array.last
            let summary = "^Tests: [1-9][0-9]* passed, 0 failed, [0-9]+ skipped$"
            Expect.isTrue (Text.RegularExpressions.Regex.IsMatch(last.TrimEnd(), summary)) last
            let _, listed, _ = run "dotnet" [ "exec"; tests; "--filter"; "Dsl.SourceFile"; "--summary" ] []
            Expect.stringContains listed "an empty file is NN0003" "--summary lists them"
        }
    ]
