/// Helpers for the diagnostic examples: a program's text in, its exact rendered diagnostics out.
module Nn.Tests.Compiler.DiagnosticsHelpers

open System.IO
open Expecto
open Nn.Dsl
open Nn.Compiler
open Nn.Tests.TestUtil

/// Programs are compiled as if they were `examples/test.nn`, so data paths such as "data/iris.csv" resolve.
let file = Path.Combine(repoRoot, "examples", "test.nn")

/// A diagnostic rendered as the command line prints it, with file names shown without their folder.
let internal render (text: string) (d: Diagnostic) =
    let short (s: Span) = s.WithFile(Path.GetFileName s.File)
    let d =
        { d with
            Span = short d.Span
            Notes = d.Notes |> List.map (fun n -> { n with Span = Option.map short n.Span }) }
    Diagnostic.render (fun f -> if f = "test.nn" then Some text else None) d

/// The rendered diagnostics of a program that the compiler must reject.
let errors (text: string) =
    match Compile.compileText file text with
    | Ok _ -> failtest "expected the program to be rejected by the compiler"
    | Error ds -> ds |> List.map (render text) |> String.concat "\n"

/// The rendered warnings of a program that compiles.
let warnings (text: string) =
    match Compile.compileText file text with
    | Error ds ->
        failtestf "expected the program to compile, got:\n%s" (ds |> List.map (render text) |> String.concat "\n")
    | Ok c -> c.Warnings |> List.map (render text) |> String.concat "\n"

/// The rendered diagnostic of a program that compiles but whose first `train` block cannot be planned
/// (its data does not fit the network); the data is read by TrainPlan.create as `nn train` would.
let planErrors (text: string) =
    match Compile.compileText file text with
    | Error ds ->
        failtestf "expected the program to compile, got:\n%s" (ds |> List.map (render text) |> String.concat "\n")
    | Ok c ->
        try
            TrainPlan.create c c.Trains.Head |> ignore
            failtest "expected TrainPlan.create to reject the data"
        with DiagnosticException d -> render text d

/// A test: the program (a triple-quoted string starting on a new line) must give exactly `expected`.
let case name (check: string -> string) (program: string) (expected: string) =
    test name {
        let program = program.TrimStart('\n')
        Expect.equal (check program) (expected.TrimStart('\n')) "rendered diagnostics"
    }

/// The code at the start of every rendered diagnostic of a list of tests' expectations (for the coverage test).
let codesIn (expected: string seq) =
    expected
    |> Seq.collect (fun e ->
        System.Text.RegularExpressions.Regex.Matches(e, @"error (NN\d{4})") |> Seq.map (fun m -> m.Groups[1].Value))
    |> Set.ofSeq

/// Every compiler code (NN02xx, NN03xx, NN04xx) and TrainPlan's data codes (NN055x) has at least one example
/// above: the expectations of the Diagnostics*Tests files are scanned for `error NNxxxx`.
[<Tests>]
let coverage =
    test "Compiler.Diagnostics: every compiler error code has an example" {
        let dir = Path.Combine(repoRoot, "tests", "Compiler")
        let shown = Directory.GetFiles(dir, "Diagnostics*Tests.fs") |> Seq.map File.ReadAllText |> codesIn
        let required =
            [ for c in 201 .. 217 -> sprintf "NN%04d" c ] @ [ for c in 301 .. 311 -> sprintf "NN%04d" c ]
            @ [ for c in 220 .. 224 -> sprintf "NN%04d" c ]
            @ [ for c in 401 .. 415 -> sprintf "NN%04d" c ] @ [ "NN0430"; "NN0431"; "NN0432" ]
            @ [ "NN0445"; "NN0446"; "NN0447" ]
            @ [ "NN0550"; "NN0551"; "NN0552" ]
        let missing = required |> List.filter (fun c -> not (shown.Contains c))
        Expect.isEmpty missing "codes without an example program"
    }
