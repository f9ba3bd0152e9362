/// The F# projects' folders form a pipeline: in the compile order (which is the order of dependencies, since F# sees
/// only earlier files) each folder's files come together, so no folder both uses and is used by another. The project
/// root is exempt: it holds what comes first or the entry point last (src/Cli's Program.fs).
module Nn.Tests.Compiler.FolderOrderTests

open System.IO
open System.Text.RegularExpressions
open Expecto

/// The folder of each compiled file, in compile order ("" for the project root).
let private compileFolders (fsproj: string) =
    [ for m in Regex.Matches(File.ReadAllText fsproj, "<Compile Include=\"([^\"]+)\"") ->
        Path.GetDirectoryName(m.Groups[1].Value.Replace('\\', '/')).Replace('\\', '/') ]

/// The folders that come back after another folder's files: each with the folder that split it.
let private splitFolders (folders: string list) =
    let runs = folders |> List.filter ((<>) "") |> List.fold (fun acc f ->
        match acc with
        | last :: _ when last = f -> acc
        | _ -> f :: acc) [] |> List.rev
    [ for i, f in List.indexed runs do
        if List.contains f runs[.. i - 1] then yield f, runs[i - 1] ]

[<Tests>]
let tests =
    testList "Compiler.Folders" [
        test "a folder that comes back in the compile order is found" {
            Expect.equal (splitFolders [ "A"; "A"; "B"; "A"; ""; "C" ]) [ "A", "B" ] "A is split by B"
            Expect.isEmpty (splitFolders [ ""; "A"; "B"; "B"; "C"; "" ]) "a pipeline with the root at both ends"
        }
        for project in [ "Dsl/Dsl.fsproj"; "Compiler/Compiler.fsproj"; "Cli/Cli.fsproj" ] do
            test (sprintf "each folder of src/%s is compiled in one piece" project) {
                let folders = compileFolders (Path.Combine(Nn.Tests.TestUtil.repoRoot, "src", project))
                Expect.isGreaterThanOrEqual (folders |> List.distinct |> List.length) 2 "the project has folders"
                Expect.isEmpty (splitFolders folders) "folders split by another folder (folder, the one in between)"
            }
    ]
