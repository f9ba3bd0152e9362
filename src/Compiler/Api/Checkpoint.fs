/// Checkpoints of training runs (safetensors: weights, optimizer state and running statistics under their parameter
/// paths; metadata: epoch, step, RNG, schedule and early-stopping state, the model source's SHA-256, the nn version),
/// weights files for evaluation and prediction, and the step graphs of a network without reading its data.
module internal Nn.Compiler.Checkpoint

open System
open System.Collections.Generic
open System.Globalization
open System.IO
open Nn.Dsl
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Checkpoints
open Nn.Runtime.Ops
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
let FileName = RunPaths.FileName

/// The product version written into checkpoints.
let version = ProductVersion.Value

/// SHA-256 of a text (UTF-8), lower-case hex (managed: OpenSSL is not loaded for it).
let sha256 (text: string) =
    Convert.ToHexString(Nn.Runtime.Util.Sha256.HashData(Text.Encoding.UTF8.GetBytes text)).ToLowerInvariant()

/// The hash that ties a checkpoint to its model: the main file's source text.
let sourceHash (c: Compiled) = sha256 c.Sources[c.File]

/// The file name of the weights early stopping restored, inside a run folder (RunPaths.BestFileName).
[<Literal>]
let BestFileName = RunPaths.BestFileName

/// A run folder stands for its checkpoint (RunPaths.resolve).
let resolve (path: string) = RunPaths.resolve path

/// A run folder stands for the weights its training ended with (RunPaths.resolveWeights).
let resolveWeights (path: string) = RunPaths.resolveWeights path

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

let private badState (path: string) (what: string) =
    DataException(DataErrorCodes.CheckpointBadState, path, sprintf "%s: cannot resume: %s" (name path) what)

/// The training state and metadata of a checkpoint (a run folder stands for its checkpoint). Every record is parsed
/// strictly and the state's numbers are checked (NN0711 names the record); the tensors are checked against the
/// training step by `checkResume`.
let readState (path: string) : TrainingState * IReadOnlyDictionary<string, string> =
    let path = resolve path
    let ck = SafeTensors.Read path
    let meta = ck.Metadata
    let get key =
        match meta.TryGetValue key with
        | true, v -> v
        | _ -> raise (badState path (sprintf "it has no `%s` record; it is not a training checkpoint of nn" key))
    let parse key (what: string) (f: string -> bool * 'a) (text: string) =
        match f text with
        | true, v -> v
        | _ -> raise (badState path (sprintf "its `%s` record holds `%s`, which is not %s" key text what))
    let inv = CultureInfo.InvariantCulture
    let number key = parse key "a number" (fun t -> Double.TryParse(t, NumberStyles.Float, inv))
    let doubles key (s: string) = if s = "" then [||] else s.Split(',') |> Array.map (number key)
    let values = Dictionary<string, HostTensor>()
    let best = Dictionary<string, HostTensor>()
    for n in ck.Names do
        let t = ck[n].ToHost()
        if n.StartsWith(bestPrefix, StringComparison.Ordinal) then best[n.Substring bestPrefix.Length] <- t
        else values[n] <- t
    let whole key = parse key "a whole number" (fun t -> Int64.TryParse(t, NumberStyles.AllowLeadingSign, inv))
    let epoch = whole "epoch" (get "epoch")
    if epoch > int64 Int32.MaxValue || epoch < int64 Int32.MinValue then
        raise (badState path (sprintf "its `epoch` record holds %d, more epochs than a run can have" epoch))
    let rng =
        (get "rng").Split(',')
        |> Array.map (parse "rng" "a 64-bit word in hexadecimal" (fun w ->
            UInt64.TryParse(w, NumberStyles.AllowHexSpecifier, inv)))
    let stopping = match meta.TryGetValue "early_stopping" with | true, v -> doubles "early_stopping" v | _ -> null
    let state =
        TrainingState(int epoch, whole "step" (get "step"), values, rng, doubles "schedule" (get "schedule"), stopping,
                      (if best.Count = 0 then null else best))
    ResumeCheck.CheckState(state, path)
    state, meta

/// Refuse to continue a run whose model source changed since the checkpoint was written.
let checkSource (c: Compiled) (path: string) (meta: IReadOnlyDictionary<string, string>) =
    // a run whose `--set` changed top-level lets also accepts the run folder's copy, which has them written in
    let copy = match meta.TryGetValue "run_source_sha256" with | true, h -> h | _ -> ""
    match meta.TryGetValue "source_sha256" with
    | true, h when h <> sourceHash c && copy <> sourceHash c ->
        raise (
            DataException(
                SourceChanged,
                path,
                sprintf "%s: was written for another version of %s (its SHA-256 differs); "
                    (name (resolve path)) (name c.File)
                + "train from scratch, or restore the model source saved in the run folder"
            )
        )
    | _ -> ()

/// Refuse to continue a run of another network (NN0708).
let checkNetwork (network: string) (path: string) (meta: IReadOnlyDictionary<string, string>) =
    let path = resolve path
    match meta.TryGetValue "network" with
    | true, n when n <> network ->
        let what = sprintf "it is a run of `%s`, not `%s` (choose that network with --network or --train)" n network
        raise (DataException(ShapeMismatch, path, sprintf "%s: cannot resume: %s" (name path) what))
    | _ -> ()

/// Check a state read by `readState` against the training step it is to continue: every parameter and optimizer or
/// layer state present with its shape and finite, nothing else (NN0708, NN0710; see `ResumeCheck`).
let checkResume (graphs: StepGraphs) (path: string) (state: TrainingState) =
    ResumeCheck.Check(state, graphs, resolve path)

/// A weights file's tensors read ahead, while the program compiles (`nn predict`, issue #18), by another thread: the
/// parameters' names are not known before the compile, so every tensor is read but the best epoch's copies (`best:`)
/// and the optimizer's slots (a name that extends another tensor's, `w.m`). A tensor it did not read, or any failure,
/// leaves the reading to `readWeightsAhead` (which raises the errors, in their order).
type WeightsAhead(path: string) =
    let mutable ck: Checkpoint option = None
    // the float tensors found finite on the reading thread (`CheckFinite`, after the input file's header: the
    // command waits for that first): the first pass over their fresh pages, ~3 ms of the command thread as
    // `readWeightsAhead`'s check (issue #18, a virtual machine's page faults). Until it is done (null), that check
    // runs.
    let mutable finite: HashSet<string> = null
    let mutable state = 0 // 0 not begun, 1 reading, 2 done
    let finished = new Threading.ManualResetEventSlim(false)
    // the file's metadata, set before its tensors are read (null if the header could not be read), then `headerRead`
    let mutable metadata: IReadOnlyDictionary<string, string> = null
    let headerRead = new Threading.ManualResetEventSlim(false)
    let read () =
        try
            // one parse of the header: the tensors to read are chosen from the names of all
            let choose (all: IReadOnlyList<string>) =
                let names = HashSet all
                // `a.b.w.m` extends `a.b.w` when that is a tensor of the file
                let extends (n: string) =
                    let mutable i = n.IndexOf '.'
                    let mutable found = false
                    while not found && i > 0 do
                        found <- names.Contains(n.Substring(0, i))
                        i <- n.IndexOf('.', i + 1)
                    found
                Func<string, bool>(fun n -> not (n.Contains ':') && not (extends n))
            let header m =
                metadata <- m
                headerRead.Set()
            ck <- Some(SafeTensors.Read(resolveWeights path, Func<_, _> choose, true, Action<_> header))
        with _ -> ()
    /// Reads the tensors on the calling thread, unless another has begun (then returns at once).
    member _.Run() =
        if Threading.Interlocked.CompareExchange(&state, 1, 0) = 0 then
            read ()
            Threading.Volatile.Write(&state, 2)
            headerRead.Set()
            finished.Set()
    /// The file's metadata as `Run` read it, or None when its header could not be read: waits for the header (a
    /// thread must have begun `Run` or be about to: `Start`, or the input file's reader, which begins with it).
    member _.Metadata() =
        headerRead.Wait()
        Option.ofObj metadata
    /// Checks the float tensors read (after `Run`) for NaN and infinity, on the calling thread.
    member _.CheckFinite() =
        if Threading.Volatile.Read(&state) = 2 && isNull (Threading.Volatile.Read(&finite)) then
            let found = HashSet<string>()
            for read in Option.toList ck do
                for n in read.Names do
                    if read.HoldsFloats n
                       && Nn.Runtime.Kernels.ElementOps.AllFinite(ReadOnlySpan(read.ToHost(n).Data)) then
                        found.Add n |> ignore
            Threading.Volatile.Write(&finite, found) // published whole: read only after this
    /// Reads the tensors (and checks them) on a thread of its own.
    member this.Start() =
        Threading.Thread((fun () -> this.Run(); this.CheckFinite()), IsBackground = true, Name = "nn weights").Start()
    /// The tensors read, if they could be: waits for the thread reading them, or reads them now if none began.
    member this.Read() =
        this.Run()
        finished.Wait()
        ck
    /// Whether the tensor `name` was read and found finite by `CheckFinite` (false when that is not done yet).
    member _.Finite(name: string) =
        let found = Threading.Volatile.Read(&finite)
        not (isNull found) && found.Contains name

/// The values of `nodes` (Params and States) from a weights file, each checked against its node's shape (NN0708)
/// and for NaN and infinity (NN0710), and the file's metadata (read with them: no second read of the header); those
/// `ahead` read already are taken from it.
let readWeightsAhead (ahead: WeightsAhead option) (path: string) (nodes: Node seq)
    : Dictionary<string, HostTensor> * IReadOnlyDictionary<string, string> =
    let path = resolveWeights path
    let nodes = nodes |> Seq.distinctBy (fun n -> n.Name) |> Array.ofSeq
    let wanted = HashSet(nodes |> Seq.map (fun n -> n.Name))
    // only these tensors' bytes are read (not the optimizer's state or the best epoch's copy), float32 ones straight
    // into the arrays the executor gets
    let ck, checkedAhead =
        match ahead |> Option.bind (fun a -> a.Read()) with
        | Some ck when wanted |> Seq.forall ck.Holds -> ck, ahead.Value.Finite
        | _ -> SafeTensors.Read(path, (fun name -> wanted.Contains name), true), (fun _ -> false)
    let values = Dictionary<string, HostTensor>()
    for n in nodes do
        let shape = ck.ShapeOf n.Name
        let want = n.Shape.Resolve(Dictionary<string, int>())
        if shape <> want then
            raise (
                DataException(
                    ShapeMismatch,
                    path,
                    sprintf "%s: `%s` is %s in the file, but the network's `%s` is %O"
                        (name path) n.Name (HostTensor.FormatShape shape) n.Name n.Shape
                )
            )
        let host = ck.ToHost n.Name
        if not (checkedAhead n.Name) then ResumeCheck.RequireFinite(path, n.Name, host)
        values[n.Name] <- host
    values, ck.Metadata

/// The weights of `nodes` (parameters and states) from a weights file or run folder, checked against their shapes.
let readWeights (path: string) (nodes: Node seq) : Dictionary<string, HostTensor> =
    fst (readWeightsAhead None path nodes)

/// The class names in a checkpoint's metadata (`classes`, one per line).
let classNamesIn (metadata: IReadOnlyDictionary<string, string>) : string[] option =
    match metadata.TryGetValue "classes" with
    | true, v when v <> "" -> Some(v.Split('\n'))
    | _ -> None

/// The `--set` words in a checkpoint's metadata (`sets`, one per line), in order.
let setsIn (metadata: IReadOnlyDictionary<string, string>) : string list =
    match metadata.TryGetValue "sets" with
    | true, v when v <> "" -> List.ofArray (v.Split('\n'))
    | _ -> []

/// The `--set` words a checkpoint's run was trained with (metadata `sets`, one per line), in order.
let sets (path: string) : string list = setsIn (SafeTensors.ReadMetadata(resolveWeights path))

/// The class names a checkpoint remembers from its training data (metadata `classes`, one per line).
let classNames (path: string) : string[] option =
    classNamesIn (SafeTensors.ReadMetadata(resolveWeights path))

/// `table` from the metadata already read of the weights file at `path` (named in NN0577).
let tableIn (path: string) (metadata: IReadOnlyDictionary<string, string>) : TableEncoding option =
    match metadata.TryGetValue TableEncoding.MetadataKey with
    | true, v when v <> "" -> Some(TableEncoding.FromJson(v, path))
    | _ -> None

/// What the training table's feature columns became (metadata `table`: vocabularies and fills), if it had text
/// columns or a `missing` setting (NN0577 when the record is not valid).
let table (path: string) : TableEncoding option =
    let path = resolveWeights path
    tableIn path (SafeTensors.ReadMetadata path)

/// The fed target's shape without reading data: class indices [n] for the cross-entropy losses, else the output's.
/// A loss written in the language gets the shape the data source tells (Compile.fedTargetShape).
let private targetShapeGuess (cfg: TrainConfig.TrainConfig) (net: NetworkInfo) =
    let fwd = forward net (GraphBuilder()) false
    let batch = (snd fwd.Inputs.Head).Shape.ToArray()[0]
    if cfg.Loss.Target = LossTarget.Classes then Some(Shape(batch))
    elif cfg.Loss.Target = LossTarget.AsGiven then fedTargetShape cfg fwd.Output.Shape
    else None

/// The step graphs of `net` with the settings of a train block (any network of the same output shape), or with a
/// plain mean-squared loss when there is none; no data is read.
let graphsFor (c: Compiled) (block: (TrainDecl * Env) option) (net: NetworkInfo) : StepGraphs =
    match block with
    | Some block ->
        let cfg = TrainPlan.config c block
        TrainPlan.graphs cfg net (targetShapeGuess cfg net)
    | None ->
        let forward = ForwardBuilder(fun fc -> (forwardIn net fc).Output)
        TrainStep.Build(forward, TrainSpec(Loss = LossKind.Mse))

/// The train block for a network: its own, else (with `fallback`) the file's first.
let blockFor (c: Compiled) (network: string) (fallback: bool) =
    match c.Trains |> List.tryFind (fun (td, _) -> td.Network = network) with
    | Some b -> Some b
    | None when fallback -> c.Trains |> List.tryHead |> Option.map (fun (td, env) -> { td with Network = network }, env)
    | None -> None
