/// Checkpoints of training runs (safetensors: weights, optimizer state and running statistics under their parameter
/// paths; metadata: epoch, step, RNG, schedule and early-stopping state, the model source's SHA-256, the nn version),
/// weights files for evaluation and prediction, and the step graphs of a network without reading its data.
module Nn.Compiler.Checkpoint

open System
open System.Collections.Generic
open System.Globalization
open System.IO
open System.Security.Cryptography
open Nn.Dsl
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Checkpoints
open Nn.Runtime.Training
open Nn.Compiler.Compile

/// A tensor's shape in the weights file differs from the network's parameter.
[<Literal>]
let ShapeMismatch = "NN0708"

/// The checkpoint was written for another model source (resuming is refused).
[<Literal>]
let SourceChanged = "NN0709"

/// The file name of the checkpoint inside a run folder.
[<Literal>]
let FileName = "checkpoint.safetensors"

/// The product version written into checkpoints.
let version =
    let v = typeof<Compiled>.Assembly.GetName().Version
    sprintf "%d.%d.%d" v.Major v.Minor v.Build

/// SHA-256 of a text (UTF-8), lower-case hex.
let sha256 (text: string) =
    Convert.ToHexString(SHA256.HashData(Text.Encoding.UTF8.GetBytes text)).ToLowerInvariant()

/// The hash that ties a checkpoint to its model: the main file's source text.
let sourceHash (c: Compiled) = sha256 c.Sources[c.File]

/// The file name of the weights early stopping restored, inside a run folder: written when the weights a run ends
/// with are not its last epoch's (the checkpoint keeps the last epoch's full state, for `--resume`).
[<Literal>]
let BestFileName = "best.safetensors"

/// A run folder stands for the checkpoint inside it (the state `--resume` continues).
let resolve (path: string) =
    if Directory.Exists path then Path.Combine(path, FileName) else path

/// A run folder stands for the weights its training ended with: the restored ones (`best.safetensors`) when early
/// stopping restored an earlier epoch, else the checkpoint. What eval, predict and the embedding API load.
let resolveWeights (path: string) =
    let best = Path.Combine(path, BestFileName)
    if Directory.Exists path && File.Exists best then best else resolve path

let private bestPrefix = "best:"
let private invariant (x: float) = x.ToString("R", CultureInfo.InvariantCulture)
let private joinDoubles (xs: float[]) = xs |> Array.map invariant |> String.concat ","
let private name (path: string) = Path.GetFileName path

/// Write the state of a run atomically; `extra` adds metadata entries (network, source hash, settings, classes).
let save (path: string) (state: TrainingState) (extra: (string * string) list) =
    let tensors =
        [ for KeyValue(k, v) in state.Values -> KeyValuePair(k, RawTensor.FromHost v)
          if not (isNull state.BestValues) then
              for KeyValue(k, v) in state.BestValues -> KeyValuePair(bestPrefix + k, RawTensor.FromHost v) ]
    let meta = Dictionary<string, string>()
    meta["format"] <- "nn-checkpoint-1"
    meta["epoch"] <- string state.EpochsDone
    meta["step"] <- string state.Steps
    meta["rng"] <- state.ShuffleRng |> Array.map (sprintf "%016x") |> String.concat ","
    meta["schedule"] <- joinDoubles state.Schedule
    if not (isNull state.Stopping) then meta["early_stopping"] <- joinDoubles state.Stopping
    meta["nn_version"] <- version
    for (k, v) in extra do meta[k] <- v
    SafeTensors.Write(path, tensors, meta)

let private badMetadata (path: string) (what: string) =
    DataException(DataErrorCodes.CheckpointHeaderJson, path, sprintf "%s: not a training checkpoint of nn: %s" (name path) what)

/// The training state and metadata of a checkpoint (a run folder stands for its checkpoint).
let readState (path: string) : TrainingState * IReadOnlyDictionary<string, string> =
    let path = resolve path
    let ck = SafeTensors.Read path
    let meta = ck.Metadata
    let get key =
        match meta.TryGetValue key with
        | true, v -> v
        | _ -> raise (badMetadata path (sprintf "the metadata has no `%s`" key))
    let doubles (s: string) =
        if s = "" then [||] else s.Split(',') |> Array.map (fun t -> Double.Parse(t, CultureInfo.InvariantCulture))
    try
        let values = Dictionary<string, HostTensor>()
        let best = Dictionary<string, HostTensor>()
        for n in ck.Names do
            let t = ck[n].ToHost()
            if n.StartsWith(bestPrefix, StringComparison.Ordinal) then best[n.Substring bestPrefix.Length] <- t
            else values[n] <- t
        let rng = (get "rng").Split(',') |> Array.map (fun w -> Convert.ToUInt64(w, 16))
        let stopping = match meta.TryGetValue "early_stopping" with | true, v -> doubles v | _ -> null
        let state =
            TrainingState(int (get "epoch"), int64 (get "step"), values, rng, doubles (get "schedule"), stopping,
                          (if best.Count = 0 then null else best))
        state, meta
    with :? FormatException | :? OverflowException ->
        raise (badMetadata path "a metadata entry is not a number")

/// Refuse to continue a run whose model source changed since the checkpoint was written.
let checkSource (c: Compiled) (path: string) (meta: IReadOnlyDictionary<string, string>) =
    match meta.TryGetValue "source_sha256" with
    | true, h when h <> sourceHash c ->
        raise (DataException(SourceChanged, path, sprintf "%s: was written for another version of %s (its SHA-256 differs); train from scratch, or restore the model source saved in the run folder" (name (resolve path)) (name c.File)))
    | _ -> ()

/// The values of `nodes` (Params and States) from a weights file, each checked against its node's shape.
let readWeights (path: string) (nodes: Node seq) : Dictionary<string, HostTensor> =
    let path = resolveWeights path
    let ck = SafeTensors.Read path
    let values = Dictionary<string, HostTensor>()
    for n in nodes |> Seq.distinctBy (fun n -> n.Name) do
        let t = ck[n.Name]
        let want = n.Shape.Resolve(Dictionary<string, int>())
        if t.Shape <> want then
            raise (DataException(ShapeMismatch, path, sprintf "%s: `%s` is %s in the file, but the network's `%s` is %O" (name path) n.Name (HostTensor.FormatShape t.Shape) n.Name n.Shape))
        values[n.Name] <- t.ToHost()
    values

/// The class names a checkpoint remembers from its training data (metadata `classes`, one per line).
let classNames (path: string) : string[] option =
    let ck = SafeTensors.Read(resolveWeights path)
    match ck.Metadata.TryGetValue "classes" with
    | true, v when v <> "" -> Some(v.Split('\n'))
    | _ -> None

/// The fed target's shape without reading data: class indices [n] for the cross-entropy losses, else the output's.
let private targetShapeGuess (loss: string) (net: NetworkInfo) =
    let fwd = forward net (GraphBuilder()) false
    let batch = (snd fwd.Inputs.Head).Shape.ToArray()[0]
    if loss = "softmaxCrossEntropy" || loss = "crossEntropy" then Some(Shape(batch)) else None

/// The step graphs of `net` with the settings of a train block (any network of the same output shape), or with a
/// plain mean-squared loss when there is none; no data is read.
let graphsFor (c: Compiled) (block: (TrainDecl * Env) option) (net: NetworkInfo) : StepGraphs =
    match block with
    | Some block ->
        let cfg = TrainPlan.config c block
        TrainPlan.graphs cfg net (targetShapeGuess cfg.Loss net)
    | None ->
        let forward = ForwardBuilder(fun fc -> (forwardIn net fc).Output)
        TrainStep.Build(forward, TrainSpec(Loss = "mse"))

/// The train block for a network: its own, else (with `fallback`) the file's first.
let blockFor (c: Compiled) (network: string) (fallback: bool) =
    match c.Trains |> List.tryFind (fun (td, _) -> td.Network = network) with
    | Some b -> Some b
    | None when fallback -> c.Trains |> List.tryHead |> Option.map (fun (td, env) -> { td with Network = network }, env)
    | None -> None
