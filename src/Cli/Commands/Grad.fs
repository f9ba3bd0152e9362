/// `nn grad FILE`: one batch's gradient norm per parameter, next to the parameter's own norm — the
/// vanishing/exploding-gradient diagnosis.
module Nn.Cli.Commands.Grad

open System
open System.Collections.Generic
open Nn.Runtime.Data
open Nn.Runtime.Checkpoints
open Nn.Compiler
open Nn.Cli
open Nn.Cli.Common

let help =
    """Usage: nn grad FILE [--network NAME] [--train NAME] [--weights W] [--batch K] [--out G.safetensors]
               [--set FIELD=VALUE]...

Runs one batch (the first K training rows) forward and backward with the loss and data of a train block and prints,
for every parameter, the norm of its gradient, the norm of its value and their ratio. Gradients that shrink by
orders of magnitude towards the first layers are vanishing; ratios far above 1 are exploding.
  --network NAME   differentiate this network with the train block's loss and data (any network with the same input
                   and output shapes: compare `deep` with `deep_sigmoid` in examples/residual.nn)
  --train NAME     the train block of network NAME (default: the network's own, or the first)
  --weights W      the values to differentiate at (a checkpoint or run folder; default: the initial values)
  --batch K        rows in the batch (default: the train block's batch)
  --out G          write the gradients to a safetensors file, under the parameter paths

Exit codes: 0 ok, 1 an error in the program, the data, the weights or the command line, 2 internal.

Examples:
  nn grad examples/residual.nn
  nn grad examples/residual.nn --network deep_sigmoid
  nn grad examples/xor.nn --weights examples/runs/xor/latest --out grads.safetensors"""

let private spec = [ "--network", Value; "--train", Value; "--weights", Value; "--batch", Value; "--out", Value; "--set", Many ]

let private inv = Globalization.CultureInfo.InvariantCulture
let private sci (x: float) = x.ToString("0.000e+00", inv)

/// A sentence on the spread of the weight matrices' gradient norms (first layers vs last).
let diagnosis (report: Gradients.Report) =
    let weights = report.Params |> List.filter (fun p -> p.Shape.Length >= 2)
    match weights with
    | [] | [ _ ] -> None
    | _ ->
        let first, last = List.head weights, List.last weights
        let small = weights |> List.minBy (fun p -> p.GradNorm)
        let large = weights |> List.maxBy (fun p -> p.GradNorm)
        let spread = if small.GradNorm > 0.0 then large.GradNorm / small.GradNorm else infinity
        let text =
            sprintf "weight gradients range from %s (%s) to %s (%s)" (sci small.GradNorm) small.Name (sci large.GradNorm) large.Name
        if spread > 100.0 && last.GradNorm > 100.0 * first.GradNorm then
            Some(text + sprintf "; the first layer's is %s of the last's: vanishing gradients" (sci (first.GradNorm / last.GradNorm)))
        elif spread > 100.0 && first.GradNorm > 100.0 * last.GradNorm then
            Some(text + sprintf "; the first layer's is %s times the last's: exploding gradients" (sci (first.GradNorm / last.GradNorm)))
        else Some(text + "; no sign of vanishing or exploding gradients")

let run (a: Args) =
    let file = fileArg "grad" a
    let c = compile file
    let net = network c (match a.Get "--network" with Some n -> Some n | None -> a.Get "--train")
    let td, env =
        match a.Get "--train" with
        | Some t -> let td, env = trainBlock c (Some t) in { td with Network = net.Decl.Name }, env
        | None ->
            match Checkpoint.blockFor c net.Decl.Name true with
            | Some b -> b
            | None -> fail (sprintf "`nn grad` needs a train block (for the loss and the data), but %s has none" file)
    let plan = TrainPlan.create c (TrainPlan.withOverrides td (overrides (a.All "--set")), env)
    let values = Dictionary<string, HostTensor>(plan.Initial)
    match a.Get "--weights" with
    | Some w ->
        let g = plan.Graphs
        for KeyValue(k, v) in Checkpoint.readWeights w (Seq.append g.Predict.Params g.Predict.States) do values[k] <- v
    | None -> ()
    let rows = a.Int "--batch" |> Option.defaultValue plan.Config.Batch
    let report = Gradients.compute plan values rows
    printfn "gradients of `%s` (%s loss) on %d rows at %s: loss %s"
        net.Decl.Name plan.Config.Loss report.Rows (match a.Get "--weights" with Some w -> w | None -> "the initial values")
        (Progress.number report.Loss)
    printfn ""
    let rowsOut =
        [ for p in report.Params ->
              [ p.Name; HostTensor.FormatShape p.Shape; sci p.GradNorm; sci p.ValueNorm
                (if p.ValueNorm > 0.0 then sci (p.GradNorm / p.ValueNorm) else "-") ] ]
    Summary.table [ "parameter"; "shape"; "|grad|"; "|value|"; "|grad|/|value|" ] rowsOut |> List.iter (printfn "%s")
    match diagnosis report with
    | Some d ->
        printfn ""
        printfn "%s" d
    | None -> ()
    match a.Get "--out" with
    | Some path ->
        let tensors = report.Params |> List.map (fun p -> KeyValuePair(p.Name, RawTensor.FromHost p.Gradient))
        let meta = dict [ "network", net.Decl.Name; "loss", report.Loss.ToString("R", inv); "rows", string report.Rows ]
        SafeTensors.Write(path, tensors, Dictionary meta)
        printfn "wrote the gradients to %s" path
    | None -> ()
    0

let command: Command =
    { Name = "grad"
      Summary = "gradient norms per parameter on one batch (vanishing/exploding gradients)"
      Help = help
      Run = fun args -> guarded (fun () -> run (parseArgs "grad" spec args)) }
