/// The memory a training run will allocate, planned from the step's graphs before anything is allocated: the
/// parameters and states (held by the engine, plus their initial values), and the training and evaluation steps bound
/// at the batch size (pooled buffers, sources, convolution workspace). `nn summary` shows it, `nn check` warns and
/// `nn train` (and the embedding API's `Fit`) stop with NN0630 when it exceeds the machine's memory or `--max-memory`.
module internal Nn.Compiler.MemoryPlan

open System.Collections.Generic
open Nn.Dsl
open Nn.Runtime.IR
open Nn.Runtime.Training
open Nn.Runtime.Engine

/// A planned run: bytes of the parameters and states, of the two bound steps, and the largest tensors.
type Estimate =
    { Batch: int
      ValueBytes: int64
      TrainBytes: int64
      EvalBytes: int64
      /// the largest tensors of the step (parameters, states or intermediate values) with their bytes
      Largest: (string * Node * int64) list }

    member e.TotalBytes = e.ValueBytes + e.TrainBytes + e.EvalBytes

let private stepOf (g: Graph) (batch: int) =
    let plan = Nn.Runtime.Engine.Planning.Planner.Build(Nn.Runtime.Rewrite.Passes.Optimize g)
    let dims = Dictionary<string, int>()
    for n in plan.Graph.Nodes do
        for s in n.Shape.Symbols do dims[s] <- batch
    StepMemory.Of(plan, dims)

/// Plan the memory of training `graphs` at `batch` rows per step.
let estimate (graphs: StepGraphs) (batch: int) : Estimate =
    let values = Seq.append graphs.Params graphs.States |> Seq.distinctBy (fun n -> n.Name) |> List.ofSeq
    let valueFloats = values |> List.sumBy (fun n -> n.Shape.FixedCount)
    let train = stepOf graphs.Train batch
    let eval = stepOf graphs.Eval batch
    let describe (n: Node) =
        if isNull n.Name then sprintf "a %O value of `%O`" n.Shape n.Op else sprintf "`%s` %O" n.Name n.Shape
    let workspace =
        match train.WorkspaceNode with
        | null -> Seq.empty
        | n ->
            Seq.singleton (
                sprintf "the workspace of `%s` (im2col)" ((string n.Op).ToLowerInvariant()), n, train.WorkspaceFloats
            )
    let largest =
        Seq.append (values |> Seq.map (fun n -> describe n, n, n.Shape.FixedCount))
            (train.Largest |> Seq.map (fun struct (n, c) -> describe n, n, c))
        |> Seq.append workspace
        |> Seq.map (fun (d, n, c) -> d, n, 4L * c)
        |> Seq.sortByDescending (fun (_, _, b) -> b)
        |> Seq.distinctBy (fun (d, _, _) -> d)
        |> Seq.truncate 3
        |> List.ofSeq
    // the engine's own copy of every value, and the initial values it was loaded from
    { Batch = batch
      ValueBytes = 2L * 4L * valueFloats
      TrainBytes = 4L * (train.TotalFloats - train.SourceFloats)
      EvalBytes = 4L * (eval.TotalFloats - eval.SourceFloats)
      Largest = largest }

/// A quick lower bound of the bytes training `net` at `batch` needs, from its forward graph alone (no
/// differentiation or planning): `nn check` plans the whole step only when this is a sizeable part of the limit.
let lowerBound (forwardNodes: System.Collections.Generic.IReadOnlyList<Node>) (batch: int) =
    let dims = Dictionary<string, int>()
    for n in forwardNodes do
        for s in n.Shape.Symbols do dims[s] <- batch
    4L * StepMemory.LowerBound(forwardNodes, dims)

/// The memory a run may use: `--max-memory`, else what the machine (or its container) makes available.
let limit (maxMemory: int64 option) =
    match maxMemory with
    | Some m -> m
    | None -> System.GC.GetGCMemoryInfo().TotalAvailableMemoryBytes

/// A size as a user writes it: `2GB`, `512MB`, `1.5GiB`, `800k` or a number of bytes (k, M, G, T are powers of 1024).
let parseSize (text: string) : int64 option =
    let t = text.Trim().ToUpperInvariant().Replace("IB", "").TrimEnd('B')
    let scale, digits =
        match t with
        | "" -> 0L, ""
        | _ ->
            match t[t.Length - 1] with
            | 'K' -> 1L <<< 10, t[.. t.Length - 2]
            | 'M' -> 1L <<< 20, t[.. t.Length - 2]
            | 'G' -> 1L <<< 30, t[.. t.Length - 2]
            | 'T' -> 1L <<< 40, t[.. t.Length - 2]
            | _ -> 1L, t
    match
        System.Double.TryParse(
            digits, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture
        )
    with
    | true, v when scale > 0L && v > 0.0 && System.Double.IsFinite v && v * float scale < 9e18 ->
        Some(int64 (v * float scale))
    | _ -> None

/// Bytes as users read them: 1.5 GiB, 820.0 MiB, 12 KiB.
let bytes (b: int64) =
    if b >= (1L <<< 30) then sprintf "%.1f GiB" (float b / float (1L <<< 30))
    elif b >= (1L <<< 20) then sprintf "%.1f MiB" (float b / float (1L <<< 20))
    elif b >= 1024L then sprintf "%.0f KiB" (float b / 1024.0)
    else sprintf "%d B" b

let private spanOf (n: Node) (fallback: Span) =
    let at = n.Span
    if isNull (box at) || at.Line <= 0 then fallback
    else Span.make at.File (at.Line, at.Column) (at.EndLine, at.EndColumn)

/// NN0630 when the planned memory exceeds `limit` bytes, or a tensor has more elements than one array can hold:
/// at the largest tensor's line, with the largest tensors and the step's parts as notes. `where` is the span to
/// report at when a tensor has no source line (the `train` block).
let check (e: Estimate) (limit: int64) (severity: Severity) (where: Span) : Diagnostic option =
    let tooLong = e.Largest |> List.tryFind (fun (_, _, b) -> b / 4L > int64 System.Array.MaxLength)
    let over = e.TotalBytes > limit
    if tooLong.IsNone && not over then None
    else
        let (_, top, _) = e.Largest.Head
        let message =
            match tooLong with
            | Some(what, _, b) ->
                sprintf "%s has %s elements, more than one array can hold (%s)" what
                    ((b / 4L).ToString "N0") ((int64 System.Array.MaxLength).ToString "N0")
            | None ->
                sprintf "training at batch %d needs about %s of memory, more than the %s available "
                    e.Batch (bytes e.TotalBytes) (bytes limit)
                + "(set `--max-memory` to change the limit)"
        let d = { Diagnostic.error "NN0630" (spanOf top where) message with Severity = severity }
        let d =
            e.Largest
            |> List.filter (fun (_, _, b) -> b * 100L >= e.TotalBytes)
            |> List.fold
                (fun d (what, n, b) ->
                    d |> Diagnostic.withNote (Some(spanOf n where)) (sprintf "%s: %s" what (bytes b)))
                d
        let parts =
            sprintf "parameters and states (with their initial values) %s, training step %s, evaluation step %s"
                (bytes e.ValueBytes) (bytes e.TrainBytes) (bytes e.EvalBytes)
        Some(d |> Diagnostic.withNote None parts)
