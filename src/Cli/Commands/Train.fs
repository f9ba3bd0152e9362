/// `nn train FILE`: train the network of a program's `train` block, with progress, a run folder (metrics, checkpoint,
/// model source, curves) and exact resumption.
module Nn.Cli.Commands.Train

open System
open System.Diagnostics
open System.IO
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Checkpoints
open Nn.Compiler
open Nn.Cli
open Nn.Cli.Common

let help =
    """Usage: nn train FILE [--train NAME] [--network NAME] [--set FIELD=VALUE]... [--resume [DIR]] [--out DIR]
                [--threads N] [--engine fused|reference] [--max-memory SIZE] [--quiet]

Trains the network named by the train block of FILE (the first one, or the block for network NAME).
On a terminal a live bar shows the loss, metrics, samples/s and the time left; otherwise one line per epoch
(every few epochs for long runs). For small data sets a table of the predictions follows.

Each run gets a folder, runs/NETWORK/yyyyMMdd-HHmmss/ next to FILE (under the train block's `checkpoint`
folder when it names one), and runs/NETWORK/latest points at the newest one. The folder holds:
  metrics.csv              one row per epoch: epoch, loss, metrics, val_loss, val metrics, lr, seconds
  checkpoint.safetensors   weights, optimizer state and running statistics under their parameter paths, with the
                           epoch, step, RNG, schedule and early-stopping state, the model's SHA-256 and nn's version;
                           replaced atomically after every epoch (at most twice a second for very short epochs)
  FILE                     a copy of the model source
  curves.png               loss and metrics per epoch, training and validation

Options:
  --train NAME          the train block of network NAME
  --network NAME        train network NAME with the train block's settings (e.g. residual.nn's deep_sigmoid)
  --set FIELD=VALUE     override a field of the train block, e.g. --set epochs=3 --set "optimizer=adam { lr = 0.01 }"
  --resume [DIR]        continue the run in DIR (default: the newest run of this network) exactly where its checkpoint
                        stopped; refused when the model source changed or the checkpoint is incomplete or damaged
                        (a missing weight or optimizer tensor, NaN, a bad epoch, step, rng or schedule record).
                        --set adds to the run's own settings.
  --out DIR             the run folder (instead of a new dated one)
  --threads N           use at most N threads
  --engine E            the engine (default: fused); reference runs the float64 reference interpreter (slower)
  --max-memory SIZE     stop before allocating when the planned run needs more (e.g. 4GB; default: the machine's
                        memory); `nn summary` shows the plan
  --quiet               print only the final lines

Exit codes: 0 trained, 1 an error in the program, the data or the command line (or training diverged), 2 internal.

Examples:
  nn train examples/xor.nn
  nn train examples/mnist_mlp.nn --set epochs=2 --set batch=128
  nn train examples/iris.nn --out runs/iris-a
  nn train examples/iris.nn --resume runs/iris-a --set epochs=300"""

let private spec =
    [ "--train", Value; "--network", Value; "--set", Many; "--resume", OptionalValue; "--out", Value; "--threads", Value
      "--engine", Value; "--max-memory", Value; "--quiet", Switch ]

/// Predictions of a small data set, row by row.
let private predictions (plan: TrainPlan.Plan) (exec: IStepExecutor) =
    let data = plan.Train
    if data.Count <= 20 then
        let out = exec.Predict data.Features
        let row (t: HostTensor) i =
            t.Row(i).ToArray() |> Array.map (fun v -> (float v).ToString("0.####", Globalization.CultureInfo.InvariantCulture)) |> String.concat " "
        let rows =
            [ for i in 0 .. data.Count - 1 ->
                  [ row data.Features i; (if isNull data.Targets then "" else row data.Targets i); row out i ] ]
        printfn ""
        Summary.table [ "input"; "target"; "prediction" ] rows |> List.iter (printfn "%s")

/// The epoch after which to exit as if killed (a hidden switch for the resumption tests).
let private exitAfter =
    match Int32.TryParse(Environment.GetEnvironmentVariable "NN_EXIT_AFTER_EPOCH") with
    | true, k -> Some k
    | _ -> None

let private relative (path: string) =
    let r = Path.GetRelativePath(Environment.CurrentDirectory, path)
    if r.StartsWith ".." then path else r

let run (a: Args) =
    let file = fileArg "train" a
    applyThreads a
    let engine = engineOf a
    let c = compile file
    let td, env = trainBlock c (a.Get "--train")
    // --network NAME: train another network of the file with this train block's settings
    let td =
        match a.Get "--network" with
        | None -> td
        | Some n when c.Networks |> List.exists (fun x -> x.Decl.Name = n) -> { td with Network = n }
        | Some n ->
            let names = c.Networks |> List.map (fun x -> sprintf "`%s`" x.Decl.Name) |> String.concat ", "
            fail (sprintf "%s has no network named `%s` (it has %s)" c.File n names)
    let cfg0 = TrainPlan.config c (TrainPlan.withOverrides td (overrides (a.All "--set")), env)
    let runsParent = RunFolder.parent c.File cfg0.Network cfg0.Checkpoint
    // resuming: the run folder, its state, and the settings it was started with
    let resume =
        if not (a.Has "--resume") then None
        else
            let dir =
                match a.Get "--resume" with
                | Some d when d <> "" -> d
                | _ ->
                    match RunFolder.latest runsParent with
                    | Some d -> d
                    | None ->
                        raise (DataException(DataErrorCodes.CheckpointNotFound, relative runsParent,
                                             sprintf "--resume: no run of `%s` here holds a checkpoint; give the run folder" cfg0.Network))
            let state, meta = Checkpoint.readState dir
            Checkpoint.checkSource c (Checkpoint.resolve dir) meta
            Checkpoint.checkNetwork cfg0.Network dir meta
            let sets = match meta.TryGetValue "sets" with | true, s when s <> "" -> List.ofArray (s.Split '\n') | _ -> []
            Some(dir, state, sets)
    let sets = (match resume with Some(_, _, s) -> s | None -> []) @ a.All "--set"
    let maxMemory =
        a.Get "--max-memory"
        |> Option.map (fun v ->
            match MemoryPlan.parseSize v with
            | Some b -> b
            | None -> fail (sprintf "--max-memory needs a size such as 4GB or 512MB, got `%s`" v))
    let plan = TrainPlan.createWithin maxMemory c (TrainPlan.withOverrides td (overrides sets), env) None
    let cfg = plan.Config
    resume |> Option.iter (fun (d, state, _) -> Checkpoint.checkResume plan.Graphs d state)
    let dir =
        match resume, a.Get "--out" with
        | Some(d, _, _), _ -> d
        | None, Some out -> RunFolder.createDirectory out
        | None, None -> RunFolder.create runsParent
    AtomicFile.RemoveStale dir |> ignore // temporary files of a run killed while writing
    let checkpointPath = Path.Combine(dir, Checkpoint.FileName)
    let metricsPath = Path.Combine(dir, "metrics.csv")
    if resume.IsNone then AtomicFile.WriteAllText(Path.Combine(dir, Path.GetFileName c.File), c.Sources[c.File])
    let exec = executor engine plan.Graphs plan.Initial
    let first = match resume with Some(_, s, _) -> s.EpochsDone | None -> 0
    let quiet = a.Has "--quiet"
    let mutable rows = if resume.IsSome then RunFolder.readMetrics metricsPath |> List.filter (fun r -> r.Epoch <= first) else []
    let extra =
        [ "network", cfg.Network
          "source_sha256", Checkpoint.sourceHash c
          "source_file", Path.GetFileName c.File
          "sets", String.concat "\n" sets
          "classes", (match plan.Train.ClassNames with null -> "" | names -> String.concat "\n" names) ]
    // checkpoints and metrics are replaced atomically, at most twice a second, always at the end
    let sinceWrite = Stopwatch.StartNew()
    let mutable pending: TrainingState option = None
    let flush () =
        match pending with
        | Some s ->
            Checkpoint.save checkpointPath s extra
            RunFolder.writeMetrics metricsPath rows
            pending <- None
            sinceWrite.Restart()
        | None -> ()
    let onCheckpoint (s: TrainingState) =
        pending <- Some s
        if sinceWrite.Elapsed.TotalSeconds >= 0.5 || s.EpochsDone = cfg.Epochs || exitAfter = Some s.EpochsDone then flush ()
        if exitAfter = Some s.EpochsDone then
            eprintfn "nn: stopping after epoch %d (NN_EXIT_AFTER_EPOCH)" s.EpochsDone
            exit 3
    if not quiet then
        match resume with
        | Some(d, _, _) -> printfn "resuming `%s` after epoch %d of %d from %s" cfg.Network first cfg.Epochs (relative d)
        | None ->
            printfn "training `%s` on %d rows%s: %d epochs, batch %d, %s"
                cfg.Network plan.Train.Count
                (match plan.Validation with Some v -> sprintf " (validation: %d rows)" v.Count | None -> "")
                cfg.Epochs cfg.Batch cfg.Optimizer.Kind
    let mutable last = None
    let watch = Stopwatch.StartNew()
    let epochClock = Stopwatch.StartNew()
    let result =
        try
            Progress.run cfg.Epochs first (max 1 (cfg.Epochs / 20)) quiet (fun report ->
                let onEpoch (r: EpochReport) =
                    last <- Some r
                    rows <- rows @ [ RunFolder.ofReport r epochClock.Elapsed.TotalSeconds ]
                    epochClock.Restart()
                    report r
                let options = TrainPlan.options cfg (Action<EpochReport> onEpoch) (Action<TrainingState> onCheckpoint)
                let state = match resume with Some(_, s, _) -> s | None -> null
                Trainer.Fit(plan.Graphs, exec, plan.Train, Option.toObj plan.Validation, options, state))
        finally
            flush ()
    if result.StoppedEarly then
        printfn "stopped early after epoch %d; restored the weights of epoch %d" (first + result.History.Count) (result.BestEpoch.GetValueOrDefault() + 1)
    match last with
    | Some r when quiet -> printfn "%s" (Progress.epochLine cfg.Epochs r)
    | _ -> ()
    if not quiet then predictions plan exec
    let curves = Path.Combine(dir, "curves.png")
    let drawn =
        try
            RunFolder.writeCurves curves (sprintf "%s (%s)" cfg.Network (Path.GetFileName c.File)) rows
            rows.Length > 0
        with e ->
            eprintfn "nn: warning: could not draw curves.png: %s" e.Message
            false
    printfn "trained `%s` in %.1f s (%d steps)" cfg.Network watch.Elapsed.TotalSeconds result.Steps
    printfn "run folder: %s" (relative dir)
    printfn "  %s  %s  %s%s" Checkpoint.FileName "metrics.csv" (Path.GetFileName c.File) (if drawn then "  curves.png" else "")
    0

let command: Command =
    { Name = "train"
      Summary = "train the network of a program's train block (run folder, checkpoints, --resume)"
      Help = help
      Run = fun args -> guarded (fun () -> run (parseArgs "train" spec args)) }
