/// `nn train FILE`: train the network of a program's `train` block and report progress per epoch.
module Nn.Cli.Commands.Train

open System
open System.Diagnostics
open Nn.Dsl
open Nn.Runtime
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Compiler
open Nn.Cli

let help =
    """Usage: nn train FILE [--train NAME] [--set FIELD=VALUE]... [--quiet]

Trains the network named by the train block of FILE (the first one, or the block for network NAME).
Prints one line per epoch (every few epochs for long runs) with the loss, metrics and samples per second,
then, for small data sets, a table of the predictions.
  --set FIELD=VALUE   override a field of the train block, e.g. --set epochs=3 --set "optimizer=adam { lr = 0.01 }"
  --quiet             print only the final line

Exit codes: 0 trained, 1 an error in the program, the data or the command line (or training diverged).

Example:
  nn train examples/xor.nn
  nn train examples/mnist_mlp.nn --set epochs=2"""

type Options =
    { File: string
      Train: string option
      Sets: (string * string) list
      Quiet: bool }

let private format (x: float) =
    if abs x >= 1e4 || (abs x < 1e-3 && x <> 0.0) then x.ToString("0.000e+0", Globalization.CultureInfo.InvariantCulture)
    else x.ToString("0.0000", Globalization.CultureInfo.InvariantCulture)

let private epochLine (total: int) (r: EpochReport) =
    let metrics (prefix: string) (m: Collections.Generic.IReadOnlyDictionary<string, float>) =
        if isNull m then "" else m |> Seq.map (fun kv -> sprintf "  %s%s %s" prefix kv.Key (format kv.Value)) |> String.concat ""
    let v =
        if r.ValidationLoss.HasValue then sprintf "  val_loss %s%s" (format r.ValidationLoss.Value) (metrics "val_" r.ValidationMetrics)
        else ""
    sprintf "epoch %*d/%d  loss %s%s%s  %s samples/s" (string total).Length (r.Epoch + 1) total (format r.TrainLoss) (metrics "" r.Metrics) v (r.SamplesPerSec.ToString("N0", Globalization.CultureInfo.InvariantCulture))

/// Predictions of a small data set, row by row.
let private predictions (plan: TrainPlan.Plan) (exec: IStepExecutor) =
    let data = plan.Train
    if data.Count <= 20 then
        let out = exec.Predict data.Features
        let row (t: HostTensor) i = t.Row(i).ToArray() |> Array.map (fun v -> (float v).ToString("0.####", Globalization.CultureInfo.InvariantCulture)) |> String.concat " "
        let rows =
            [ for i in 0 .. data.Count - 1 ->
                  [ row data.Features i
                    (if isNull data.Targets then "" else row data.Targets i)
                    row out i ] ]
        printfn ""
        Summary.table [ "input"; "target"; "prediction" ] rows |> List.iter (printfn "%s")

/// A diagnostic at the user's line for a node's source span.
let private atNode (code: string) (span: SourceSpan) (message: string) =
    let s = Span.make span.File (span.Line, span.Column) (span.EndLine, span.EndColumn)
    Diagnostic.error code s message

let private parseSets (sets: (string * string) list) =
    sets |> List.map (fun (name, text) ->
        match Parser.parseExpr "--set" text with
        | Ok e -> Ok(name, e)
        | Error ds -> Error(ds |> List.map (fun d -> d.Message) |> String.concat "; "))

let run (o: Options) =
    match Compile.compileFile o.File with
    | Error ds ->
        Output.diagnostics (Output.sourcesFrom Map.empty) ds
        1
    | Ok c ->
    let sources = Output.sourcesFrom c.Sources
    let blocks = c.Trains |> List.filter (fun (td, _) -> o.Train.IsNone || Some td.Network = o.Train)
    match blocks, parseSets o.Sets |> List.tryPick (function Error e -> Some e | _ -> None) with
    | [], _ ->
        eprintfn "nn: %s has no train block%s" o.File (match o.Train with Some n -> sprintf " for `%s`" n | None -> "")
        1
    | _, Some e ->
        eprintfn "nn: --set: %s" e
        1
    | (td, env) :: _, None ->
    let overrides = parseSets o.Sets |> List.choose (function Ok x -> Some x | _ -> None)
    let unknown = overrides |> List.tryFind (fun (n, _) -> not (List.contains n TrainConfig.fieldNames))
    match unknown with
    | Some(n, _) ->
        eprintfn "nn: --set: `train` has no field `%s` (fields: %s)" n (String.concat ", " TrainConfig.fieldNames)
        1
    | None ->
    try
        let plan = TrainPlan.create c (TrainPlan.withOverrides td overrides, env)
        let cfg = plan.Config
        let exec = ReferenceExecutor(plan.Graphs, plan.Initial)
        let every = max 1 (cfg.Epochs / 20)
        if not o.Quiet then
            printfn "training `%s` on %d rows%s: %d epochs, batch %d, %s"
                cfg.Network plan.Train.Count
                (match plan.Validation with Some v -> sprintf " (validation: %d rows)" v.Count | None -> "")
                cfg.Epochs cfg.Batch cfg.Optimizer.Kind
        let mutable last = None
        let options =
            TrainPlan.options cfg
                (Action<EpochReport>(fun r ->
                    last <- Some r
                    if not o.Quiet && ((r.Epoch + 1) % every = 0 || r.Epoch = 0 || r.Epoch + 1 = cfg.Epochs) then
                        printfn "%s" (epochLine cfg.Epochs r)))
                null
        let watch = Stopwatch.StartNew()
        let result = Trainer.Fit(plan.Graphs, exec, plan.Train, Option.toObj plan.Validation, options)
        if result.StoppedEarly then
            printfn "stopped early after epoch %d; restored the weights of epoch %d" result.History.Count (result.BestEpoch.GetValueOrDefault() + 1)
        match last with
        | Some r when o.Quiet -> printfn "%s" (epochLine cfg.Epochs r)
        | _ -> ()
        if not o.Quiet then predictions plan exec
        printfn "trained `%s` in %.1f s (%d steps)" cfg.Network watch.Elapsed.TotalSeconds result.Steps
        0
    with
    | DiagnosticException d ->
        Output.diagnostics sources [ d ]
        1
    | :? TrainingDivergedException as e ->
        // the exception's message starts with "span: error code: "; the diagnostic renders those itself
        let m = e.Message
        let i = m.IndexOf(sprintf "error %s: " e.Code)
        let m = if i >= 0 then m.Substring(i + e.Code.Length + 8) else m
        Output.diagnostics sources [ atNode e.Code e.Span m ]
        1

let command: Command =
    { Name = "train"
      Summary = "train the network of a program's train block"
      Help = help
      Run =
        fun args ->
            match args with
            | file :: rest when not (file.StartsWith "-") ->
                let rec parse (o: Options) args =
                    match args with
                    | [] -> Ok o
                    | "--quiet" :: tail -> parse { o with Quiet = true } tail
                    | "--train" :: name :: tail -> parse { o with Train = Some name } tail
                    | "--set" :: setting :: tail ->
                        match setting.IndexOf '=' with
                        | i when i > 0 -> parse { o with Sets = o.Sets @ [ setting.Substring(0, i).Trim(), setting.Substring(i + 1) ] } tail
                        | _ -> Error(sprintf "--set needs FIELD=VALUE, got `%s`" setting)
                    | a :: _ -> Error(sprintf "unknown option `%s` for `nn train`" a)
                match parse { File = file; Train = None; Sets = []; Quiet = false } rest with
                | Ok o -> run o
                | Error m -> Command.usageError m
            | _ -> Command.usageError "`nn train` needs a FILE" }
