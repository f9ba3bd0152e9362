/// From source text to a checked model: parse (with `open`ed files), resolve names, evaluate the top-level
/// declarations, check every network's shapes and every `train` block's settings.
module internal Nn.Compiler.Compile

open System.IO
open Nn.Dsl
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Compiler.Context

/// A checked network: its declaration and the environment it sees (the prelude and the declarations before it).
type NetworkInfo = { Decl: NetworkDecl; Env: Env }

/// A checked program.
type Compiled =
    { File: string
      /// every source text by file name (the prelude included), to render diagnostics
      Sources: Map<string, string>
      Networks: NetworkInfo list
      /// the `train` blocks of the main file with the environment they see
      Trains: (TrainDecl * Env) list
      /// top-level environment after all declarations
      Env: Env
      /// the top-level `let`s of every file (errors about settings a `train` block takes from one point into it)
      Lets: LetBinding list
      /// what is legal but probably a mistake (a parameter nothing uses, a softmax before softmaxCrossEntropy)
      Warnings: Diagnostic list
      /// the source of the main file as compiled: its text with the values `--set` gave its top-level lets written
      /// in (LetSets.rewrite), or the text itself
      RunSource: string }

/// The forward pass of a network built into a graph.
type Forward =
    { Inputs: (string * Node) list
      Output: Node
      /// adapted states in declaration order: the State's name and the expression computed over the training rows
      Adapt: (string * Node) list
      Context: EvalContext }

/// How to read a file's text (the CLI reads from disk; the embedding API may read from memory).
type Reader = string -> Result<string, Diagnostic>

/// Reads from disk with the product's errors (missing NN0001, binary NN0002, empty NN0003).
let diskReader: Reader = SourceFile.read

let private scratchContext () = Eval.context (Nn.Runtime.Ops.ForwardContext(GraphBuilder(), true))

/// Parse a file and the files it opens (relative to it), depth first; cycles are errors.
let rec private load (read: Reader) (sources: Map<string, string>) (stack: string list) (path: string)
                     (fromSpan: Span option) =
    match sources.TryFind path with
    | Some _ when not (List.contains path stack) -> Ok(sources, [])
    | _ ->
    if List.contains path stack then
        let span = defaultArg fromSpan (Span.make path (0, 0) (0, 0))
        Error [ Diagnostic.error "NN0310" span
                    (sprintf "`open` makes a cycle: %s"
                        (String.concat " -> " (List.rev (path :: stack) |> List.map Path.GetFileName))) ]
    else
        match read path with
        | Error d -> Error [ (match fromSpan with Some s -> { d with Span = s } | None -> d) ]
        | Ok text ->
            let sources = sources.Add(path, text)
            match Parser.parseProgram path text with
            | Error ds -> Error ds
            | Ok prog ->
                let dir = Path.GetDirectoryName(Path.GetFullPath path)
                prog.Decls
                |> List.fold (fun acc decl ->
                    match acc, decl with
                    | Ok(srcs, decls), OpenDecl(p, span) ->
                        let full = Path.GetFullPath(Path.Combine(dir, p))
                        match load read srcs (path :: stack) full (Some span) with
                        | Ok(srcs, opened) ->
                            // only the definitions of an opened file are used, not its train blocks
                            let defs = opened |> List.filter (function TrainDecl _ -> false | _ -> true)
                            Ok(srcs, decls @ defs)
                        | Error ds -> Error ds
                    | Ok(srcs, decls), d -> Ok(srcs, decls @ [ d ])
                    | Error ds, _ -> Error ds) (Ok(sources, []))

/// Whether a static value is or contains a tensor (a graph node of the context that computed it).
let rec private holdsTensor (v: Value) =
    match v with
    | VTensor _ -> true
    | VList items | VTuple items -> List.exists holdsTensor items
    | VRecord fields -> fields |> List.exists (fun f -> holdsTensor f.Value)
    | _ -> false

let private catchDiag (f: unit -> 'a) : Result<'a, Diagnostic list> =
    try Ok(f ()) with DiagnosticException d -> Error [ d ]

/// The span of the expression that gives a body its value (a block's last line).
let rec private resultSpan (e: Expr) =
    match e with
    | Block(_, result, _) -> resultSpan result
    | e -> e.Span

/// Build a network's forward pass into the runtime's forward context (its builder and mode).
let rec forwardIn (net: NetworkInfo) (fc: Nn.Runtime.Ops.ForwardContext) : Forward =
    let builder = fc.Builder
    let ctx = Eval.context fc
    let nd = net.Decl
    let env, inputs =
        nd.Inputs
        |> List.fold (fun (env: Env, inputs) p ->
            if inputs |> List.exists (fun (name, _) -> name = p.Name) then
                fail "NN0209" p.Span (sprintf "the network `%s` has two inputs named `%s`" nd.Name p.Name)
            match p.Shape with
            | None ->
                fail "NN0214" p.Span
                    (sprintf "the network input `%s` needs a shape, such as (%s: [n, 784])" p.Name p.Name)
            | Some ann ->
                let dims, env =
                    ann.Dims |> List.fold (fun (dims, env: Env) d ->
                        match d with
                        | Ident(name, s) when not (env.ContainsKey name) ->
                            let dim = Dim.Sym name
                            dims @ [ dim ], env.Add(name, (VDim dim, s))
                        | e -> dims @ [ Tensors.dimOf e.Span (Eval.eval ctx env e) ], env) ([], env)
                let node = graph ctx p.Span (fun src -> builder.Input(p.Name, Shape(Array.ofList dims), src))
                env.Add(p.Name, (VTensor node, p.Span)), inputs @ [ p.Name, node ]) (net.Env, [])
    let output =
        match Eval.eval ctx env nd.Body with
        | VTensor n -> n
        | v ->
            fail "NN0212" (resultSpan nd.Body)
                (sprintf "the network `%s` must compute a tensor, but its body is %s" nd.Name (Value.describe v))
    match nd.Output with
    | Some ann ->
        try
            Eval.annotate ctx env (sprintf "the output of `%s`" nd.Name) ann (VTensor output, nd.Body.Span) ann.Span
            |> ignore
        with DiagnosticException d when d.Code = "NN0211" ->
            let note = { Span = Some nd.Body.Span; Message = sprintf "the body computes %O" output.Shape }
            raise (DiagnosticException { d with Code = "NN0212"; Span = ann.Span; Notes = [ note ] })
    | None -> ()
    { Inputs = inputs; Output = output; Adapt = List.ofSeq ctx.Adapt; Context = ctx }

/// Build a network's forward pass into `builder`, in training or evaluation mode.
and forward (net: NetworkInfo) (builder: GraphBuilder) (training: bool) : Forward =
    forwardIn net (Nn.Runtime.Ops.ForwardContext(builder, training))

/// The target of unsupervised training: `expr` evaluated with `input` bound to the network's first input, in the
/// context `fc` that holds the network's forward pass, with its adapted states in declaration order. Its params and
/// states are named under `target.` (`target.standardize1.mean`), apart from the network's.
let targetWithStates (net: NetworkInfo) (fc: Nn.Runtime.Ops.ForwardContext) (expr: Expr) : Node * (string * Node) list =
    let ctx = Eval.context fc
    ctx.Scope <- [ "target" ]
    let input = net.Decl.Inputs.Head
    let node = fc.Builder.Nodes |> Seq.find (fun n -> n.Op = OpKind.Input && n.Name = input.Name)
    let env = (Builtins.Table.trainEnv net.Env).Add("input", (VTensor node, input.Span))
    match Eval.eval ctx env expr with
    | VTensor t -> t, List.ofSeq ctx.Adapt
    | v ->
        fail "NN0414" expr.Span (sprintf "`target` must compute a tensor from `input`, but it is %s" (Value.describe v))

/// The target of unsupervised training (see targetWithStates).
let targetIn (net: NetworkInfo) (fc: Nn.Runtime.Ops.ForwardContext) (expr: Expr) : Node =
    fst (targetWithStates net fc expr)

/// The names the training step gives its own inputs.
let private stepInputs =
    [ Nn.Runtime.Training.TrainStep.TargetInput
      Nn.Runtime.Training.TrainStep.LrInput
      Nn.Runtime.Training.TrainStep.StepInput ]

/// The shape the fed target will have, as far as the data source tells it without reading a file, for a network
/// whose output is `out`: labels of `idx` and `csv` are one number per row ([n], or [n, 1] for an output [n, 1]),
/// `rows` targets [n, width] and `generate` [n, 1]; None for `npy` (known when read).
let fedTargetShape (cfg: TrainConfig.TrainConfig) (out: Shape) : Shape option =
    if out.Rank = 0 then None
    else
    let batch = out[0]
    let oneColumn = out.Rank = 2 && out[1].IsOne
    match cfg.Data with
    | TrainConfig.Rows(_, ys, _) when ys.Length > 0 -> Some(Shape(batch, Dim.Of ys[0].Length))
    | TrainConfig.Idx(_, Some _)
    | TrainConfig.Csv(_, _, Some _, _) -> Some(if oneColumn then Shape(batch, Dim.Of 1) else Shape(batch))
    | TrainConfig.Generate _ -> Some(Shape(batch, Dim.Of 1))
    | _ -> None

/// Check a `train` block's data source against the network's inputs, before any file is read (Checks.inputsFit); not
/// for the embedding API's arrays, which are checked as they are given.
let checkInputs (net: NetworkInfo) (cfg: TrainConfig.TrainConfig) =
    let fwd = forward net (GraphBuilder()) false
    Checks.inputsFit net.Decl fwd.Inputs cfg.Data cfg.DataSpan

/// Check a `train` block's settings against its network without any data: the network has one input, which does
/// not take the training step's names, the loss and metrics fit the output (its shape, and probabilities for
/// `crossEntropy`), and a computed `target` fits the output and the loss. Errors point at the field (the `target`
/// value, the `loss`, the `metrics`); the warnings found are returned.
let checkTrain (net: NetworkInfo) (cfg: TrainConfig.TrainConfig) : Diagnostic list =
    let nd = net.Decl
    for p in nd.Inputs do
        if List.contains p.Name stepInputs then
            // a parameter starts with its name
            let name =
                Span.make p.Span.File (p.Span.Line, p.Span.Column) (p.Span.Line, p.Span.Column + p.Name.Length)
            fail "NN0415" name
                (sprintf "the input `%s` of `%s` has the name of an input of the training step (%s); rename it"
                    p.Name nd.Name (stepInputs |> List.map (sprintf "`%s`") |> String.concat ", "))
    let fc = Nn.Runtime.Ops.ForwardContext(GraphBuilder(), true)
    let out = (forwardIn net fc).Output
    let at name = cfg.FieldSpans.TryFind name |> Option.defaultValue cfg.Span
    let computes =
        match nd.Output with
        | Some ann -> { Span = Some ann.Span; Message = sprintf "the output of `%s` is declared here" nd.Name }
        | None -> { Span = Some(resultSpan nd.Body); Message = sprintf "`%s` computes %O here" nd.Name out.Shape }
    let error span message =
        raise (DiagnosticException { Diagnostic.error "NN0210" span message with Notes = [ computes ] })
    let classes = out.Shape.Rank > 0 && out.Shape[-1].IsFixed
    if cfg.Loss.Target = LossTarget.Classes && not (classes && out.Shape[-1].Size >= 2) then
        error (at "loss")
            (sprintf "`%s` needs an output with two or more classes on its last axis (a fixed size ≥ 2), " cfg.Loss.Name
             + sprintf "but the network `%s` computes %O" nd.Name out.Shape)
    for m in cfg.Metrics do
        if m.Task = MetricTask.Classification && not (classes && out.Shape[-1].Size >= 1) then
            error (at "metrics")
                (sprintf "`%s` needs an output with one probability or a score per class on its last axis " m.Name
                 + sprintf "(a fixed size), but the network `%s` computes %O" nd.Name out.Shape)
        if m.Name.StartsWith "top" && m.Task = MetricTask.Classification && out.Shape[-1].Size < 2 then
            error (at "metrics")
                (sprintf "`%s` needs a score per class for two or more classes on the output's last axis, "
                    (MetricConfig.written m)
                 + sprintf "but the network `%s` computes %O" nd.Name out.Shape)
    MetricConfig.checkTask cfg.Loss cfg.Metrics (at "loss") (at "metrics")
    match cfg.ClassWeights, Nn.Runtime.Ops.ClassWeights.Count(cfg.Loss, out.Shape) |> Option.ofNullable with
    | Some ws, Some count when ws.Length <> count ->
        let what = if cfg.Loss = LossKind.BinaryCrossEntropy then "2 (classes 0 and 1)" else string count
        raise (DiagnosticException {
            Diagnostic.error "NN0435" (at "classWeights")
                (sprintf "`classWeights` has %d weight%s, but `%s` on the output %O of `%s` takes %s"
                    ws.Length (if ws.Length = 1 then "" else "s") cfg.Loss.Name out.Shape nd.Name what)
                with Notes = [ computes ] })
    | _ -> ()
    let warnings = Checks.lossFits nd cfg.Loss (at "loss") out computes
    // `freeze` patterns that match no parameter (NN0456), before any data is read
    let paths = fc.Builder.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Param) |> Seq.map (fun n -> n.Name)
    TransferConfig.frozen (List.ofSeq paths) cfg.Freeze |> ignore
    match cfg.Target with
    | None when cfg.Loss.Target = LossTarget.AsGiven ->
        // a loss written in the language, applied to a target of the shape the data will give (when known)
        match fedTargetShape cfg out.Shape with
        | Some shape ->
            let target = fc.Builder.Input(Nn.Runtime.Training.TrainStep.TargetInput, shape, at "loss")
            let why = { Span = None; Message = sprintf "the data gives targets of shape %O" shape }
            RuntimeErrors.within (at "loss") [ computes; why ] (fun () ->
                cfg.Loss.Build(fc.Builder, out, target, at "loss", cfg.HuberDelta) |> ignore)
        | None -> ()
    | None ->
        // the data's targets are checked when they are read; a function of the program used as a metric is tried
        // on a target of the shape the loss expects now, so `nn check` finds its mistakes before any data
        if Seq.contains cfg.Loss LossKind.Builtins && cfg.Loss.Target <> LossTarget.Classes then
            let none = Nn.Runtime.SourceSpan.None
            let target = fc.Builder.Input(Nn.Runtime.Training.TrainStep.TargetInput, out.Shape, none)
            for m in cfg.Metrics |> List.filter (fun m -> m.Task = MetricTask.Any) do
                // (a mistake inside the function gets a note at its item from MetricConfig)
                let why = { Span = Some(at "metrics"); Message = sprintf "the metric `%s` is computed here" m.Name }
                RuntimeErrors.within (at "metrics") [ computes; why ] (fun () ->
                    m.Build(fc.Builder, out, target, none) |> ignore)
    | Some expr ->
        let target = targetIn net fc expr
        // the output fits the loss and metrics (checked above), so a mismatch now is the target's
        let check (field: string) (message: string) (build: unit -> Node) =
            let why = { Span = Some(at field); Message = message }
            RuntimeErrors.within expr.Span [ computes; why ] (build >> ignore)
        let src = at "loss"
        check "loss" (sprintf "the loss is `%s`" cfg.Loss.Name) (fun () ->
            cfg.Loss.Build(fc.Builder, out, target, src, cfg.HuberDelta))
        for m in cfg.Metrics do
            check "metrics" (sprintf "the metric `%s` compares the prediction with the target" m.Name) (fun () ->
                m.Build(fc.Builder, out, target, src))
    warnings

/// Compile a file with `--set` overrides of its top-level lets (LetSets; the sets that name train fields are left to
/// the train block): all diagnostics found, or the checked program.
let compileSetting (read: Reader) (sets: LetSets.Set list) (path: string) : Result<Compiled, Diagnostic list> =
    let path = Path.GetFullPath path
    match load read Map.empty [] path None with
    | Error ds -> Error ds
    | Ok(sources, decls) ->
    match LetSets.select path decls sets with
    | Error ds -> Error ds
    | Ok chosen ->
        let decls, originals = LetSets.apply path decls chosen
        let sources = sources.Add(preludeFile, Prelude.source)
        let prelude = Prelude.declarations.Force()
        let known = Builtins.Table.allNames
        // 1. names, all at once
        let resolveErrors =
            let scope0 = Builtins.Table.networkEnv |> Map.toSeq |> Seq.map fst |> Set.ofSeq
            let scope0 =
                prelude
                |> List.fold (fun (s: Set<string>) d -> match d with LetDecl lb -> s.Add lb.Name | _ -> s) scope0
            let trainScope = (Builtins.Table.trainEnv Map.empty) |> Map.toSeq |> Seq.map fst |> Set.ofSeq
            decls
            |> List.fold (fun (scope: Set<string>, ds) d ->
                match d with
                | LetDecl lb -> scope.Add lb.Name, ds @ Resolve.letBinding known scope lb
                | NetworkDecl nd -> scope, ds @ Resolve.network known scope nd
                | TrainDecl td ->
                    let explain d = td.Fields |> List.fold (fun d f -> TrainConfig.explainUnknown f d) d
                    scope, ds @ (Resolve.train known (Set.union scope trainScope) td |> List.map explain)
                | OpenDecl _ -> scope, ds) (scope0, [])
            |> snd
        if not resolveErrors.IsEmpty then Error resolveErrors
        else
        // 2. evaluate top-level declarations, check networks and train blocks
        let lets = decls |> List.choose (function LetDecl lb -> Some lb | _ -> None)
        let ctx = scratchContext ()
        let preludeEnv =
            prelude
            |> List.fold
                (fun env d -> match d with LetDecl lb -> Eval.bindLet ctx env lb | _ -> env)
                Builtins.Table.networkEnv
        let mutable errors = []
        let shadowed, shadowedSpans = Checks.shadowedParams decls
        let mutable warnings = shadowed
        let mutable networks = []
        let mutable trains = []
        let mutable env = preludeEnv
        // top-level names whose definition failed: a later "`x` is not defined" about them would only repeat it
        let mutable failed = Set.empty
        let report (ds: Diagnostic list) =
            let repeats (d: Diagnostic) =
                d.Code = "NN0301"
                && failed |> Set.exists (fun n ->
                    d.Message.StartsWith("`" + n + "`") || d.Message.StartsWith("`" + n + "."))
            errors <- errors @ (ds |> List.filter (repeats >> not))
        for d in decls do
            match d with
            | LetDecl lb ->
                let bind () =
                    match originals.TryFind lb.Name with
                    | Some original when lb.Span.File = path -> LetSets.checkKind (Eval.eval ctx env) original lb.Body
                    | _ -> ()
                    Eval.bindLet ctx env lb
                match catchDiag bind with
                | Ok e when holdsTensor (fst e[lb.Name]) ->
                    // its `param`/`state` nodes would belong to no network's graph
                    report [ Diagnostic.error "NN0302" lb.NameSpan
                                 (sprintf "`%s` is a tensor, but a top-level `let` holds only static values " lb.Name
                                  + "(numbers, lists, records, functions); declare tensors inside a network or a "
                                  + sprintf "function, such as `let %s x = ...`" lb.Name) ]
                    failed <- failed.Add lb.Name
                | Ok e -> env <- e
                | Error ds ->
                    report ds
                    failed <- failed.Add lb.Name
            | NetworkDecl nd ->
                if networks |> List.exists (fun n -> n.Decl.Name = nd.Name) then
                    errors <-
                        errors
                        @ [ Diagnostic.error "NN0311" nd.NameSpan
                                (sprintf "a network named `%s` is already declared" nd.Name) ]
                let net = { Decl = nd; Env = env }
                match catchDiag (fun () -> forward net (GraphBuilder()) true) with
                | Ok fwd ->
                    networks <- networks @ [ net ]
                    let roots = fwd.Output :: (fwd.Adapt |> List.map snd)
                    warnings <- warnings @ Checks.unusedParams nd fwd.Context.Builder.Nodes roots shadowedSpans
                | Error ds -> report ds
            | TrainDecl td when td.Span.File = path ->
                match networks |> List.tryFind (fun n -> n.Decl.Name = td.Network) with
                | None ->
                    let names = decls |> List.choose (function NetworkDecl n -> Some n.Name | _ -> None)
                    if not (List.contains td.Network names) then
                        let hint =
                            match suggest td.Network names with Some s -> sprintf "; did you mean `%s`?" s | None -> ""
                        errors <-
                            errors
                            @ [ Diagnostic.error "NN0413" td.NetworkSpan
                                    (sprintf "there is no network named `%s`%s" td.Network hint) ]
                | Some net ->
                    // the settings are checked now, before any data is read (`nn check` reports them)
                    let tctx = scratchContext ()
                    // a block without `data` is complete for the embedding API, which trains on arrays;
                    // `nn train` reports NN0406 when it plans the block
                    let check () =
                        let follow = Settings.follow lets env
                        let cfg =
                            TrainConfig.check tctx (Path.GetDirectoryName path) td follow
                                (Eval.eval tctx (Builtins.Table.trainEnv env))
                        checkInputs net cfg
                        checkTrain net cfg
                    match catchDiag check with
                    | Ok ws ->
                        trains <- trains @ [ td, env ]
                        warnings <- warnings @ ws
                    | Error ds -> report ds
            | _ -> ()
        if not errors.IsEmpty then Error errors
        else
            Ok { File = path; Sources = sources; Networks = networks; Trains = trains; Env = env; Lets = lets
                 Warnings = warnings; RunSource = LetSets.rewrite sources[path] originals chosen }

/// Compile a file: all diagnostics found, or the checked program.
let compileWith (read: Reader) (path: string) = compileSetting read [] path

/// Compile a file from disk.
let compileFile (path: string) = compileWith diskReader path

/// Compile source text held in memory (the embedding API); `fileName` is used in diagnostics.
let compileText (fileName: string) (text: string) =
    let full = Path.GetFullPath fileName
    compileWith (fun p -> if p = full then Ok text else diskReader p) fileName
