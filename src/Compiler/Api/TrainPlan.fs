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
      /// Param and State values to start from (initializers, then statistics learnt from the data)
      Initial: Dictionary<string, HostTensor>
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
            LossSpan = span cfg "loss", OptimizerSpan = span cfg "optimizer")
    RuntimeErrors.within (cfg.FieldSpans.TryFind "loss" |> Option.defaultValue cfg.Span) [] (fun () ->
        TrainStep.Build(forward, spec))

let private fmtShape (dims: int[]) = "[" + (dims |> Array.map string |> String.concat ", ") + "]"
let private rowShape (t: HostTensor) = fmtShape t.Shape[1..]

/// Check the data against the network's input and output, and choose the fed target's shape.
let private checkData (cfg: TrainConfig) (net: NetworkInfo) (data: Dataset) : Shape option =
    let input = (forward net (GraphBuilder()) false)
    let inputNode = snd input.Inputs.Head
    let x = data.Features
    let dims = inputNode.Shape.ToArray()
    let fits =
        x.Rank = dims.Length && Seq.forall2 (fun (d: Dim) s -> not d.IsFixed || d.Size = s) dims[1..] x.Shape[1..]
    if not fits then
        fail "NN0550" cfg.DataSpan
            (sprintf "the data's rows have the shape %s, but the network `%s` takes %O (rows of %O)"
                (rowShape x) net.Decl.Name inputNode.Shape (Shape(inputNode.Shape.ToArray()[1..])))
    let batch = dims[0]
    match cfg.Target, data.Targets with
    | Some _, _ -> None
    | None, null ->
        fail "NN0551" cfg.DataSpan
            ("the data has no targets: give a labels file, "
             + "or a `target` computed from `input` for unsupervised training")
    | None, t ->
        let out = input.Output.Shape
        if t.Rank = 1 then
            if cfg.Loss.Target = LossTarget.Classes then Some(Shape(batch))
            elif out.Rank = 2 && out[1].IsFixed && out[1].Size = 1 then Some(Shape(batch, Dim.Of 1))
            elif cfg.Loss.Target = LossTarget.AsGiven then Some(Shape(batch)) // class indices, as the data has them
            else
                fail "NN0551" cfg.DataSpan
                    (sprintf "the data's targets are class numbers, but the network's output is %O " out
                     + sprintf "and the loss is `%s` (use softmaxCrossEntropy)" cfg.Loss.Name)
        else
            let tshape = Shape(Array.append [| batch |] (t.Shape[1..] |> Array.map Dim.Of))
            if cfg.Target.IsNone && not (tshape.Equals out) && cfg.Loss.Target = LossTarget.Values then
                fail "NN0551" cfg.DataSpan
                    (sprintf "the data's targets have rows of shape %s, but the network's output is %O"
                        (rowShape t) out)
            Some tshape

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
        feeds[fst fwd.Inputs.Head] <- wide train.Features
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

/// Everything to train one block on the given examples (the embedding API's in-memory arrays), within `maxMemory`
/// bytes (None: the machine's memory; NN0630 before anything is allocated when the planned run needs more).
/// With `known`, a CSV table's feature columns are encoded as the weights were trained (`nn eval`), not learnt again.
let createFrom (known: Nn.Runtime.Data.TableEncoding option) (maxMemory: int64 option) (c: Compiled)
               (td: TrainDecl, env: Env) (data: Dataset option) : Plan =
    let cfg = config c (td, env)
    let net = c.Networks |> List.find (fun n -> n.Decl.Name = td.Network)
    // what the source alone decides is reported before any data is read (`--network` may name another network)
    checkTrain net cfg |> ignore // its warnings are the compiler's (Compiled.Warnings)
    let data, origin, table =
        match data with
        | Some d -> d, Targets.arrays c.File, None
        | None ->
            let d, table = DataLoad.loadTable known cfg
            d, Targets.origin cfg, table
    let targetShape = checkData cfg net data
    // before the rows are shuffled, so a bad target is reported at the row the source has it
    if cfg.Target.IsNone then
        Targets.check cfg net.Decl.Name (forward net (GraphBuilder()) false).Output.Shape origin data
    // numbers per row for a one-output network (a CSV label with mse): feed them as a column [N, 1]
    let data =
        match targetShape, data.Targets with
        | Some t, targets when not (isNull targets) && t.Rank = 2 && targets.Rank = 1 ->
            Dataset(data.Features, HostTensor([| targets.Shape[0]; 1 |], targets.Data), data.ClassNames)
        | _ -> data
    let graphs = graphs cfg net targetShape
    match
        MemoryPlan.check (MemoryPlan.estimate graphs cfg.Batch) (MemoryPlan.limit maxMemory) Severity.Error cfg.Span
    with
    | Some d -> raise (DiagnosticException d)
    | None -> ()
    let data = if cfg.ShuffleRows then data.Shuffle(Nn.Runtime.Util.Rng.Derive(uint64 cfg.Seed, 0x73687566UL)) else data
    let train, validation =
        if cfg.Validation > 0.0 then
            // Dataset.Split would throw a DataException without a span; say it at the user's `validation`
            let held = int (System.Math.Round(float data.Count * cfg.Validation, System.MidpointRounding.AwayFromZero))
            if data.Count - held <= 0 then
                let at = cfg.FieldSpans.TryFind "validation" |> Option.defaultValue cfg.DataSpan
                fail "NN0552" at
                    (sprintf "`validation = %g` holds out all %d rows of the data, leaving none to train on"
                        cfg.Validation data.Count)
            let struct (t: Dataset, v: Dataset) = data.Split cfg.Validation
            t, (if v.Count > 0 then Some v else None)
        else data, None
    if train.Count = 0 then fail "NN0552" cfg.DataSpan "there are no training rows left after the validation split"
    let initial = Initializers.ForGraph(graphs.Train, uint64 cfg.Seed)
    adapt net cfg.Target train initial
    { Config = cfg; Network = net; Graphs = graphs; Train = train; Validation = validation; Initial = initial
      Table = table }

/// Everything to train one block on the given examples (the embedding API's in-memory arrays), within `maxMemory`
/// bytes (None: the machine's memory; NN0630 before anything is allocated when the planned run needs more).
let createWithin (maxMemory: int64 option) (c: Compiled) (block: TrainDecl * Env) (data: Dataset option) : Plan =
    createFrom None maxMemory c block data

/// Everything to train one block on the given examples, within the machine's memory.
let createWith (c: Compiled) (block: TrainDecl * Env) (data: Dataset option) : Plan = createWithin None c block data

/// The trainer's options from the settings (callbacks are added by the caller).
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
        OnEpoch = onEpoch, OnCheckpoint = onCheckpoint)

/// Everything to train one block with the data its `data` field names; data and shape errors are diagnostics.
let create (c: Compiled) (block: TrainDecl * Env) : Plan = createWith c block None
