/// `nn train FILE`: train the network of a program's `train` block, with progress, a run folder (metrics, checkpoint,
/// model source, curves) and exact resumption.
module internal Nn.Cli.Commands.Train

open System
open System.Diagnostics
open System.IO
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Distributed
open Nn.Runtime.Checkpoints
open Nn.Compiler
open Nn.Cli
open Nn.Cli.Common

let help =
    """Usage: nn train FILE [--train NAME] [--network NAME] [--set NAME=VALUE]... [--resume [DIR]] [--out DIR]
                [--init-from RUN] [--force] [--threads N] [--engine fused|reference] [--max-memory SIZE] [--quiet]
                [--pipeline K [--micro-batches M]] [--ranks N [--bucket-mb MB]]

Trains the network named by the train block of FILE (the first one, or the block for network NAME).
On a terminal a live bar shows the loss, metrics, samples/s and the time left; otherwise one line per epoch
(every few epochs for long runs). For small data sets a table of the predictions follows.

Each run gets a folder, runs/NETWORK/yyyyMMdd-HHmmss/ next to FILE (under the train block's `checkpoint`
folder when it names one), and runs/NETWORK/latest points at the newest one. The folder holds:
  metrics.csv              one row per epoch: epoch, loss, metrics, val_loss, val metrics, lr, seconds (the epoch's
                           own time: its steps and validation, without start-up or checkpoint writes)
  checkpoint.safetensors   the last epoch's full state: weights, optimizer state and running statistics under their
                           parameter paths, with the epoch, step, RNG, schedule and early-stopping state, the model's
                           SHA-256 and nn's version; replaced atomically after every epoch (at most twice a second for
                           very short epochs). --resume continues from it.
  best.safetensors         when early stopping restored an earlier epoch: that epoch's weights, which eval, predict
                           and the embedding API load when given the run folder
  FILE                     a copy of the model source
  curves.png               loss and metrics per epoch, training and validation
  train.lock               while a train writes the folder (a second one is refused; a killed run's lock is stale
                           and taken over)

Options:
  --train NAME          the train block of network NAME
  --network NAME        train network NAME with the train block's settings (e.g. residual.nn's deep_sigmoid)
  --set NAME=VALUE      override a field of the train block, e.g. --set epochs=3 --set "optimizer=adam { lr = 0.01 }",
                        or a top-level `let` of FILE before it is evaluated, e.g. --set hidden=128 --set "widths=[256;
                        128]" (a value of the let's kind; a name that is both is the train field's); the run folder's
                        copy of FILE and the checkpoint record them, so --resume, eval and predict rebuild the network
  --resume [DIR]        continue the run in DIR (or in --out DIR; default: the newest run of this network) exactly
                        where its checkpoint stopped; refused when the model source changed or the checkpoint is
                        incomplete or damaged (a missing weight or optimizer tensor, NaN, a bad epoch, step, rng or
                        schedule record). --set adds to the run's own settings. """
    + """A complete run (all its epochs done, or ended by early stopping) is not trained again:
                        raise `epochs` (or `patience`) to go on.
  --out DIR             the run folder (instead of a new dated one); a folder that is not empty is refused
  --init-from RUN       start from the weights of another run (a run folder, or runs/NET/latest): every parameter
                        whose path and shape match is loaded, the others keep their initializer (as the train block's
                        `init = weights "RUN"`, whose `rename` it keeps)
  --force               with --out, replace the run in DIR (its files; other files stay)
  --threads N           use at most N threads
  --engine E            the engine (default: fused); reference runs the float64 reference interpreter (slower)
  --max-memory SIZE     stop before allocating when the planned run needs more (e.g. 4GB; default: the machine's
                        memory); `nn summary` shows the plan
  --pipeline K          pipeline (model) parallelism, GPipe's: the training step is cut between layers into K
                        stages of about equal cost, one per rank, and each batch into micro-batches that flow
                        through them; the same result as one process within float32 rounding. Under `mpirun -np K`
                        the stages are the job's processes; otherwise threads of this process (docs/distributed.md).
                        `nn graph FILE --step train --plan --pipeline K` shows the cut
  --micro-batches M     micro-batches per batch with --pipeline (default 4 per stage)
  --quiet               print nothing while training, then the summary (the last epoch, how training ended, the
                        run folder)
  --ranks N             train on N processes of this machine (data parallelism: each takes its share of every batch,
                        gradients summed with Open MPI's allreduce; runs mpirun). `mpirun -np N nn train FILE` does
                        the same on a cluster (docs/distributed.md)
  --bucket-mb MB        with --ranks or under mpirun: sum the gradients in buckets of MB megabytes, each started
                        while the backward pass goes on (default 25, the first bucket 1: PyTorch DDP's); 0: one sum
                        of every gradient after the backward pass (the default of --ranks when its ranks' threads
                        fill this machine's cores: no core is left for the buckets' communication thread)

Exit codes: 0 trained (or nothing left to train), 1 an error in the program, the data or the command line (or
training diverged), 2 internal.

Examples:
  nn train examples/xor.nn
  nn train examples/mnist_mlp.nn --set epochs=2 --set batch=128
  nn train examples/iris.nn --out runs/iris-a
  nn train examples/iris.nn --resume runs/iris-a --set epochs=300
  nn train examples/mnist_mlp.nn --ranks 2                (data parallelism: 2 processes under mpirun)
  for h in 64 128 256; do nn train model.nn --set hidden=$h; done     (a sweep over `let hidden = ...`)
  nn train examples/mnist_mlp.nn --pipeline 2             (two stages, as threads; mpirun -np 2: as processes)"""

let private spec =
    [ "--train", Value; "--network", Value; "--set", Many; "--resume", OptionalValue; "--out", Value; "--threads", Value
      "--engine", Value; "--max-memory", Value; "--quiet", Switch; "--force", Switch
      "--init-from", Value; "--pipeline", Value; "--micro-batches", Value; "--bucket-mb", Value ]

/// Predictions of a small data set, row by row.
let private predictions (plan: TrainPlan.Plan) (exec: IStepExecutor) =
    let data = plan.Train
    if data.Count <= 20 then
        let out = exec.Predict data.Inputs
        let row (t: HostTensor) i =
            t.Row(i).ToArray()
            |> Array.map (fun v -> (float v).ToString("0.####", Globalization.CultureInfo.InvariantCulture))
            |> String.concat " "
        let rows =
            [ for i in 0 .. data.Count - 1 ->
                  [ data.Inputs |> Seq.map (fun x -> row x i) |> String.concat " | "
                    (if isNull data.Targets then "" else row data.Targets i); row out i ] ]
        printfn ""
        Summary.table [ "input"; "target"; "prediction" ] rows |> List.iter (printfn "%s")

/// Whether this rank kills itself after epoch `epochs` (`NN_KILL_RANK_AFTER_EPOCH=RANK:EPOCH`, a hidden switch for
/// the data-parallel tests: a rank killed mid-run).
let private exitAfterOnRank (epochs: int) =
    match (Environment.GetEnvironmentVariable "NN_KILL_RANK_AFTER_EPOCH" |> Option.ofObj |> Option.defaultValue "")
              .Split ':' with
    | [| r; e |] ->
        (match Distributed.job.Value with Some j -> string j.Rank = r | None -> false) && e = string epochs
    | _ -> false

/// Whether a rank is to be killed (then rank 0 writes every epoch's checkpoint, so that one is there to resume).
let private killing = not (String.IsNullOrEmpty(Environment.GetEnvironmentVariable "NN_KILL_RANK_AFTER_EPOCH"))

/// The epoch after which to exit as if killed (a hidden switch for the resumption tests).
let private exitAfter =
    match Int32.TryParse(Environment.GetEnvironmentVariable "NN_EXIT_AFTER_EPOCH") with
    | true, k -> Some k
    | _ -> None

let private relative (path: string) =
    if path = "" then path else // the run folder of a rank that writes none
    let r = Path.GetRelativePath(Environment.CurrentDirectory, path)
    if r.StartsWith ".." then path else r

/// Why a run being resumed has nothing left to train: early stopping ended it, or it has done its epochs.
let private completeBecause (cfg: TrainConfig.TrainConfig) (state: TrainingState) =
    let stopped =
        match cfg.Stop, state.Stopping with
        | Some s, st when not (isNull st) && st.Length >= 3 -> st[2] >= float (max 1 s.Patience)
        | _ -> false
    if stopped then
        let s = cfg.Stop.Value
        Some(sprintf "early stopping ended it after epoch %d (%s did not improve for %d epochs; "
                 state.EpochsDone s.Monitor.Name (int state.Stopping[2])
             + "raise `patience` to go on)")
    elif state.EpochsDone >= cfg.Epochs then
        Some(sprintf "%d of %d epochs are done (raise `epochs` to go on, e.g. --set epochs=%d)"
                 state.EpochsDone cfg.Epochs (2 * cfg.Epochs))
    else None

/// The names of what prediction needs (parameters and states, not optimizer moments): what best.safetensors holds.
let private weightNames (g: StepGraphs) =
    Seq.append g.Predict.Params g.Predict.States |> Seq.map (fun n -> n.Name) |> Array.ofSeq

/// The epoch (from 1) whose weights a finished run restored but whose best.safetensors is missing (a run of an older
/// nn, or one killed between its last two writes): its checkpoint still holds them.
let private missingBest (dir: string) (state: TrainingState) =
    match state.Stopping with
    | st when not (isNull st) && st.Length >= 2 && not (isNull state.BestValues) && int st[1] + 1 <> state.EpochsDone
              && not (File.Exists(Path.Combine(dir, Checkpoint.BestFileName))) -> Some(int st[1] + 1)
    | _ -> None

/// A run being resumed: its folder, its state, the settings it was started with and its checkpoint's metadata.
type private Resumed = string * TrainingState * string list * Collections.Generic.IReadOnlyDictionary<string, string>

/// Trains (a new run, or the rest of a resumed one) into its locked run folder and prints the summary.
let private train (a: Args) (c: Compile.Compiled) (engine: Engine) (block: Nn.Dsl.TrainDecl * Env) (sets: string list)
                  (runsParent: string) (resume: Resumed option) (held: ResizeArray<IDisposable>)
                  (warm: Threading.Tasks.Task option -> Threading.Tasks.Task option) =
    let maxMemory =
        a.Get "--max-memory"
        |> Option.map (fun v ->
            match MemoryPlan.parseSize v with
            | Some b -> b
            | None -> fail (sprintf "--max-memory needs a size such as 4GB or 512MB, got `%s`" v))
    // a resumed run goes on from its checkpoint, not from the weights it started with
    let start =
        match resume, a.Get "--init-from" with
        | Some _, _ -> TrainPlan.FromInitializers
        | None, Some run -> TrainPlan.FromRun run
        | None, None -> TrainPlan.FromBlockInit
    // the executor built and warmed up on another core while the data is read (TrainPlan.ahead, issue #18); its
    // warm-up steps on that thread alone (WorkerPool.Solo, the same bindings): the kernels' second thread would wait
    // for the core that decompresses the data
    let ahead =
        match resume, a.Get "--init-from", pipelineOf a, Distributed.job.Value with
        | None, None, None, None ->
            TrainPlan.ahead true maxMemory c block (fun graphs initial (full, last) (row, targetRow) ->
                let exec = executor engine graphs initial
                Nn.Runtime.Kernels.WorkerPool.Solo <- true
                try
                    for rows in [ full; last ] do
                        if rows > 0 then
                            exec.Prepare(HostTensor.Zeros(Array.append [| rows |] row),
                                         HostTensor.Zeros(Array.append [| rows |] targetRow), true)
                finally
                    Nn.Runtime.Kernels.WorkerPool.Solo <- false
                exec)
        | _ -> None
    // when training leaves a core free: after the work ahead, on its thread's core (the images are decompressed on
    // the other one, alone), and beside the first steps. When training takes every core the steps wait for it: it
    // starts once the data is read, on the core that then only waits for the work ahead (issue #18: started after
    // that work, it was the last ~12 ms before the first step of a two-thread job; started at once, it slowed it)
    let everyCore = Nn.Runtime.Kernels.WorkerPool.Shared.MaxThreads >= Environment.ProcessorCount
    let read = Threading.Tasks.TaskCompletionSource()
    let warming =
        warm (if everyCore then Some read.Task else ahead |> Option.map (fun t -> t :> Threading.Tasks.Task))
    let plan =
        try TrainPlan.createAhead start None maxMemory c block None ahead (fun () -> read.TrySetResult() |> ignore)
        finally read.TrySetResult() |> ignore // an error before the data was read: the warm-up still ends
    Timings.mark "data and step graphs"
    let cfg = plan.Config
    resume |> Option.iter (fun (d, state, _, _) -> Checkpoint.checkResume plan.Graphs d state)
    // in a data-parallel job rank 0 alone writes the run folder (Distributed.fs); the others train without one
    let lead = Distributed.isLead ()
    // before the run folder exists: a network a pipeline cannot run leaves no empty run behind. In an MPI job
    // `--pipeline K` runs one stage per rank; without --pipeline the job is data-parallel.
    // and the tensors the first checkpoint may be written into: in one process, the initial values, which the
    // executor copied (TrainOptions.CheckpointInto); the executors of a job may hold theirs
    let exec, checkpointInto =
        match pipelineOf a, Distributed.job.Value with
        | Some stages, comm -> pipelined engine plan.Graphs plan.Initial cfg.Network stages (Option.toObj comm), null
        | None, Some comm ->
            RuntimeErrors.within cfg.Span [] (fun () ->
                DataParallelExecutor(plan.Graphs, comm, (fun g v -> executor engine g v), plan.Initial,
                                     Distributed.bucketsOf (a.Get "--bucket-mb"))
                :> IStepExecutor),
            null
        | None, None ->
            match TrainPlan.fits plan ahead with
            | Some(exec, same) ->
                if not same then exec.Load plan.Initial
                exec, plan.Initial
            | None -> executor engine plan.Graphs plan.Initial, plan.Initial
    Timings.mark "executor"
    let dir =
        match resume with
        | Some(d, _, _, _) ->
            // the weights a previous part of the run restored are not this run's result any more
            let best = Path.Combine(d, Checkpoint.BestFileName)
            if lead && File.Exists best then File.Delete best
            d
        | None when not lead -> ""
        | None ->
            let dir, l =
                match a.Get "--out" with
                | Some out -> RunFolder.claim out (a.Has "--force")
                | None -> RunFolder.create runsParent
            held.Add l
            dir
    if lead then AtomicFile.RemoveStale dir |> ignore // temporary files of a run killed while writing
    let checkpointPath = Path.Combine(dir, Checkpoint.FileName)
    let metricsPath = Path.Combine(dir, "metrics.csv")
    // the copy of the model source, with the values `--set` gave its top-level lets written in
    if lead && resume.IsNone then AtomicFile.WriteAllText(Path.Combine(dir, Path.GetFileName c.File), c.RunSource)
    let first = match resume with Some(_, s, _, _) -> s.EpochsDone | None -> 0
    let quiet = a.Has "--quiet"
    let mutable rows =
        if resume.IsSome then RunFolder.readMetrics metricsPath |> List.filter (fun r -> r.Epoch <= first) else []
    // the hashes of the run's start (a resumed run may have been given the run folder's copy)
    let hashes =
        match resume with
        | Some(_, _, _, meta) when meta.ContainsKey "source_sha256" ->
            [ for k in [ "source_sha256"; "run_source_sha256" ] do
                  match meta.TryGetValue k with
                  | true, v -> yield k, v
                  | _ -> () ]
        | _ ->
            [ yield "source_sha256", Checkpoint.sourceHash c
              // the copy's hash, when `--set` changed a top-level let: --resume accepts the copy as the model source
              if c.RunSource <> c.Sources[c.File] then yield "run_source_sha256", Checkpoint.sha256 c.RunSource ]
    let extra =
        [ "network", cfg.Network ]
        @ hashes
        @ [ "source_file", Path.GetFileName c.File
            "sets", String.concat "\n" sets
            "classes", (match plan.Train.ClassNames with null -> "" | names -> String.concat "\n" names) ]
        @ (plan.Table |> Option.map (fun t -> TableEncoding.MetadataKey, t.ToJson()) |> Option.toList)
    // checkpoints and metrics are replaced atomically, at most twice a second, always at the end (the last ones
    // while curves.png is drawn on another thread)
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
        if exitAfterOnRank s.EpochsDone then Process.GetCurrentProcess().Kill() // as if killed (the tests' switch)
        if lead then pending <- Some s
        if sinceWrite.Elapsed.TotalSeconds >= 0.5 || exitAfter = Some s.EpochsDone || killing then
            flush ()
        if exitAfter = Some s.EpochsDone then
            eprintfn "nn: stopping after epoch %d (NN_EXIT_AFTER_EPOCH)" s.EpochsDone
            exit 3
    if not quiet then
        match resume with
        | Some(d, _, _, _) ->
            printfn "resuming `%s` after epoch %d of %d from %s" cfg.Network first cfg.Epochs (relative d)
        | None ->
            // at most six arguments a format: the native build's printf instantiations (src/Cli/Aot) stop there
            let ranks = match Distributed.job.Value with Some j -> sprintf ", %d ranks" j.Size | None -> ""
            printfn "training `%s` on %d rows%s: %d epochs, batch %d, %s"
                cfg.Network plan.Train.Count
                (match plan.Validation with Some v -> sprintf " (validation: %d rows)" v.Count | None -> "")
                cfg.Epochs cfg.Batch (cfg.Optimizer.Kind.Name + ranks)
            plan.Init |> Option.iter (InitWeights.describe relative >> List.iter (printfn "%s"))
    let mutable last = None
    // when training takes every core, the warm-up must not take one from the first steps
    if everyCore then warming |> Option.iter (fun w -> w.Wait())
    let watch = Stopwatch.StartNew()
    let every = max 1 (cfg.Epochs / 20)
    let curves = Path.Combine(dir, "curves.png")
    // drawn from the finished rows on another thread while this one writes the last checkpoint (issue #18)
    let mutable drawing: Threading.Tasks.Task<bool> option = None
    let draw () =
        let rows = rows
        drawing <-
            Some(Threading.Tasks.Task.Run(fun () ->
                RunFolder.writeCurves curves (sprintf "%s (%s)" cfg.Network (Path.GetFileName c.File)) rows
                not rows.IsEmpty))
    let result =
        try
            let result =
                Progress.run cfg.Epochs first every quiet (fun report ->
                    let onEpoch (r: EpochReport) =
                        last <- Some r
                        // the epoch's own time, measured by the trainer: no start-up, no checkpoint writes
                        rows <- rows @ [ RunFolder.ofReport r r.Seconds ]
                        report r
                    let options =
                        TrainPlan.options cfg (Action<EpochReport> onEpoch) (Action<TrainingState> onCheckpoint)
                    options.CheckpointInto <- checkpointInto
                    let state = match resume with Some(_, s, _, _) -> s | None -> null
                    Trainer.Fit(plan.Graphs, exec, plan.Train, Option.toObj plan.Validation, options, state))
            // the restored weights first, then the last checkpoint: a run killed in between is resumed, not complete
            if lead && result.RestoredEpoch.HasValue then
                RunFolder.writeBest
                    dir (exec.Snapshot()) (weightNames plan.Graphs) (result.RestoredEpoch.Value + 1) extra
            if lead then draw ()
            result
        finally
            flush ()
    Timings.mark "training"
    // NN_TIMINGS=kernels: each kernel's time in the training step (and evaluation), after the last step
    match Nn.Runtime.Engine.KernelClock.Report() with
    | "" -> ()
    | report -> stderr.Write report
    let lastEpoch = first + result.History.Count
    let restored = if result.RestoredEpoch.HasValue then Some(result.RestoredEpoch.Value + 1) else None
    // the summary, in the same order with and without --quiet: the last epoch, how training ended, the run folder
    match last with
    | Some r when quiet || not (Progress.shownWhile cfg.Epochs first every r) ->
        printfn "%s" (Progress.epochLine cfg.Epochs r)
    | _ -> ()
    match result.StoppedEarly, restored with
    | true, Some e -> printfn "stopped early after epoch %d; restored the weights of epoch %d" lastEpoch e
    | true, None -> printfn "stopped early after epoch %d" lastEpoch
    | false, Some e ->
        let monitor = cfg.Stop |> Option.map (fun s -> s.Monitor.Name) |> Option.defaultValue ""
        printfn "restored the weights of epoch %d, the best `%s` of the run" e monitor
    | false, None -> ()
    if not quiet && lead then predictions plan exec
    Timings.mark "predictions"
    let drawn =
        match drawing with
        | None -> false
        | Some d ->
            try d.GetAwaiter().GetResult()
            with e ->
                eprintfn "nn: warning: could not draw curves.png: %s" e.Message
                false
    Timings.mark "curves"
    printfn "trained `%s` in %.1f s (%d steps)" cfg.Network watch.Elapsed.TotalSeconds result.Steps
    printfn "run folder: %s" (relative dir)
    let others = sprintf "%s  %s%s" "metrics.csv" (Path.GetFileName c.File) (if drawn then "  curves.png" else "")
    match restored with
    | Some e ->
        printfn "  %-23s  the weights of epoch %d (restored): what eval, predict and the embedding API load"
            Checkpoint.BestFileName e
        printfn "  %-23s  the full state after epoch %d: what --resume continues" Checkpoint.FileName lastEpoch
        printfn "  %s" others
    | None -> printfn "  %s  %s" Checkpoint.FileName others
    0

let private runHolding (a: Args) (held: ResizeArray<IDisposable>) =
    let file = fileArg "train" a
    applyThreads a
    pipelineOf a |> ignore // a bad --pipeline value is reported before anything is compiled
    Distributed.bucketsOf (a.Get "--bucket-mb") |> ignore // and a bad --bucket-mb (NN0807)
    let engine = engineOf a
    // the heap in 2 MiB pages from here on (minor page faults of a one-epoch mnist_mlp job ~22,600 -> ~17,400;
    // bench/README.md)
    Nn.Runtime.Util.HeapPages.AdviseHuge()
    Timings.mark "start"
    let c = compileSetting file (a.All "--set")
    Timings.mark "compile"
    // the plotting libraries load on another core while the data is read and the steps are built, not after the
    // last epoch (issue #18: ~10 ms of the whole job when training takes every core), on a thread of their own (which
    // leaves the thread pool's to the data reading), after the task `after` (the step built ahead, or the data read:
    // `train`); waited for at the end, so that the process never exits while native code is being loaded
    let warm (after: Threading.Tasks.Task option) =
        if Distributed.isLead () then
            let w =
                match after with
                | Some t ->
                    t.ContinueWith(
                        (fun (_: Threading.Tasks.Task) -> RunFolder.warmCurves ()),
                        Threading.Tasks.TaskContinuationOptions.LongRunning)
                | None ->
                    Threading.Tasks.Task.Factory.StartNew(
                        (fun () -> RunFolder.warmCurves ()), Threading.Tasks.TaskCreationOptions.LongRunning)
            held.Add { new IDisposable with member _.Dispose() = w.Wait() }
            Some w
        else None
    let select (c: Compile.Compiled) =
        let td, env = trainBlock c (a.Get "--train")
        // --network NAME: train another network of the file with this train block's settings
        match a.Get "--network" with
        | None -> td, env
        | Some n when c.Networks |> List.exists (fun x -> x.Decl.Name = n) -> { td with Network = n }, env
        | Some n ->
            let names = c.Networks |> List.map (fun x -> sprintf "`%s`" x.Decl.Name) |> String.concat ", "
            fail (sprintf "%s has no network named `%s` (it has %s)" c.File n names)
    let td, env = select c
    let cfg0 = TrainPlan.config c (TrainPlan.withOverrides td (overrides (a.All "--set")), env)
    let runsParent = RunFolder.parent c.File cfg0.Network cfg0.Checkpoint
    if a.Has "--force" && a.Has "--resume" then
        fail "--force starts the run in --out again and --resume continues it: give one of them"
    if a.Has "--force" && not (a.Has "--out") then fail "--force replaces the run in --out DIR: give --out"
    if a.Has "--init-from" && a.Has "--resume" then
        fail "--resume continues a run from its checkpoint and --init-from starts a new one: give one of them"
    // resuming: the run folder (--resume DIR, --resume with --out DIR, or the newest run), locked, its state, and the
    // settings it was started with
    let resume =
        if not (a.Has "--resume") then None
        else
            let dir =
                match a.Get "--resume", a.Get "--out" with
                | Some d, Some o when d <> "" && Path.GetFullPath d <> Path.GetFullPath o ->
                    fail (sprintf "--resume %s and --out %s name two folders; give the run to continue once" d o)
                | Some d, _ when d <> "" -> d
                | _, Some o -> o
                | _ ->
                    match RunFolder.latest runsParent with
                    | Some d -> d
                    | None ->
                        raise (DataException(DataErrorCodes.CheckpointNotFound, relative runsParent,
                                             sprintf "--resume: no run of `%s` here holds a checkpoint; " cfg0.Network
                                             + "give the run folder"))
            if Directory.Exists dir && Distributed.isLead () then held.Add(RunFolder.lock dir)
            let state, meta = Checkpoint.readState dir
            Checkpoint.checkSource c (Checkpoint.resolve dir) meta
            Checkpoint.checkNetwork cfg0.Network dir meta
            let sets =
                match meta.TryGetValue "sets" with | true, s when s <> "" -> List.ofArray (s.Split '\n') | _ -> []
            Some(dir, state, sets, meta)
    let sets = (match resume with Some(_, _, s, _) -> s | None -> []) @ a.All "--set"
    // a resumed run's own sets may change top-level lets: the program is compiled again with them
    let c, (td, env) = if resume.IsSome then (let c = compileSetting file sets in c, select c) else c, (td, env)
    let block = TrainPlan.withOverrides td (overrides sets), env
    let complete =
        match resume with
        | Some(dir, state, _, meta) ->
            completeBecause (TrainPlan.config c block) state |> Option.map (fun why -> dir, state, meta, why)
        | None -> None
    match complete with
    | Some(dir, state, meta, why) ->
        // nothing to train: say so, and write the restored weights if an older run left them only in its checkpoint
        let cfg = TrainPlan.config c block
        printfn "the run of `%s` in %s is complete: %s; nothing to train" cfg.Network (relative dir) why
        match missingBest dir state with
        | Some epoch ->
            let net = c.Networks |> List.find (fun x -> x.Decl.Name = cfg.Network)
            let names =
                weightNames (Checkpoint.graphsFor c (Some block) net) |> Array.filter state.BestValues.ContainsKey
            let keys =
                [ "network"; "source_sha256"; "run_source_sha256"; "source_file"; "sets"; "classes"
                  TableEncoding.MetadataKey ]
            let keep = [ for k in keys do
                             match meta.TryGetValue k with
                             | true, v -> yield k, v
                             | _ -> () ]
            RunFolder.writeBest dir state.BestValues names epoch keep
            printfn "wrote the weights early stopping restored (epoch %d) to %s"
                epoch (relative (Path.Combine(dir, Checkpoint.BestFileName)))
        | None -> ()
        0
    | None -> train a c engine block sets runsParent resume held warm

let run (a: Args) =
    let held = ResizeArray<IDisposable>()
    try runHolding a held
    finally
        for l in held do l.Dispose()

let command: Command =
    { Name = "train"
      Summary = "train the network of a program's train block (run folder, checkpoints, --resume)"
      Help = help
      Run =
        fun args ->
            guarded (fun () ->
                match Distributed.takeRanks args with
                | Some n, rest -> Distributed.launch n rest
                | None, _ ->
                    Distributed.guardedInJob (fun () -> guarded (fun () -> run (parseArgs "train" spec args)))) }
