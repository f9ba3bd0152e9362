/// src/Cli/Launch.fs: the native command started by ./nn's sh prologue (NN_CHECKOUT set) runs when every source listed
/// at publish time is older than the list, and otherwise hands its command line to ./nn's bash part (NN_LAUNCH=bash)
/// to rebuild. Checked on a made-up checkout whose `nn` is a stub that prints what it was given.
module Nn.Tests.Cli.Launch

open System
open System.IO
open Expecto
open Nn.Tests

/// A checkout in `dir`: the two props files, src/A.fs and src/B (a folder), listed in artifacts/nn/.sources, all an
/// hour older than the list; its `nn` prints `handed over`, NN_LAUNCH and its arguments.
let private checkout (dir: string) =
    let list = Path.Combine(dir, "artifacts", "nn", ".sources")
    Directory.CreateDirectory(Path.GetDirectoryName list) |> ignore
    Directory.CreateDirectory(Path.Combine(dir, "src", "B")) |> ignore
    for f in [ "Directory.Build.props"; "Directory.Packages.props"; "src/A.fs" ] do
        File.WriteAllText(Path.Combine(dir, f), "")
    File.WriteAllLines(list, [ "src"; "src/A.fs"; "src/B" ])
    let hourAgo = DateTime.UtcNow.AddHours -1.0
    for f in [ "Directory.Build.props"; "Directory.Packages.props"; "src/A.fs" ] do
        File.SetLastWriteTimeUtc(Path.Combine(dir, f), hourAgo)
    for d in [ "src/B"; "src" ] do
        Directory.SetLastWriteTimeUtc(Path.Combine(dir, d), hourAgo)
    let stub = Path.Combine(dir, "nn")
    File.WriteAllText(stub, "echo \"handed over $NN_LAUNCH $*\"\n")
    dir

let private newer (dir: string) (entry: string) =
    File.SetLastWriteTimeUtc(Path.Combine(dir, entry), DateTime.UtcNow.AddHours 1.0)

[<Tests>]
let tests =
    testList "Cli.Launch" [
        test "every listed source older than the list: unchanged" {
            TestUtil.withTempDir "nn-launch-" (fun dir ->
                Expect.isTrue (Nn.Cli.Launch.unchanged (checkout dir)) "unchanged")
        }

        test "an edited file, a folder with a new or deleted file, a props file: changed" {
            for entry in [ "src/A.fs"; "src/B"; "Directory.Packages.props" ] do
                TestUtil.withTempDir "nn-launch-" (fun dir ->
                    newer (checkout dir) entry
                    Expect.isFalse (Nn.Cli.Launch.unchanged dir) entry)
        }

        test "a listed entry gone, no list, an empty list: changed (the bash part looks exactly)" {
            TestUtil.withTempDir "nn-launch-" (fun dir ->
                File.Delete(Path.Combine(checkout dir, "src", "A.fs"))
                Expect.isFalse (Nn.Cli.Launch.unchanged dir) "entry gone")
            TestUtil.withTempDir "nn-launch-" (fun dir ->
                File.Delete(Path.Combine(checkout dir, "artifacts", "nn", ".sources"))
                Expect.isFalse (Nn.Cli.Launch.unchanged dir) "no list")
            TestUtil.withTempDir "nn-launch-" (fun dir ->
                File.WriteAllText(Path.Combine(checkout dir, "artifacts", "nn", ".sources"), "")
                Expect.isFalse (Nn.Cli.Launch.unchanged dir) "empty list")
        }

        test "the command hands its arguments to ./nn's bash part when a source changed, and runs when none did" {
            TestUtil.withTempDir "nn-launch-" (fun dir ->
                let root = checkout dir
                let code, out, _ = TestUtil.runNn [ "NN_CHECKOUT", root ] root [ "--version" ]
                Expect.equal (code, out.Trim()) (0, "nn " + Nn.Cli.Program.version) "unchanged: runs"
                newer root "src/A.fs"
                let code, out, _ = TestUtil.runNn [ "NN_CHECKOUT", root ] root [ "check"; "a b.nn"; "$HOME" ]
                Expect.equal (code, out.Trim()) (0, "handed over bash check a b.nn $HOME") "changed: handed over"
                let code, out, _ = TestUtil.runNn [] root [ "--version" ]
                Expect.equal (code, out.Trim()) (0, "nn " + Nn.Cli.Program.version) "no NN_CHECKOUT: no check")
        }
    ]
