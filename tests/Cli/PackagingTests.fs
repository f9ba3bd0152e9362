/// What `dotnet pack` makes, read from the projects as MSBuild evaluates them (the packing itself, the install
/// and a training run of the installed tool are in .ci/run: too slow for the test suite).
module Nn.Tests.Cli.Packaging

open System
open System.Diagnostics
open System.IO
open System.Text.Json
open Expecto
open Nn.Tests

/// Properties of a project as `dotnet pack` evaluates it.
let private evaluate (project: string) (names: string list) =
    let psi =
        ProcessStartInfo("dotnet", WorkingDirectory = TestUtil.repoRoot, RedirectStandardOutput = true,
                         RedirectStandardError = true)
    let properties = names |> List.map (sprintf "-getProperty:%s")
    for a in [ "msbuild"; project; "-p:_IsPacking=true"; "-p:Configuration=Release" ] @ properties do
        psi.ArgumentList.Add a
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    p.WaitForExit()
    if p.ExitCode <> 0 then failtestf "dotnet msbuild %s failed:\n%s%s" project out.Result err.Result
    let props = JsonDocument.Parse(out.Result).RootElement.GetProperty "Properties"
    names |> List.map (fun n -> n, props.GetProperty(n).GetString()) |> Map.ofList

/// The projects of Dsl.sln and the embedding examples.
let private projects =
    let sln = File.ReadAllLines(Path.Combine(TestUtil.repoRoot, "Dsl.sln"))
    [ for l in sln do
        let m = Text.RegularExpressions.Regex.Match(l, "\"([^\"]+\\.(fs|cs)proj)\"")
        if m.Success then yield m.Groups[1].Value.Replace('\\', '/') ]
    @ [ "examples/embedding/CSharp/CSharp.csproj"; "examples/embedding/FSharp/FSharp.fsproj" ]

[<Tests>]
let tests =
    testList "Cli.Packaging" [
        test "only nn, Nn.Dsl, Nn.Runtime and Nn.Compiler are packed" {
            Expect.isGreaterThanOrEqual projects.Length 8 "the solution's projects and the examples"
            let packed =
                projects
                |> List.map (fun p -> evaluate p [ "IsPackable"; "PackageId" ])
                |> List.filter (fun props -> props["IsPackable"] = "true")
                |> List.map (fun props -> props["PackageId"])
                |> List.sort
            Expect.equal packed [ "Nn.Compiler"; "Nn.Dsl"; "Nn.Runtime"; "nn" ] "packable projects"
        }
        test "the nn tool is packed per platform, framework-dependent, this machine's platform among them" {
            let props =
                evaluate "src/Cli/Cli.fsproj"
                    [ "ToolPackageRuntimeIdentifiers"; "RuntimeIdentifiers"; "SelfContained"; "PackAsTool" ]
            let rids =
                props["ToolPackageRuntimeIdentifiers"].Split(';', StringSplitOptions.RemoveEmptyEntries) |> List.ofArray
            Expect.equal props["PackAsTool"] "true" "a tool"
            Expect.isFalse (List.contains "any" rids) "no package with every platform's native libraries"
            for rid in [ "linux-x64"; "linux-arm64"; "osx-arm64"; "win-x64" ] do
                Expect.contains rids rid (sprintf "a package for %s" rid)
            Expect.equal props["RuntimeIdentifiers"] props["ToolPackageRuntimeIdentifiers"]
                "restored for each platform when packing"
            Expect.equal props["SelfContained"] "false" "needs the .NET runtime, does not carry it"
        }
    ]
