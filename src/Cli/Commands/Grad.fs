/// `nn grad FILE`: one batch's gradient norm per parameter, next to the parameter's own norm — the
/// vanishing/exploding-gradient diagnosis.
module internal Nn.Cli.Commands.Grad

open System
open System.Collections.Generic
open Nn.Runtime.Data
open Nn.Runtime.Checkpoints
open Nn.Compiler
open Nn.Cli
open Nn.Cli.Common

let help =
    """Usage: nn grad FILE [--network NAME] [--train NAME] [--weights W] [--batch K] [--out G.safetensors]
               [--set NAME=VALUE]...

Runs one batch (the first K training rows) forward and backward with the loss and data of a train block and prints,
for every parameter, the norm of its gradient, the norm of its value and their ratio, then judges every weight layer
(every parameter of two or more axes): exploding when |grad|/|value| is above 10 or its |grad| above 100 times the
last weight layer's (or not finite), vanishing when its |grad| is below 1/100 of the last weight layer's. It names
those layers and gives the trend: the factor by which gradient norms change per layer towards the input.
For a sequence input [n, t, f] (three axes whose steps the network takes apart, as rnn, lstm and gru do), it prints
the gradient through time: the norm of the loss's gradient with respect to the input at each step, and judges the
first step against the last with the same limits (vanishing below 1/100, exploding above 100 times), as a plain
RNN's gradient vanishes over long sequences.
  --network NAME   differentiate this network with the train block's loss and data (any network with the same input
                   and output shapes: compare `deep` with `deep_sigmoid` in examples/residual.nn)
  --train NAME     the train block of network NAME (default: the network's own, or the first)
  --weights W      the values to differentiate at (a checkpoint or run folder; default: the initial values)
  --batch K        rows in the batch (default: the train block's batch)
  --out G          write the gradients to a safetensors file, under the parameter paths
  --set NAME=VALUE a field of the train block or a top-level `let` of FILE (after the --set values of lets that the
                   run of --weights was trained with)

Exit codes: 0 ok, 1 an error in the program, the data, the weights or the command line, 2 internal.

Examples:
  nn grad examples/residual.nn
  nn grad examples/residual.nn --network deep_sigmoid
  nn grad examples/adding.nn --network rnn
  nn grad examples/xor.nn --weights examples/runs/xor/latest --out grads.safetensors"""

let private spec =
    [ "--network", Value; "--train", Value; "--weights", Value; "--batch", Value; "--out", Value; "--set", Many ]

let private inv = Globalization.CultureInfo.InvariantCulture
let private sci (x: float) = x.ToString("0.000e+00", inv)

let private names (layers: Gradients.LayerVerdict list) =
    layers |> List.map (fun l -> l.Param.Name) |> String.concat ", "

let private range (values: float list) =
    let lo, hi = List.min values, List.max values
    if lo = hi then sci lo else sprintf "%s to %s" (sci lo) (sci hi)

/// The verdict in sentences: the spread and trend of the weight gradients, then which layers explode or vanish
/// and why (every weight layer is judged: docs/language.md, `nn grad`).
let diagnosis (report: Gradients.Report) : string list =
    let v = Gradients.judge report
    let weights = v.Layers |> List.map (fun l -> l.Param)
    match weights with
    | [] -> []
    | _ ->
        let small = weights |> List.minBy (fun p -> p.GradNorm)
        let large = weights |> List.maxBy (fun p -> p.GradNorm)
        let trend =
            match v.PerLayer with
            | Some f -> sprintf "; towards the input they change by ×%s per layer" (f.ToString("0.###", inv))
            | None -> ""
        let spread =
            sprintf "weight gradients range from %s (%s) to %s (%s)%s"
                (sci small.GradNorm) small.Name (sci large.GradNorm) large.Name trend
        let n = v.Layers.Length
        let ratioLimit, depthLimit = Gradients.Thresholds.explodingRatio, Gradients.Thresholds.depthFactor
        let exploding =
            match v.Exploding with
            | [] -> []
            | layers ->
                let above limit (values: float list) = values |> List.filter (fun r -> r > limit)
                let why =
                    [ match above ratioLimit (layers |> List.choose (fun l -> l.Ratio)) with
                      | [] -> ()
                      | rs -> sprintf "|grad|/|value| %s, above %g" (range rs) ratioLimit
                      match above depthLimit (layers |> List.choose (fun l -> l.OfLast)) with
                      | [] -> ()
                      | rs -> sprintf "|grad| %s times the last layer's, above %g" (range rs) depthLimit
                      if layers |> List.exists (fun l -> not (Double.IsFinite l.Param.GradNorm)) then
                          "|grad| not finite" ]
                [ sprintf "exploding gradients in %d of %d weight layers (%s): %s"
                      layers.Length n (String.concat "; " why) (names layers)
                  "  try smaller initial weights (glorot, he), normalized inputs or layers (standardize, batchNorm, \
layerNorm), gradient clipping (`clip = norm 1.0`) or a smaller learning rate" ]
        let vanishing =
            match v.Vanishing with
            | [] -> []
            | layers ->
                let rs = layers |> List.choose (fun l -> l.OfLast)
                [ sprintf "vanishing gradients in %d of %d weight layers (|grad| %s of the last layer's, \
below 1/%g): %s"
                      layers.Length n (range rs) depthLimit (names layers)
                  "  try relu instead of sigmoid or tanh, residual connections, normalization (batchNorm, layerNorm) \
or he initialization" ]
        let healthy =
            if exploding.IsEmpty && vanishing.IsEmpty then
                [ sprintf "no sign of vanishing or exploding gradients: every weight layer's |grad|/|value| is at most \
%g and its |grad| within %g× of the last layer's" ratioLimit depthLimit ]
            else []
        spread :: exploding @ vanishing @ healthy

/// The steps shown in the table of a gradient through time: all of up to 12, else 10 spread evenly, both ends
/// included (0-based).
let shownSteps (t: int) =
    if t <= 12 then [ 0 .. t - 1 ]
    else [ 0..9 ] |> List.map (fun i -> int (System.Math.Round(float i * float (t - 1) / 9.0))) |> List.distinct

/// The gradient through time of one sequence input: a table of its norms per step and the verdict in sentences.
let throughTime (v: Gradients.TimeVerdict) : string list =
    let s = v.Steps
    let norms = Array.ofList s.Norms
    let last = Array.last norms
    let title =
        sprintf "gradient through time of the input `%s` %s (norm over the rows and features at each step):"
            s.Input s.Shape
    let rows =
        [ for i in shownSteps norms.Length ->
              [ string (i + 1); sci norms[i]; (if last > 0.0 then sci (norms[i] / last) else "-") ] ]
    let table = Summary.table [ "step"; "|grad|"; "of the last step's" ] rows
    let perStep =
        match v.PerStep with
        | Some f -> sprintf "; towards the first step they change by ×%s per step" (f.ToString("0.###", inv))
        | None -> ""
    let limit = Gradients.Thresholds.depthFactor
    let verdict =
        match v.State, v.FirstOfLast with
        | Gradients.Vanishing, Some r ->
            [ sprintf "vanishing gradients through time in `%s`: the first step's |grad| is %s of the last step's \
(below 1/%g)%s" s.Input (sci r) limit perStep
              "  early steps barely move the loss, so the network learns from them slowly if at all: a gated layer \
(lstm, gru) can learn to keep its state where rnn cannot; shorter sequences help too" ]
        | Gradients.Exploding, _ ->
            let why =
                match v.FirstOfLast with
                | Some r when Double.IsFinite r ->
                    sprintf "the first step's |grad| is %s times the last step's (above %g)" (sci r) limit
                | _ -> "|grad| not finite"
            [ sprintf "exploding gradients through time in `%s`: %s%s" s.Input why perStep
              "  try gradient clipping (`clip = norm 1.0`), lstm or gru instead of rnn, or a smaller learning rate" ]
        | _, Some r ->
            [ sprintf "no sign of vanishing or exploding gradients through time in `%s`: the first step's |grad| is \
%s of the last step's (within %g×)%s" s.Input (sci r) limit perStep ]
        | _, None -> [ sprintf "the last step of `%s` has no gradient: the loss does not depend on it" s.Input ]
    title :: table @ verdict

let run (a: Args) =
    let file = fileArg "grad" a
    // with --weights, the network as trained: the run's `--set`s of top-level lets, then the command line's
    let runSets = match a.Get "--weights" with Some w -> letSetsOf w | None -> []
    let sets = runSets @ a.All "--set"
    let c = compileForRun file runSets (a.All "--set")
    let net = network c (match a.Get "--network" with Some n -> Some n | None -> a.Get "--train")
    let td, env =
        match a.Get "--train" with
        | Some t -> let td, env = trainBlock c (Some t) in { td with Network = net.Decl.Name }, env
        | None ->
            match Checkpoint.blockFor c net.Decl.Name true with
            | Some b -> b
            | None -> fail (sprintf "`nn grad` needs a train block (for the loss and the data), but %s has none" file)
    let plan = TrainPlan.create c (TrainPlan.withOverrides td (overrides sets), env)
    let values = Dictionary<string, HostTensor>(plan.Initial)
    match a.Get "--weights" with
    | Some w ->
        let g = plan.Graphs
        for KeyValue(k, v) in Checkpoint.readWeights w (Seq.append g.Predict.Params g.Predict.States) do values[k] <- v
    | None -> ()
    let rows = a.Int "--batch" |> Option.defaultValue plan.Config.Batch
    let report = Gradients.compute plan values rows
    printfn "gradients of `%s` (%s loss) on %d rows at %s: loss %s"
        net.Decl.Name plan.Config.Loss.Name report.Rows
        (match a.Get "--weights" with Some w -> w | None -> "the initial values")
        (Progress.number report.Loss)
    printfn ""
    let states =
        (Gradients.judge report).Layers |> List.map (fun l -> l.Param.Name, l.State) |> Map.ofList
    let rowsOut =
        [ for p in report.Params ->
              [ p.Name; HostTensor.FormatShape p.Shape; sci p.GradNorm; sci p.ValueNorm
                (if p.ValueNorm > 0.0 then sci (p.GradNorm / p.ValueNorm) else "-")
                (match states.TryFind p.Name with
                 | Some Gradients.Exploding -> "exploding"
                 | Some Gradients.Vanishing -> "vanishing"
                 | _ -> "") ] ]
    // the verdict column only when a layer is flagged
    let flagged = rowsOut |> List.exists (fun r -> List.last r <> "")
    let header =
        [ "parameter"; "shape"; "|grad|"; "|value|"; "|grad|/|value|" ] @ (if flagged then [ "verdict" ] else [ "" ])
    Summary.table header rowsOut |> List.iter (printfn "%s")
    match diagnosis report with
    | [] -> ()
    | lines ->
        printfn ""
        lines |> List.iter (printfn "%s")
    for steps in report.Steps do
        printfn ""
        throughTime (Gradients.judgeSteps steps) |> List.iter (printfn "%s")
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
