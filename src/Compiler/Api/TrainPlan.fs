/// From a checked program's `train` block to everything the trainer needs: typed settings, the step graphs,
/// the data (split and checked against the network), and initial values (with adapted states computed from the data).
module internal Nn.Compiler.TrainPlan

open System.Collections.Generic
open Nn.Dsl
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Execution
open Nn.Runtime.Ops
open Nn.Runtime.Training
open Nn.Compiler.Context
open Nn.Compiler.Compile
open Nn.Compiler.TrainConfig

/// A `train` block ready to run.
type Plan =
    { Config: TrainConfig
      Network: NetworkInfo
      Graphs: StepGraphs
      Train: Dataset
      Validation: Dataset option
      /// Param and State values to start from (initializers, then statistics learnt from the data, then the
      /// weights `init` or `--init-from` names)
      Initial: Dictionary<string, HostTensor>
      /// what `init` loaded and what kept its initializer
      Init: InitWeights.Report option
      /// what a CSV table's feature columns became (vocabularies, fills), kept with the weights; None otherwise
      Table: Nn.Runtime.Data.TableEncoding option }

/// Replace or add `train` fields from `name=expression` settings (the command line's `--set`).
let withOverrides (td: TrainDecl) (overrides: (string * Expr) list) : TrainDecl =
    overrides
    |> List.fold (fun (td: TrainDecl) (name, value) ->
        let field = { Name = name; NameSpan = value.Span; Value = value; Span = value.Span }
        if td.Fields |> List.exists (fun f -> f.Name = name) then
            { td with Fields = td.Fields |> List.map (fun f -> if f.Name = name then field else f) }
        else { td with Fields = td.Fields @ [ field ] }) td

/// The typed settings of a train block.
let config (c: Compiled) (td: TrainDecl, env: Env) : TrainConfig =
    let ctx = Eval.context (Nn.Runtime.Ops.ForwardContext(GraphBuilder(), true))
    let baseDir = System.IO.Path.GetDirectoryName(c.File)
    TrainConfig.read ctx baseDir td (Settings.follow c.Lets env) (Eval.eval ctx (Builtins.Table.trainEnv env))

let private optimizer (o: Optimizer) =
    OptimizerSpec(
        Kind = o.Kind, Lr = o.Lr, Momentum = o.Momentum, Nesterov = o.Nesterov, Beta1 = o.Beta1, Beta2 = o.Beta2,
        Eps = o.Eps, WeightDecay = o.WeightDecay, Rho = o.Rho)

let private span (cfg: TrainConfig) name =
    cfg.FieldSpans.TryFind name |> Option.defaultValue cfg.Span

/// The parameter paths `freeze` keeps fixed (null when it is not given).
let private frozen (cfg: TrainConfig) (net: NetworkInfo) : IReadOnlySet<string> =
    if cfg.Freeze.IsEmpty then null
    else
        let b = GraphBuilder()
        forward net b false |> ignore
        let paths = b.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Param) |> Seq.map (fun n -> n.Name) |> List.ofSeq
        HashSet<string>(TransferConfig.frozen paths cfg.Freeze)

/// The training, evaluation and prediction graphs of a train block.
let graphs (cfg: TrainConfig) (net: NetworkInfo) (targetShape: Shape option) : StepGraphs =
    let forward = ForwardBuilder(fun fc -> (forwardIn net fc).Output)
    let target =
        cfg.Target
        |> Option.map (fun expr ->
            ForwardBuilder(fun fc -> targetIn net fc expr))
    let spec =
        TrainSpec(
            Loss = cfg.Loss, HuberDelta = cfg.HuberDelta, Metrics = ResizeArray cfg.Metrics,
            ClassWeights = (match cfg.ClassWeights with Some w -> ResizeArray w | None -> null),
            Optimizer = optimizer cfg.Optimizer, Regularize = RegularizationSpec(cfg.L1, cfg.L2),
            Clip = ClipSpec(Option.toNullable cfg.ClipNorm, Option.toNullable cfg.ClipValue),
            TargetShape = Option.toObj targetShape, Target = Option.toObj target,
            LossSpan = span cfg "loss", OptimizerSpan = span cfg "optimizer", Frozen = frozen cfg net)
    RuntimeErrors.within (cfg.FieldSpans.TryFind "loss" |> Option.defaultValue cfg.Span) [] (fun () ->
        TrainStep.Build(forward, spec))

let private fmtShape (dims: int[]) = "[" + (dims |> Array.map string |> String.concat ", ") + "]"
let private rowShape (shape: int[]) = fmtShape shape[1..]

/// Check the shapes of the data's inputs and targets (None: no targets) against the network's input and output, and
/// choose the fed target's shape.
let private checkShapes (cfg: TrainConfig) (net: NetworkInfo) (inputs: int[] list) (targets: int[] option) =
    let input = (forward net (GraphBuilder()) false)
    if inputs.Length <> input.Inputs.Length then
        fail DataErrorCodes.InputCount cfg.DataSpan
            (sprintf "the data gives %d input%s, but the network `%s` takes %d (%s)" inputs.Length
                (if inputs.Length = 1 then "" else "s") net.Decl.Name input.Inputs.Length
                (input.Inputs |> List.map (fun (n, _) -> "`" + n + "`") |> String.concat ", "))
    let several = input.Inputs.Length > 1
    for (name, inputNode), x in Seq.zip input.Inputs inputs do
        let dims = inputNode.Shape.ToArray()
        let fits =
            x.Length = dims.Length
            && Seq.forall2 (fun (d: Dim) s -> not d.IsFixed || d.Size = s) dims[1..] x[1..]
        if not fits then
            fail (if several then DataErrorCodes.InputShape else "NN0550") cfg.DataSpan
                (sprintf "the data's rows%s have the shape %s, but the network `%s` takes %O (rows of %O)"
                    (if several then sprintf " for the input `%s`" name else "")
                    (rowShape x) net.Decl.Name inputNode.Shape (Shape(inputNode.Shape.ToArray()[1..])))
    let dims = (snd input.Inputs.Head).Shape.ToArray()
    let batch = dims[0]
    match cfg.Target, targets with
    | Some _, _ -> None
    | None, None ->
        fail "NN0551" cfg.DataSpan
            ("the data has no targets: give a labels file, "
             + "or a `target` computed from `input` for unsupervised training")
    | None, Some t ->
        let out = input.Output.Shape
        if t.Length = 1 then
            if cfg.Loss.Target = LossTarget.Classes then Some(Shape(batch))
            elif out.Rank = 2 && out[1].IsFixed && out[1].Size = 1 then Some(Shape(batch, Dim.Of 1))
            elif cfg.Loss.Target = LossTarget.AsGiven then Some(Shape(batch)) // class indices, as the data has them
            else
                fail "NN0551" cfg.DataSpan
                    (sprintf "the data's targets are class numbers, but the network's output is %O " out
                     + sprintf "and the loss is `%s` (use softmaxCrossEntropy)" cfg.Loss.Name)
        else
            let tshape = Shape(Array.append [| batch |] (t[1..] |> Array.map Dim.Of))
            if cfg.Target.IsNone && not (tshape.Equals out) && cfg.Loss.Target = LossTarget.Values then
                fail "NN0551" cfg.DataSpan
                    (sprintf "the data's targets have rows of shape %s, but the network's output is %O"
                        (rowShape t) out)
            Some tshape

/// Check the data against the network's input and output, and choose the fed target's shape.
let private checkData (cfg: TrainConfig) (net: NetworkInfo) (data: Dataset) : Shape option =
    let targets = data.Targets |> Option.ofObj |> Option.map (fun t -> t.Shape)
    checkShapes cfg net [ for x in data.Inputs -> x.Shape ] targets

/// Compute the adapted states (`state name = expr`, such as `standardize`'s mean and standard deviation) over the
/// training rows, in declaration order: each expression is evaluated in float64 over all rows at once, with the
/// states adapted before it already at their new values (a `standardize` after another one sees its output).
/// The network's states come first, then those of the `target` expression (`target = input |> standardize`).
let private adapt (net: NetworkInfo) (target: Expr option) (train: Dataset) (values: Dictionary<string, HostTensor>) =
    let b = GraphBuilder()
    let fwd = forward net b false
    let targetStates =
        match target with
        | Some expr -> snd (targetWithStates net (Nn.Runtime.Ops.ForwardContext(b, false)) expr)
        | None -> []
    let states = fwd.Adapt @ targetStates
    if not states.IsEmpty then
        let g = b.Build(states |> List.mapi (fun i (_, n) -> KeyValuePair(string i, n)))
        let wide (t: HostTensor) = Tensor<float>(t.Shape, Array.map float t.Data)
        let feeds = Dictionary<string, Tensor<float>>()
        for KeyValue(k, v) in values do feeds[k] <- wide v
        for (name, _), x in Seq.zip fwd.Inputs train.Inputs do feeds[name] <- wide x
        for (name, node) in states do
            let result = (ReferenceInterpreter<float>.Evaluate(g, feeds, [ node ])).[node.Id]
            let value = HostTensor(values[name].Shape, Array.map float32 result.Data)
            if not (Array.forall System.Single.IsFinite value.Data) then
                let at = node.Span
                fail RuntimeCodes.NonFinite (Span.make at.File (at.Line, at.Column) (at.EndLine, at.EndColumn))
                    (sprintf "the state `%s`, computed over the %d training row%s, is NaN or infinite"
                        name train.Count (if train.Count = 1 then "" else "s"))
            values[name] <- value
            // later states see the value training will use (float32)
            feeds[name] <- wide value

/// Numbers per row for a one-output network (a CSV label with mse) are fed as a column [N, 1].
let private asFed (targetShape: Shape option) (data: Dataset) =
    match targetShape, data.Targets with
    | Some t, targets when not (isNull targets) && t.Rank = 2 && targets.Rank = 1 ->
        Dataset(data.Inputs, HostTensor([| targets.Shape[0]; 1 |], targets.Data), data.ClassNames)
    | _ -> data

/// What the messages call the rows of a source other than `data`.
let private named (source: DataSource) =
    let file (p: string) = System.IO.Path.GetFileName p
    match source with
    | Csv(p, _, _, _) | Idx(p, _) -> file p
    | Npy(fs, _) -> fs |> List.map (fst >> file) |> String.concat ", "
    | Rows _ -> "`validation = rows [..]`"
    | Generate _ -> "the generated validation data"

/// The nodes of the network's forward graph (its Params and States, for `Initializers.Draw`).
let private forwardNodes (net: NetworkInfo) =
    let b = GraphBuilder()
    forward net b false |> ignore
    List.ofSeq b.Nodes

/// The step graphs, refused (a diagnostic) when their estimated memory exceeds the limit.
let private checkedGraphs (maxMemory: int64 option) (cfg: TrainConfig) (net: NetworkInfo) (targetShape: Shape option) =
    let graphs = graphs cfg net targetShape
    match
        MemoryPlan.check (MemoryPlan.estimate graphs cfg.Batch) (MemoryPlan.limit maxMemory) Severity.Error cfg.Span
    with
    | Some d -> raise (DiagnosticException d)
    | None -> graphs

/// The rows of `source`, read in the form of the block's data (`validation = csv ..`, `nn eval --data`) with errors
/// at `span`, checked against the rows `read` from `data` (ValidationData.align), the network's input (NN0550) and the
/// loss (Targets.check), and fed as the training rows are.
let other (known: Nn.Runtime.Data.TableEncoding option) (cfg: TrainConfig) (net: NetworkInfo)
          (targetShape: Shape option) (read: Dataset) (source: DataSource) (span: Span) : Dataset =
    let ocfg = { cfg with Data = source; DataSpan = span }
    let origin = Targets.origin ocfg
    let rows = ValidationData.align (named source) span origin read (DataLoad.loadOther known cfg source span)
    if cfg.Target.IsNone then
        Targets.check ocfg net.Decl.Name (forward net (GraphBuilder()) false).Output.Shape origin rows
    asFed targetShape rows

/// Where training starts from: nothing but the initializers (eval and grad, which load their own weights), the
/// block's `init`, or `--init-from RUN` (with the block's `rename`, if it has an `init`).
type Start =
    | FromInitializers
    | FromBlockInit
    | FromRun of run: string

/// The training step built while the data is read (issue #18: the inflate of the gzip-compressed MNIST digits, 12–14
/// ms on one core, was followed by the step graphs, the memory plan, the executor and its warm-up, ~12 ms more), on
/// another core, from the shapes the data's files declare in their headers. `createAhead` takes its graphs and
/// initial values only where the data, once read and checked, gives the same target shape, and the caller its
/// executor only for those graphs (`fits`); an error ahead is dropped, and the work done again in its usual place
/// reports it in the usual order.
type Ahead<'x> =
    { TargetShape: Shape option
      Graphs: StepGraphs
      /// the initial values drawn for the graphs (before statistics adapted from the data or weights loaded)
      Initial: Dictionary<string, HostTensor>
      Drawn: Dictionary<string, Initializers.Drawn>
      /// what the caller built from the graphs and initial values (`nn train`: the executor, warmed up)
      Built: 'x }

/// The work of `Ahead`, started on another thread for a block whose data is an IDX images file (of unsigned bytes)
/// with a labels file and whose values start from the initializers (no `init`, no `--init-from`, no resumption: the
/// caller says so with `fromInitializers`), or None. `build` gets the graphs, the initial values, the rows of a full
/// and of the last partial batch (0: none), and the shapes of a row of the images and of the fed targets.
let ahead (fromInitializers: bool) (maxMemory: int64 option) (c: Compiled) (td: TrainDecl, env: Env)
          (build: StepGraphs -> Dictionary<string, HostTensor> -> int * int -> int[] * int[] -> 'x)
          : System.Threading.Tasks.Task<Ahead<'x>> option =
    let cfg = try Some(config c (td, env)) with _ -> None // its errors are createFrom's
    match cfg with
    | Some({ Data = Idx(images, Some labels); Target = None; Init = None; ValidationData = None } as cfg)
        when fromInitializers ->
        // a thread of its own: the thread pool's two threads (on two cores) may both be busy with the plotting
        // warm-up and the page toucher, and the work ahead would wait for one of them
        let work () =
            let shape = Idx.PeekByteShape(images, Idx.ImagesMagic)
            let count = Idx.PeekByteShape(labels, Idx.LabelsMagic)
            if isNull shape || isNull count || count[0] <> shape[0] then failwith "no header to build on"
            let net = c.Networks |> List.find (fun n -> n.Decl.Name = td.Network)
            let targetShape = checkShapes cfg net [ shape ] (Some count)
            let graphs = checkedGraphs maxMemory cfg net targetShape
            let drawn = Initializers.Draw(forwardNodes net, uint64 cfg.Seed)
            let initial = Initializers.ForGraph(graphs.Train, uint64 cfg.Seed, drawn)
            let held = Dataset.HeldOut(count[0], cfg.Validation)
            let rows = count[0] - held
            let targetRow =
                match targetShape with
                | Some s -> s.ToArray()[1..] |> Array.map (fun d -> d.Size)
                | None -> [||]
            let batches = min cfg.Batch rows, (if rows > cfg.Batch then rows % cfg.Batch else 0)
            let built = build graphs initial batches (shape[1..], targetRow)
            { TargetShape = targetShape; Graphs = graphs; Initial = initial; Drawn = drawn; Built = built }
        Some(System.Threading.Tasks.Task.Factory.StartNew(work, System.Threading.Tasks.TaskCreationOptions.LongRunning))
    | _ -> None

/// Everything to train one block from `start`, on the given examples (the embedding API's in-memory arrays) or the
/// block's data, within `maxMemory` bytes (None: the machine's memory; NN0630 before anything is allocated when the
/// planned run needs more), with the graphs and initial values built `ahead` where they fit. With `known`, a CSV
/// table's feature columns are encoded as the weights were trained (`nn eval`), not learnt again. `read` is called
/// once the data is read, before anything waits for the work ahead (`nn train` then starts work of its own there).
let createAhead (start: Start) (known: Nn.Runtime.Data.TableEncoding option) (maxMemory: int64 option) (c: Compiled)
                (td: TrainDecl, env: Env) (data: Dataset option) (ahead: System.Threading.Tasks.Task<Ahead<'x>> option)
                (read: unit -> unit) : Plan =
    let cfg = config c (td, env)
    // --init-from is checked before any data is read
    let init =
        match start, cfg.Init with
        | FromInitializers, _ -> None
        | FromBlockInit, i -> i |> Option.map (fun i -> i.Path, i.Rename, Some i.Span)
        | FromRun run, i ->
            Some(InitWeights.runFolder run, (match i with Some i -> i.Rename | None -> []), None)
    match init with
    | Some(path, _, at) ->
        let check () = InitWeights.file path |> ignore
        match at with Some at -> RuntimeErrors.within at [] check | None -> check ()
    | None -> ()
    let net = c.Networks |> List.find (fun n -> n.Decl.Name = td.Network)
    // what the source alone decides is reported before any data is read (`--network` may name another network)
    checkTrain net cfg |> ignore // its warnings are the compiler's (Compiled.Warnings)
    // the parameters' initial values need no data: drawn on another core while the data is read (issue #18), by the
    // work ahead when there is some
    let drawn =
        match ahead with
        | Some a -> a.ContinueWith(fun (t: System.Threading.Tasks.Task<Ahead<'x>>) -> t.Result.Drawn)
        | None ->
            let nodes =
                try forwardNodes net
                with _ -> [] // reported where the steps are built, after the data's own errors
            System.Threading.Tasks.Task.Run(fun () -> Initializers.Draw(nodes, uint64 cfg.Seed))
    let data, origin, table =
        match data with
        | Some d -> d, Targets.arrays c.File, None
        | None ->
            checkInputs net cfg
            let d, table = DataLoad.loadTable known cfg
            d, Targets.origin cfg, table
    read () // the data is read: the caller's work that waited for this core may start
    let targetShape = checkData cfg net data
    // before the rows are shuffled, so a bad target is reported at the row the source has it
    if cfg.Target.IsNone then
        Targets.check cfg net.Decl.Name (forward net (GraphBuilder()) false).Output.Shape origin data
    let read = data
    let data = asFed targetShape data
    // the graphs built ahead for this target shape (and checked against the same memory limit there), or built here
    let builtAhead =
        match ahead with
        | Some a ->
            try
                let a = a.Result
                if a.TargetShape = targetShape then Some a.Graphs else None
            with _ -> None
        | None -> None
    let graphs =
        match builtAhead with
        | Some g -> g
        | None -> checkedGraphs maxMemory cfg net targetShape
    let data = if cfg.ShuffleRows then data.Shuffle(Nn.Runtime.Util.Rng.Derive(uint64 cfg.Seed, 0x73687566UL)) else data
    let train, validation =
        match cfg.ValidationData with
        | Some source ->
            let at = cfg.FieldSpans.TryFind "validation" |> Option.defaultValue cfg.DataSpan
            data, Some(other table cfg net targetShape read source at)
        | None when cfg.Validation > 0.0 ->
            // Dataset.Split would throw a DataException without a span; say it at the user's `validation`
            let held = Dataset.HeldOut(data.Count, cfg.Validation)
            if data.Count - held <= 0 then
                let at = cfg.FieldSpans.TryFind "validation" |> Option.defaultValue cfg.DataSpan
                fail "NN0552" at
                    (sprintf "`validation = %g` holds out all %d rows of the data, leaving none to train on"
                        cfg.Validation data.Count)
            let struct (t: Dataset, v: Dataset) = data.Split cfg.Validation
            t, (if v.Count > 0 then Some v else None)
        | None -> data, None
    if train.Count = 0 then fail "NN0552" cfg.DataSpan "there are no training rows left after the validation split"
    // (a value that could not be drawn there is drawn again here, where its error is reported)
    let drawn = try drawn.Result with _ -> null
    let initial = Initializers.ForGraph(graphs.Train, uint64 cfg.Seed, drawn)
    adapt net cfg.Target train initial
    // the loaded weights win over adapted statistics: the network goes on from where the other run left it
    let report =
        init |> Option.map (fun (path, rename, at) ->
            let nodes = Seq.append graphs.Predict.Params graphs.Predict.States
            let load () = InitWeights.load path rename nodes initial
            match at with Some at -> RuntimeErrors.within at [] load | None -> load ())
    { Config = cfg; Network = net; Graphs = graphs; Train = train; Validation = validation; Initial = initial
      Init = report; Table = table }

/// Everything to train one block from `start`, on the given examples (the embedding API's in-memory arrays) or the
/// block's data, within `maxMemory` bytes (None: the machine's memory; NN0630 before anything is allocated when the
/// planned run needs more). With `known`, a CSV table's feature columns are encoded as the weights were trained
/// (`nn eval`), not learnt again.
let createFrom (start: Start) (known: Nn.Runtime.Data.TableEncoding option) (maxMemory: int64 option) (c: Compiled)
               (block: TrainDecl * Env) (data: Dataset option) : Plan =
    createAhead start known maxMemory c block data (None: System.Threading.Tasks.Task<Ahead<unit>> option) ignore

/// Whether two values hold the same shape and bits (the optimizer's zeros are new tensors every time they are made).
let private sameBits (a: HostTensor) (b: HostTensor) =
    obj.ReferenceEquals(a, b)
    || (a.Shape = b.Shape
        && System.MemoryExtensions.SequenceEqual(
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(System.ReadOnlySpan<float32>(a.Data)),
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(System.ReadOnlySpan<float32>(b.Data))))

/// What `ahead` built, when it finished and its graphs are the plan's, with whether the plan starts from the initial
/// values it was built with (else the caller loads the plan's).
let fits (plan: Plan) (ahead: System.Threading.Tasks.Task<Ahead<'x>> option) : ('x * bool) option =
    match ahead with
    | None -> None
    | Some t ->
        try t.Wait() with _ -> () // an error ahead: the work was done again in its usual place
        if t.IsCompletedSuccessfully && obj.ReferenceEquals(t.Result.Graphs, plan.Graphs) then
            let a = t.Result
            let same =
                a.Initial.Count = plan.Initial.Count
                && a.Initial |> Seq.forall (fun kv ->
                    match plan.Initial.TryGetValue kv.Key with
                    | true, v -> sameBits v kv.Value
                    | _ -> false)
            Some(a.Built, same)
        else None

/// Everything to train one block from its `init` (if any), on the given examples or the block's data, within
/// `maxMemory` bytes.
let createWithin (maxMemory: int64 option) (c: Compiled) (block: TrainDecl * Env) (data: Dataset option) : Plan =
    createFrom FromBlockInit None maxMemory c block data

/// `nn eval --data PATH..`: the rows of the files `paths` in the form of the plan's data (ValidationData.withPaths),
/// prepared as its training rows (the classes numbered as the training data numbers them).
let evalData (plan: Plan) (paths: string list) : Dataset =
    let cfg = plan.Config
    let source = ValidationData.withPaths cfg paths
    // the training rows as read (Plan.Train is split and fed), for their shapes and class names
    let read = fst (DataLoad.loadTable plan.Table cfg)
    let targetShape = checkData cfg plan.Network read
    other plan.Table cfg plan.Network targetShape read source cfg.DataSpan

/// Everything to train one block on the given examples, within the machine's memory.
let createWith (c: Compiled) (block: TrainDecl * Env) (data: Dataset option) : Plan = createWithin None c block data

/// The trainer's options from the settings (callbacks are added by the caller). `onCheckpoint` (when given) keeps no
/// state past its next call: the trainer reuses the tensors of the values it passed
/// (TrainOptions.ReuseCheckpointValues).
let options (cfg: TrainConfig) (onEpoch: System.Action<EpochReport>)
            (onCheckpoint: System.Action<TrainingState>) : TrainOptions =
    let schedule =
        match cfg.Schedule with
        | None -> ScheduleSpec.Constant
        | Some s ->
            ScheduleSpec(
                Kind = s.Kind, Every = s.Every, Factor = System.Nullable s.Factor, Rate = s.Rate,
                Warmup = System.Nullable(float s.Warmup), Min = s.Min, Patience = s.Patience, Monitor = s.Monitor)
    TrainOptions(
        Epochs = cfg.Epochs, Batch = cfg.Batch, Shuffle = cfg.Shuffle, Seed = uint64 cfg.Seed, Schedule = schedule,
        Divergence = cfg.Divergence,
        Stop =
            (cfg.Stop
             |> Option.map (fun s -> EarlyStoppingSpec(Monitor = s.Monitor, Patience = s.Patience))
             |> Option.toObj),
        OnEpoch = onEpoch, OnCheckpoint = onCheckpoint, ReuseCheckpointValues = not (isNull onCheckpoint))

/// Everything to evaluate one block's network on the data its `data` field names, starting from the initializers
/// (eval and grad load their own weights, so `init` is not read); data and shape errors are diagnostics.
let create (c: Compiled) (block: TrainDecl * Env) : Plan = createFrom FromInitializers None None c block None
