/// What the commands share: option parsing, loading a program, choosing the executor, and turning every expected
/// failure (program, data, weights, run time) into a diagnostic with exit code 1.
module internal Nn.Cli.Common

open System
open System.IO
open Nn.Dsl
open Nn.Runtime
open Nn.Runtime.Data
open Nn.Runtime.Training
open Nn.Runtime.Execution
open Nn.Compiler

/// A mistake on the command line or a request that cannot be met: printed as `nn: message`, exit code 1.
exception UserError of string

/// Diagnostics already complete (the program's errors): printed with their source lines, exit code 1.
exception Reported of Diagnostic list

let fail message : 'a = raise (UserError message)

// ---------------------------------------------------------------- options

/// How an option takes its value.
type ArgKind =
    /// `--quiet`
    | Switch
    /// `--out DIR` (the last one wins)
    | Value
    /// `--set F=V`, repeatable
    | Many
    /// `--resume [DIR]`: takes the next word when it is an existing folder
    | OptionalValue

type Args =
    { Positional: string list
      Values: Map<string, string list> }
    member a.Has name = a.Values.ContainsKey name
    member a.Get name = a.Values.TryFind name |> Option.bind List.tryLast
    member a.All name = a.Values.TryFind name |> Option.defaultValue []
    member a.Int name =
        a.Get name |> Option.map (fun v ->
            match Int32.TryParse v with
            | true, n when n > 0 -> n
            | _ -> fail (sprintf "%s needs a positive whole number, got `%s`" name v))
    member a.Choice name (allowed: string list) =
        a.Get name |> Option.map (fun v ->
            if List.contains v allowed then v
            else fail (sprintf "%s must be one of %s, got `%s`" name (String.concat ", " allowed) v))

/// Parse the words after the verb against the options of a command.
let parseArgs (verb: string) (spec: (string * ArgKind) list) (args: string list) : Args =
    let rec go (acc: Args) (args: string list) =
        let add name v = { acc with Values = acc.Values.Add(name, acc.All name @ [ v ]) }
        match args with
        | [] -> { acc with Positional = List.rev acc.Positional }
        | a :: rest when a.StartsWith "--" ->
            match spec |> List.tryFind (fun (n, _) -> n = a) with
            | None -> fail (sprintf "unknown option `%s` for `nn %s` (see `nn %s --help`)" a verb verb)
            | Some(_, Switch) -> go (add a "") rest
            | Some(_, OptionalValue) ->
                match rest with
                | v :: rest' when not (v.StartsWith "-") && Directory.Exists v -> go (add a v) rest'
                | _ -> go (add a "") rest
            | Some(_, (Value | Many)) ->
                match rest with
                | v :: rest' -> go (add a v) rest'
                | [] -> fail (sprintf "%s needs a value (see `nn %s --help`)" a verb)
        | a :: rest -> go { acc with Positional = a :: acc.Positional } rest
    go { Positional = []; Values = Map.empty } args

/// The one FILE argument of a command.
let fileArg (verb: string) (a: Args) =
    match a.Positional with
    | [ f ] -> f
    | [] -> fail (sprintf "`nn %s` needs a FILE" verb)
    | _ ->
        fail (
            sprintf "`nn %s` takes one FILE, got %s"
                verb (a.Positional |> List.map (sprintf "`%s`") |> String.concat " ")
        )

/// The source the `--set` overrides are parsed from: one override a line, so their diagnostics show the override
/// with carets under the bad part like any other diagnostic (`--set(1,8): error ...`).
let setFile = "--set"
let mutable private setSource: string option = None

/// `--set NAME=VALUE` words parsed, each with where its name stands; a value that does not parse is reported at its
/// text. Which names are known is the compiler's to say (LetSets.select: train fields and top-level lets).
let parseSets (sets: string list) : LetSets.Set list =
    setSource <- Some(String.Join("\n", sets))
    let lines = sets |> List.scan (fun line (s: string) -> line + 1 + (s |> Seq.filter ((=) '\n') |> Seq.length)) 1
    List.zip sets (List.take sets.Length lines) |> List.map (fun (s, line) ->
        match s.IndexOf '=' with
        | i when i > 0 && not (s.Substring(0, i).Contains '\n') ->
            let raw = s.Substring(0, i)
            let name = raw.Trim()
            let col = raw.Length - raw.TrimStart().Length + 1
            let span = Span.make setFile (line, col) (line, col + max 1 name.Length)
            // Blank lines and columns before the value, so its spans are where it stands in the override.
            match
                Parser.parseExpr setFile
                    (System.String('\n', line - 1) + System.String(' ', i + 1) + s.Substring(i + 1))
            with
            | Ok e ->
                { LetSets.Name = name; LetSets.NameSpan = span; LetSets.Value = e; LetSets.Text = s.Substring(i + 1)
                  LetSets.FromRun = false }
            | Error ds -> raise (Reported ds)
        | _ -> fail (sprintf "--set needs NAME=VALUE, got `%s`" s))

/// The `--set` overrides of `train` fields (those naming top-level lets change the program when it is compiled).
let overrides (sets: string list) =
    parseSets sets
    |> List.filter (fun s -> List.contains s.Name TrainConfig.fieldNames)
    |> List.map (fun s -> s.Name, s.Value)

/// The name of a `--set NAME=VALUE` word.
let setName (s: string) = match s.IndexOf '=' with i when i > 0 -> s.Substring(0, i).Trim() | _ -> s

// ---------------------------------------------------------------- programs

let mutable private known: Map<string, string> = Map.empty

let private compileParsed (file: string) (sets: LetSets.Set list) : Compile.Compiled =
    match Compile.compileSetting Compile.diskReader sets file with
    | Error ds -> raise (Reported ds)
    | Ok c ->
        known <- c.Sources
        Output.diagnostics (Output.sourcesFrom known) c.Warnings
        c

/// Compile a program with `--set` words (those naming top-level lets replace their values; a name that is neither a
/// train field nor a top-level let is NN0401); its errors are reported, its warnings printed (standard error) and the
/// command goes on.
let compileSetting (file: string) (sets: string list) : Compile.Compiled =
    compileParsed file (parseSets sets)

/// Compile a program with the `--set` words of the run whose weights are read (`letSetsOf`; those naming no
/// top-level let of this program are ignored), then the command line's.
let compileForRun (file: string) (runSets: string list) (sets: string list) : Compile.Compiled =
    let parsed = parseSets (runSets @ sets) |> List.mapi (fun i s -> { s with FromRun = i < runSets.Length })
    compileParsed file parsed

/// Compile a program; its errors are reported, its warnings printed (standard error) and the command goes on.
let compile (file: string) : Compile.Compiled = compileSetting file []

/// `--set` words split into those that change top-level lets and those that change `train` fields.
let private splitSets (sets: string list) =
    sets |> List.partition (fun s -> not (List.contains (setName s) TrainConfig.fieldNames))

/// The `--set` words a checkpoint was trained with, from one read of its header: those that change top-level lets
/// (what rebuilds its network as it was trained) and those that change `train` fields (metrics, validation, ...: what
/// evaluates it as it was trained). Weights that cannot be read give none here: reading them is reported later,
/// after the program's own errors.
let runSetsOf (weights: string) : string list * string list =
    splitSets (try Checkpoint.sets weights with :? DataException -> [])

/// The `--set` words a checkpoint was trained with that change top-level lets (`runSetsOf`).
let letSetsOf (weights: string) : string list = fst (runSetsOf weights)

/// `letSetsOf` from the metadata the weights' reader ahead found (`nn predict`: one parse of the header, on that
/// thread; ~0.9 ms of the command thread here, issue #18), or `letSetsOf` itself when it could not read the header.
let letSetsAhead (ahead: Checkpoint.WeightsAhead) (weights: string) : string list =
    match ahead.Metadata() with
    | Some m -> fst (splitSets (Checkpoint.setsIn m))
    | None -> letSetsOf weights

/// A network by name, or the only one / the first trained one.
let network (c: Compile.Compiled) (name: string option) : Compile.NetworkInfo =
    match name with
    | Some n ->
        match c.Networks |> List.tryFind (fun x -> x.Decl.Name = n) with
        | Some net -> net
        | None ->
            let names = c.Networks |> List.map (fun x -> sprintf "`%s`" x.Decl.Name) |> String.concat ", "
            fail (sprintf "%s has no network named `%s` (it has %s)" c.File n (if names = "" then "none" else names))
    | None ->
        match c.Trains, c.Networks with
        | (td, _) :: _, _ -> c.Networks |> List.find (fun x -> x.Decl.Name = td.Network)
        | [], [ net ] -> net
        | [], [] -> fail (sprintf "%s declares no network" c.File)
        | [], nets ->
            fail (
                sprintf "%s declares several networks; choose one with --network (%s)"
                    c.File (nets |> List.map (fun n -> n.Decl.Name) |> String.concat ", ")
            )

/// The train block of `--train NAME` (a network's name), or the first.
let trainBlock (c: Compile.Compiled) (name: string option) =
    match c.Trains |> List.filter (fun (td, _) -> name.IsNone || Some td.Network = name) with
    | b :: _ -> b
    | [] ->
        fail (sprintf "%s has no train block%s" c.File (match name with Some n -> sprintf " for `%s`" n | None -> ""))

// ---------------------------------------------------------------- executors

/// The step executors a command can run on.
type Engine =
    | Reference
    | Fused

let engines = [ "fused"; "reference" ]

/// The engine used when --engine is not given: the fused engine (the reference interpreter stays as the oracle).
let defaultEngine = Fused

let engineOf (a: Args) =
    match a.Choice "--engine" engines with
    | Some "fused" -> Fused
    | Some _ -> Reference
    | None -> defaultEngine

/// The single place an executor is created.
let executor (engine: Engine) (graphs: StepGraphs)
             (initial: Collections.Generic.IReadOnlyDictionary<string, HostTensor>) : IStepExecutor =
    match engine with
    | Reference -> ReferenceExecutor(graphs, initial) :> IStepExecutor
    | Fused ->
        Nn.Runtime.Executors.StepExecutor.Create(
            graphs, initial,
            ExecutorOptions(Engine = "fused", Threads = Nn.Runtime.Kernels.WorkerPool.Shared.MaxThreads))

/// The executor of `nn predict`: the fused engine plans, binds and holds only the prediction graph and its weights
/// `values` (which it copies); the reference interpreter runs the step graphs with `values` over initial ones.
let predictor (engine: Engine) (graphs: StepGraphs)
              (values: Collections.Generic.IReadOnlyDictionary<string, HostTensor>) : IStepExecutor =
    match engine with
    | Reference ->
        let exec = executor Reference graphs (Initializers.ForGraph(graphs.Train, 0UL))
        exec.Load values
        exec
    | Fused ->
        Nn.Runtime.Executors.StepExecutor.Create(
            graphs, values,
            ExecutorOptions(Engine = "fused", Threads = Nn.Runtime.Kernels.WorkerPool.Shared.MaxThreads,
                            PredictOnly = true))

/// `--pipeline K [--micro-batches M]`: the stages of a pipelined training step and its micro-batches per batch (None:
/// the default, 4 per stage); None without --pipeline. A value that is not a whole number of at least 1 is NN0820.
let pipelineOf (a: Args) : (int * int option) option =
    let parse name =
        a.Get name |> Option.map (fun v ->
            match Int32.TryParse v with
            | true, n when n >= 1 -> n
            | _ ->
                raise (NnRuntimeException(Nn.Runtime.Distributed.PipelineCodes.BadStages, SourceSpan.None,
                                          sprintf "%s needs a whole number of at least 1, got `%s`" name v)))
    match parse "--pipeline", parse "--micro-batches" with
    | Some k, m -> Some(k, m)
    | None, Some _ ->
        raise (NnRuntimeException(Nn.Runtime.Distributed.PipelineCodes.BadStages, SourceSpan.None,
                                  "--micro-batches splits the batch of a pipeline: give --pipeline K too"))
    | None, None -> None

/// The executor of a training step pipelined over `stages` ranks (`nn train --pipeline K`); one stage is the
/// single process's executor. `comm`: the MPI job's communicator (one stage per rank), or null: the stages run as
/// threads of this process over LocalCommunicator.
let pipelined (engine: Engine) (graphs: StepGraphs)
              (initial: Collections.Generic.IReadOnlyDictionary<string, HostTensor>) (network: string)
              (stages: int, micro: int option) (comm: Nn.Runtime.Distributed.ICommunicator) : IStepExecutor =
    if stages = 1 then executor engine graphs initial
    elif engine = Reference then
        raise (NnRuntimeException(Nn.Runtime.Distributed.PipelineCodes.Combination, SourceSpan.None,
                                  "--pipeline runs on the fused engine; leave out --engine reference"))
    else
        Nn.Runtime.Distributed.Pipeline.Create(
            graphs, initial, stages, Option.toNullable micro, network, comm)

/// `--threads N`: the threads the kernels use, fewer while a second thread does not pay (a busy machine, or two
/// virtual processors seldom running at once: `Engine.StepThreads` times both); `NN_THREADS_ADAPTIVE=0` always uses
/// N. On by default since its probes time each side in a block after an untimed step (bench/README.md, the eighth
/// #18 session); before that, opt-in: idle, its alternating probes had chosen one thread for the `mlp` job.
let applyThreads (a: Args) =
    a.Int "--threads" |> Option.iter (fun n -> Nn.Runtime.Kernels.WorkerPool.Shared.MaxThreads <- n)
    Nn.Runtime.Kernels.WorkerPool.Shared.Adaptive <- Environment.GetEnvironmentVariable "NN_THREADS_ADAPTIVE" <> "0"

// ---------------------------------------------------------------- errors

/// Run a command body: expected failures become diagnostics (each followed by the `N errors` footer) or `nn:`
/// lines, with exit code 1. Runtime errors become diagnostics through RuntimeErrors.tryDiagnostics, the function the
/// embedding API uses too.
let guarded (body: unit -> int) : int =
    let sources file = if file = setFile then setSource else Output.sourcesFrom known file
    let show ds = Output.report None sources ds
    try body () with
    | UserError m ->
        eprintfn "nn: %s" m
        1
    | Reported ds ->
        show ds
        1
    | :? ArgumentException as e when e.GetType() = typeof<ArgumentException> ->
        // the trainer's documented rejections of bad settings
        eprintfn "nn: %s" e.Message
        1
    | e ->
        match RuntimeErrors.tryDiagnostics "nn" e with
        | Some ds ->
            show ds
            1
        | None -> reraise ()
