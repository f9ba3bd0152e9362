/// `nn fmt` as a user runs it: every example is formatted, `--check` and `--diff` change nothing.
module Nn.Tests.Cli.Fmt

open System
open System.Diagnostics
open System.IO
open Expecto
open Nn.Tests

/// Run the built nn.dll in `dir` with NO_COLOR=1 and redirected output: exit code, stdout, stderr.
let private nn = Nn.Tests.TestUtil.runNn []

/// A temporary folder holding `name` with `text`.
let private withFile (name: string) (text: string) =
    let dir = Path.Combine(Path.GetTempPath(), "nn-fmt-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    File.WriteAllText(Path.Combine(dir, name), text)
    dir

[<Tests>]
let tests =
    testList "Cli.Fmt" [
        test "every example is formatted: nn fmt --check examples/*.nn exits 0" {
            let files =
                Directory.GetFiles(Path.Combine(TestUtil.repoRoot, "examples"), "*.nn")
                |> Array.map (fun f -> Path.GetRelativePath(TestUtil.repoRoot, f)) |> Array.sort |> List.ofArray
            Expect.isGreaterThanOrEqual files.Length 8 "the examples"
            let code, out, err = nn TestUtil.repoRoot ("fmt" :: "--check" :: files)
            Expect.equal err "" "no errors"
            let expected = files |> List.map (sprintf "%s: already formatted\n") |> String.concat ""
            Expect.equal out expected "each already formatted"
            Expect.equal code 0 "exit code"
        }
        test "--diff prints a unified diff on stdout, exits 1 and leaves the file alone" {
            let source = "// numbers keep their spelling\nlet  a=1e-2\nlet b = 0.50\n"
            let dir = withFile "m.nn" source
            let code, out, err = nn dir [ "fmt"; "--diff"; "m.nn" ]
            let expected =
                String.concat "\n" [
                    "--- m.nn"; "+++ m.nn"; "@@ -1,3 +1,4 @@"
                    " // numbers keep their spelling"; "-let  a=1e-2"; "+let a = 1e-2"; "+"; " let b = 0.50"; "" ]
            Expect.equal out expected "the diff"
            Expect.equal err "m.nn: would be reformatted\n" "status on stderr"
            Expect.equal code 1 "exit code"
            Expect.equal (File.ReadAllText(Path.Combine(dir, "m.nn"))) source "unchanged"
            let code, out, _ = nn dir [ "fmt"; "m.nn" ]
            Expect.equal (code, out) (0, "m.nn: formatted\n") "formats"
            let code, out, err = nn dir [ "fmt"; "--diff"; "m.nn" ]
            Expect.equal (code, out, err) (0, "", "m.nn: already formatted\n") "nothing to show"
        }
        test "an unknown option is named, not read as a file" {
            let code, _, err = nn TestUtil.repoRoot [ "fmt"; "--bogus"; "examples/xor.nn" ]
            Expect.equal code 1 "exit code"
            Expect.equal (err.Trim()) "nn: unknown option `--bogus` for `nn fmt` (see `nn fmt --help`)" "message"
        }
    ]
