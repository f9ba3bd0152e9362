/// `nn predict FILE --weights W --input X`: run a trained network on new inputs.
module Nn.Cli.Commands.Predict

open System
open System.IO
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Compiler
open Nn.Cli
open Nn.Cli.Common

let help =
    """Usage: nn predict FILE --weights W --input X.(npy|csv|idx) [--out Y.(csv|npy)] [--network NAME]
                  [--threads N] [--engine fused|reference]

Runs the network of FILE with the weights W (a .safetensors file, or a run folder: the weights its training ended
with, best.safetensors when early stopping restored an earlier epoch, else checkpoint.safetensors) on the rows of X
and prints a table of the outputs (the first 20 rows); classifiers also show the predicted class, named after the
classes of the training data. The shape of X's rows is checked against the network's input first.
  --input X      .npy (any numeric dtype), .csv (with a header; the train block's feature columns when it reads
                 a CSV file, else every column), or IDX (.idx, *-ubyte, optionally .gz)
  --out Y        write every row: .csv (one column per output, plus `predicted` for classifiers) or .npy
  --network NAME the network to run (default: the one of the first train block, or the only one)

Exit codes: 0 ok, 1 an error in the program, the input, the weights or the command line, 2 internal.

Examples:
  nn predict examples/iris.nn --weights examples/runs/iris/20250101-120000 --input examples/data/iris.csv
  nn predict examples/xor.nn --weights run/checkpoint.safetensors --input points.npy --out predictions.csv"""

let private spec = [ "--weights", Value; "--input", Value; "--out", Value; "--network", Value; "--threads", Value; "--engine", Value ]

let private inv = Globalization.CultureInfo.InvariantCulture

/// Read the input rows by the file's extension.
let private readInput (block: (Nn.Dsl.TrainDecl * Nn.Compiler.Env) option) (c: Compile.Compiled) (path: string) =
    let lower = path.ToLowerInvariant()
    if lower.EndsWith ".npy" then Npy.ReadHost path
    elif lower.EndsWith ".csv" || lower.EndsWith ".csv.gz" then
        let features =
            match block |> Option.map (TrainPlan.config c) with
            | Some { Data = TrainConfig.Csv(_, cols, _) } when not cols.IsEmpty ->
                cols |> List.map (function TrainConfig.ByName n -> ColumnRef.ByName n | TrainConfig.ByIndex i -> ColumnRef.ByIndex i) |> ResizeArray :> Collections.Generic.IReadOnlyList<_>
            | _ -> null
        (Csv.Read(path, CsvSpec(features, null))).Features
    elif lower.EndsWith ".idx" || lower.Contains "-ubyte" then Idx.Read path
    else fail (sprintf "--input: `%s` is not .npy, .csv or IDX (.idx, *-ubyte)" path)

/// The input checked against the network's input shape (a single row without the batch axis is accepted).
let private checkShape (net: Compile.NetworkInfo) (file: string) (x: HostTensor) =
    let input = snd (Compile.forward net (GraphBuilder()) false).Inputs.Head
    let dims = input.Shape.ToArray()
    let fits (shape: int[]) = Seq.forall2 (fun (d: Dim) s -> not d.IsFixed || d.Size = s) dims[1..] shape
    if x.Rank = dims.Length && fits x.Shape[1..] then x
    elif x.Rank = dims.Length - 1 && fits x.Shape then HostTensor(Array.append [| 1 |] x.Shape, x.Data)
    else
        let rowShape = HostTensor.FormatShape(ReadOnlySpan(if x.Rank = 0 then [||] else x.Shape[1..]))
        let decl = net.Decl.Inputs.Head
        Nn.Dsl.Diagnostic.fail "NN0550" decl.Span
            (sprintf "the rows of %s have the shape %s, but the network `%s` takes %O (rows of %O)"
                (Path.GetFileName file) rowShape net.Decl.Name input.Shape (Shape(dims[1..])))

/// Class names and each row's class, for classifiers.
let private classify (loss: string) (names: string[] option) (out: HostTensor) =
    let k = out.RowSize
    let softmax (row: float32[]) =
        let m = Array.max row
        let e = row |> Array.map (fun v -> exp (float (v - m)))
        let s = Array.sum e
        e |> Array.map (fun v -> v / s)
    match loss with
    | "binaryCrossEntropy" when k = 1 ->
        let names = match names with Some n when n.Length = 2 -> n | _ -> [| "0"; "1" |]
        Some(names, fun (row: float32[]) -> if row[0] >= 0.5f then names[1], float row[0] else names[0], 1.0 - float row[0])
    | "softmaxCrossEntropy" | "crossEntropy" when k > 1 ->
        let names = match names with Some n when n.Length = k -> n | _ -> Array.init k string
        Some(names, fun row ->
            let p = if loss = "softmaxCrossEntropy" then softmax row else Array.map float row
            let best = Array.IndexOf(p, Array.max p)
            names[best], p[best])
    | _ -> None

let run (a: Args) =
    let file = fileArg "predict" a
    let weights = match a.Get "--weights" with Some w -> w | None -> fail "`nn predict` needs --weights W (a checkpoint or a run folder)"
    let input = match a.Get "--input" with Some x -> x | None -> fail "`nn predict` needs --input X.(npy|csv|idx)"
    applyThreads a
    let c = compile file
    let net = network c (a.Get "--network")
    let block = Checkpoint.blockFor c net.Decl.Name false
    let graphs = Checkpoint.graphsFor c block net
    let values = Checkpoint.readWeights weights (Seq.append graphs.Predict.Params graphs.Predict.States)
    let x = checkShape net input (readInput block c input)
    let exec = executor (engineOf a) graphs (Initializers.ForGraph(graphs.Train, 0UL))
    exec.Load values
    let out = exec.Predict x
    let classes = classify graphs.Spec.Loss (Checkpoint.classNames weights) out
    match a.Get "--out" with
    | Some y when y.ToLowerInvariant().EndsWith ".csv" -> Csv.WritePredictions(y, out, classes |> Option.map fst |> Option.toObj)
    | Some y when y.ToLowerInvariant().EndsWith ".npy" -> Npy.Write(y, out)
    | Some y -> fail (sprintf "--out: `%s` should end in .csv or .npy" y)
    | None -> ()
    let shown = min out.Rows 20
    let cells (t: HostTensor) i =
        let v = t.Row(i).ToArray()
        if v.Length > 10 then sprintf "[%d values]" v.Length
        else v |> Array.map (fun f -> (float f).ToString("0.####", inv)) |> String.concat " "
    let header = [ "row"; "input"; "output" ] @ (if classes.IsSome then [ "class"; "p" ] else [])
    let rows =
        [ for i in 0 .. shown - 1 ->
              [ string (i + 1); cells x i; cells out i ]
              @ (match classes with
                 | Some(_, pick) -> let name, p = pick (out.Row(i).ToArray()) in [ name; p.ToString("0.###", inv) ]
                 | None -> []) ]
    printfn "`%s` on %d row%s of %s" net.Decl.Name out.Rows (if out.Rows = 1 then "" else "s") (Path.GetFileName input)
    Summary.table header rows |> List.iter (printfn "%s")
    if out.Rows > shown then
        printfn "... %d more rows%s" (out.Rows - shown) (if a.Has "--out" then "" else " (write them all with --out Y.csv)")
    match a.Get "--out" with
    | Some y -> printfn "wrote %d rows to %s" out.Rows y
    | None -> ()
    0

let command: Command =
    { Name = "predict"
      Summary = "run trained weights on new inputs (npy, csv, idx) and print or write the outputs"
      Help = help
      Run = fun args -> guarded (fun () -> run (parseArgs "predict" spec args)) }
