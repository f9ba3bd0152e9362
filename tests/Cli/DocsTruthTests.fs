/// Issue #15 point 16: help and README say what the code does. Every `nn` command of README.md runs as written on
/// a fresh copy of the examples, and the help of `--engine` names the engine the code defaults to.
module Nn.Tests.Cli.DocsTruth

open System
open System.Diagnostics
open System.IO
open System.Text.RegularExpressions
open Expecto
open Nn.Tests

/// Run the built nn.dll in `dir` with NO_COLOR=1 and redirected output: exit code, stdout, stderr.
let private nn = Nn.Tests.TestUtil.runNn []

/// The lines of README.md's ```sh blocks.
let private shellLines () =
    let text = File.ReadAllText(Path.Combine(TestUtil.repoRoot, "README.md")).Replace("\r", "")
    [ for m in Regex.Matches(text, "```sh\n(.*?)```", RegexOptions.Singleline) do
        yield! m.Groups[1].Value.Split('\n') |> Array.filter (fun l -> l.Trim() <> "") ]

/// A command line's words: blanks separate, double quotes group, `#` starts a comment.
let private words (line: string) =
    let line = match line.IndexOf " #" with -1 -> line | i -> line.Substring(0, i)
    [ for m in Regex.Matches(line, "\"([^\"]*)\"|(\\S+)") ->
          if m.Groups[1].Success then m.Groups[1].Value else m.Groups[2].Value ]

/// `examples/*.nn` as the shell expands it, in `dir`.
let private glob (dir: string) (word: string) =
    if word.Contains "*" then
        let folder = Path.GetDirectoryName word
        Directory.GetFiles(Path.Combine(dir, folder), Path.GetFileName word) |> Array.sort
        |> Array.map (fun f -> Path.Combine(folder, Path.GetFileName f)) |> List.ofArray
    else [ word ]

let rec private copyDir (src: string) (dst: string) =
    Directory.CreateDirectory dst |> ignore
    for f in Directory.GetFiles src do File.Copy(f, Path.Combine(dst, Path.GetFileName f))
    for d in Directory.GetDirectories src do
        if Path.GetFileName d <> "runs" then copyDir d (Path.Combine(dst, Path.GetFileName d))

[<Tests>]
let tests =
    testList "Cli.DocsTruth" [
        test "README.md's shell lines have no placeholders" {
            for line in shellLines () do
                Expect.isFalse (Regex.IsMatch(line, "<[A-Za-z_ -]+>")) (sprintf "a placeholder in `%s`" line)
        }

        test "every nn command of README.md runs as written, in order, on a fresh copy of the examples" {
            let dir = Path.Combine(Path.GetTempPath(), "nn-readme-" + Guid.NewGuid().ToString("N"))
            copyDir (Path.Combine(TestUtil.repoRoot, "examples")) (Path.Combine(dir, "examples"))
            let commands = shellLines () |> List.filter (fun l -> l.StartsWith "nn ") |> List.map words
            Expect.isGreaterThanOrEqual commands.Length 10 "README shows the commands"
            for cmd in commands do
                let args = cmd.Tail |> List.collect (glob dir)
                let code, out, err = nn dir args
                Expect.equal code 0 (sprintf "`%s` exits 0\n%s\n%s" (String.concat " " cmd) out err)
        }

        test "the help of --engine names the default the code uses" {
            let dflt = (sprintf "%A" Nn.Cli.Common.defaultEngine).ToLowerInvariant()
            for verb in [ "train"; "eval"; "predict" ] do
                let _, out, _ = nn TestUtil.repoRoot [ verb; "--help" ]
                let line = out.Split('\n') |> Array.tryFind (fun l -> l.TrimStart().StartsWith "--engine")
                match line with
                | Some l -> Expect.stringContains l (sprintf "default: %s" dflt) (sprintf "nn %s --help: %s" verb l)
                | None -> failtestf "nn %s --help does not describe --engine" verb
        }
    ]
