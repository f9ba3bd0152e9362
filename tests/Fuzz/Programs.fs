/// Programs for the fuzzer, each made from a seed: mutated example programs, generated well-formed programs and random
/// layer pipelines. The same seed gives the same text. Each is compiled in process and, when it compiles, summarised
/// and its training step planned (as `nn summary` and `nn graph --step train --plan` do); a sample runs through `nn`.
module Nn.Tests.Fuzz.Programs

open System
open System.IO
open FsCheck
open FsCheck.FSharp
open Nn.Compiler
open Nn.Tests
open Nn.Tests.Generators
open Nn.Tests.TestUtil

let private examples = Path.Combine(repoRoot, "examples")

let private exampleTexts =
    Directory.GetFiles(examples, "*.nn") |> Array.sort |> Array.map (fun f -> Path.GetFileName f, File.ReadAllText f)

/// Examples whose data is small enough for `nn train --set epochs=1` within the time limit (no MNIST).
let smallExamples = [| "xor.nn"; "iris.nn"; "regression.nn" |]

let private tokenRx = Text.RegularExpressions.Regex(@"\w+|[^\w\s]|\s+")

let private pieces =
    [| "("; ")"; "["; "]"; "{"; "}"; "|>"; ">>"; "@"; "fun"; "let"; "param"; "0"; "-1"; "1e9"; "\""; "*"; "x"; "n"
       ".["; ".." |]

/// Delete, insert, duplicate or swap characters or whole tokens of `text`.
let mutateText (rnd: Random) (text: string) =
    let tokens = ResizeArray(tokenRx.Matches(text) |> Seq.map (fun m -> m.Value))
    for _ in 1 .. 1 + rnd.Next 4 do
        let i = rnd.Next(max 1 tokens.Count)
        match rnd.Next 6 with
        | 0 when tokens.Count > 0 -> tokens.RemoveAt i
        | 1 -> tokens.Insert(i, pieces[rnd.Next pieces.Length])
        | 2 when tokens.Count > 0 -> tokens.Insert(i, tokens[i])
        | 3 when tokens.Count > 1 ->
            let j = rnd.Next tokens.Count
            let t = tokens[i]
            tokens[i] <- tokens[j]
            tokens[j] <- t
        | 4 when tokens.Count > 0 && tokens[i].Length > 1 ->
            let s = tokens[i]
            let k = rnd.Next s.Length
            tokens[i] <- s.Remove(k, 1)
        | _ when tokens.Count > 0 && tokens[i].Length > 0 -> tokens[i] <- tokens[i] + tokens[i].Substring(0, 1)
        | _ -> ()
    String.Concat tokens

let private numberRx = Text.RegularExpressions.Regex(@"(?<![\w.])\d+(\.\d+)?(e-?\d+)?(?![\w.])")

let private extremes =
    [| "0"; "1"; "-1"; "0.0"; "2"; "3"; "7"; "100000"; "46341"; "2147483647"; "2147483648"; "99999999999"; "1e9"
       "1e30"; "1e-30"; "1e400"; "0.5"; "1.5"; "-0.5"; "255"; "4096"; "65536" |]

/// Replace one to three numbers of `text` with extreme ones (sizes, rates, counts), keeping the syntax.
let extremeNumbers (rnd: Random) (text: string) =
    let ms = numberRx.Matches text |> Seq.toArray
    if ms.Length = 0 then text
    else
        let chosen = Array.init (1 + rnd.Next 3) (fun _ -> ms[rnd.Next ms.Length].Index) |> Set.ofArray
        numberRx.Replace(text, (fun (m: Text.RegularExpressions.Match) ->
            if chosen.Contains m.Index then extremes[rnd.Next extremes.Length] else m.Value))

/// An example program (any, or only one of `among`) mutated by the seed: its file name and text. With `numbers`,
/// every third seed keeps the syntax and changes numbers only, so more programs get past the parser.
let mutatedWith (numbers: bool) (among: string[] option) (seed: int) =
    let rnd = Random(seed)
    let pool =
        match among with
        | Some names -> exampleTexts |> Array.filter (fun (n, _) -> Array.contains n names)
        | None -> exampleTexts
    let name, text = pool[rnd.Next pool.Length]
    name, (if numbers && seed % 3 = 0 then extremeNumbers rnd text else mutateText rnd text)

/// An example program (any, or only one of `among`) mutated by the seed, numbers pushed to extremes included.
let mutatedFrom (among: string[] option) (seed: int) = mutatedWith true among seed

/// An example program with characters or tokens mutated by the seed (the robustness tests' mutator: numbers stay,
/// so no mutation makes a program that is slow to build, such as `repeat 46341`).
let mutate (seed: int) = snd (mutatedWith false None seed)

/// A small network of random layers and sizes: mostly ill-shaped, so the shape checks and their messages run.
let private layerGen =
    let size = Gen.elements [ 1; 2; 3; 4; 8; 28 ]
    Gen.oneof [
        size |> Gen.map (sprintf "dense %d")
        Gen.elements [ "relu"; "tanh"; "softmax"; "flatten"; "transpose"; "layerNorm"; "batchNorm"; "standardize"
                       "dropout 0.5" ]
        size |> Gen.map (sprintf "maxPool2d %d")
        Gen.two size |> Gen.map (fun (a, b) -> sprintf "reshape [%d; %d]" a b)
        Gen.elements [ 0; 1; 2; 3; -1 ] |> Gen.map (sprintf "mean %d")
        size |> Gen.map (sprintf "(fun h -> h + h.[*, 0..%d])")
        size |> Gen.map (sprintf "repeat 2 (dense %d)") ]

let networkGen =
    gen {
        let! dims = Gen.elements [ "[n, 4]"; "[n, 28, 28]"; "[n, 8, 8, 1]"; "[n]"; "[4, 4]" ]
        let! out = Gen.elements [ "[n, 4]"; "[n, 10]"; "[n, 2, 2]"; "[n, 1]" ]
        let! layers = Gen.listOfLength 4 layerGen
        return sprintf "network t (x: %s) : %s =\n    x |> %s\n" dims out (String.concat " |> " layers)
    }

/// A train block for a random pipeline, so that some of them plan a training step too.
let private trainFor =
    "\ntrain t {\n    data = rows [ [1; 2; 3; 4], [0; 1; 0; 1]\n                  [4; 3; 2; 1], [1; 0; 1; 0] ]\n"
    + "    loss = mse\n    optimizer = adam {}\n    batch = 2\n    epochs = 1\n}\n"

/// One value of `g` for the seed (FsCheck's generator at a fixed size with a seeded random source).
let sample (size: int) (seed: int) (g: Gen<'a>) =
    (Gen.sampleWithSeed (Rnd(uint64 seed, 0x9E3779B97F4A7C15UL)) size 1 g)[0]

/// The program of a seed, by a kind chosen from the seed: its kind, the example it came from (if any) and its text.
let program (seed: int) =
    match seed % 4 with
    | 0 | 1 ->
        let name, text = mutatedFrom None seed
        "mutated " + name, text
    | 2 ->
        let (WellFormedProgram p) = sample 20 seed (Arbitraries.Program().Generator)
        "generated", Nn.Dsl.Printer.formatProgram p
    | _ ->
        let net = sample 10 seed networkGen
        "pipeline", (if seed % 8 = 3 then net + trainFor else net)

/// The file name given to programs compiled in process (relative data paths resolve under examples/).
let file = Path.Combine(examples, "fuzz.nn")

/// Compile `text`, then summarise every network and plan the memory and the fused step of every train block.
/// None when it all succeeds, Some code for the first diagnostic of a rejected program.
let check (text: string) : string option =
    match Compile.compileText file text with
    | Error [] -> Some ""
    | Error ds ->
        for d in ds do Nn.Dsl.Diagnostic.render (fun f -> if f = file then Some text else None) d |> ignore
        Some ds.Head.Code
    | Ok c ->
        for net in c.Networks do Nn.Cli.Commands.Summary.describe c net |> ignore
        let mutable code = None
        for (td, env) in c.Trains do
            match c.Networks |> List.tryFind (fun n -> n.Decl.Name = td.Network) with
            | Some net ->
                try
                    let cfg = TrainPlan.config c (td, env)
                    let graphs = Checkpoint.graphsFor c (Some(td, env)) net
                    // optimizes and plans the fused training and evaluation steps
                    MemoryPlan.estimate graphs cfg.Batch |> ignore
                with e ->
                    match Oracle.expectedCode e with
                    | Some c -> code <- Some c
                    | None -> reraise ()
            | None -> ()
        code

/// One program case in process.
let runInProcess (seed: int) : Oracle.Record =
    let kind, text = program seed
    let outcome, seconds = Oracle.inProcess (fun () -> check text)
    { Kind = "program: " + kind; Seed = seed; Where = "in process"; Outcome = outcome; Seconds = seconds; PeakKb = 0L }

/// One program case as `nn` processes through `nn check` and `nn train --set epochs=1`: for an odd seed a mutated
/// small example (with its data), for an even one the program of the seed (MNIST is not there: its examples stop at
/// NN0501). One record per process.
let runAsProcess (seed: int) : Oracle.Record list =
    let name, text =
        if seed % 2 = 1 then mutatedFrom (Some smallExamples) seed
        else "p.nn", snd (program seed)
    let dir = Oracle.caseDir "program" seed
    try
        Directory.CreateDirectory(Path.Combine(dir, "data")) |> ignore
        File.Copy(Path.Combine(examples, "data", "iris.csv"), Path.Combine(dir, "data", "iris.csv"))
        File.WriteAllText(Path.Combine(dir, name), text)
        [ for args in [ [ "check"; name ]; [ "train"; name; "--set"; "epochs=1"; "--out"; "run"; "--quiet" ] ] ->
            let outcome, seconds, peak, _ = Oracle.nnProcess dir args
            { Kind = sprintf "program: nn %s %s" args.Head name; Seed = seed; Where = "nn"; Outcome = outcome
              Seconds = seconds; PeakKb = peak } ]
    finally
        Oracle.cleanUp dir

/// The text to replay a program case by its seed.
let describe (seed: int) = snd (program seed)
