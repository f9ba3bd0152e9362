/// Helpers shared by the evaluator and the built-ins: errors at spans, span conversion, parameter naming.
module Nn.Compiler.Context

open System.Collections.Generic
open Nn.Dsl
open Nn.Runtime
open Nn.Runtime.IR

/// Stop evaluation with a diagnostic at a span.
let fail code (span: Span) message : 'a = Diagnostic.fail code span message

/// The runtime's span for a syntax span (graph nodes remember the user's line).
let toSource (s: Span) : SourceSpan =
    SourceSpan(s.File, s.Start.Line, s.Start.Column, s.End.Line, s.End.Column)

/// A fresh context for evaluating one network in one mode.
let create (forward: Nn.Runtime.Ops.ForwardContext) apply =
    { Builder = forward.Builder
      Training = forward.Training
      Forward = forward
      Scope = []
      Counters = Dictionary()
      ParamNames = HashSet()
      Depth = 0
      CallSite = None
      Adapt = ResizeArray()
      Calls = ResizeArray()
      Apply = apply }

/// The file name of the prelude's source.
let preludeFile = "<prelude>"

/// The span a node or an error should carry: prelude code reports at the user's call site.
let userSpan (ctx: EvalContext) (span: Span) =
    match ctx.CallSite with
    | Some site when span.File = preludeFile -> site
    | _ -> span

/// The dotted path of the current scope ("" at the network's top level).
let path (ctx: EvalContext) = ctx.Scope |> List.rev |> String.concat "."

/// Run `f` inside a new naming scope for a call of function `name`: the k-th call of `name` within the
/// current scope gets the segment `name{k}` (k from 1), so names are stable and do not depend on later calls.
let inScope (ctx: EvalContext) (name: string) (f: unit -> 'a) : 'a =
    let key = path ctx + "/" + name
    let k = (match ctx.Counters.TryGetValue key with | true, c -> c | _ -> 0) + 1
    ctx.Counters[key] <- k
    let saved = ctx.Scope
    ctx.Scope <- (sprintf "%s%d" name k) :: saved
    try
        let result = f ()
        match box result with
        | :? Value as v ->
            match v with
            | VTensor n -> ctx.Calls.Add((path ctx, n))
            | _ -> ()
        | _ -> ()
        result
    finally ctx.Scope <- saved

/// The full name of a parameter declared as `local` in the current scope; a second declaration with the
/// same path in one evaluation (a `param` inside a loop) gets a numeric suffix so it is a distinct tensor.
let paramName (ctx: EvalContext) (local: string) =
    let p = path ctx
    let baseName = if p = "" then local else p + "." + local
    let mutable name = baseName
    let mutable k = 1
    while ctx.ParamNames.Contains name do
        k <- k + 1
        name <- sprintf "%s_%d" baseName k
    ctx.ParamNames.Add name |> ignore
    name

/// Run a graph-building action, turning the runtime's shape errors into diagnostics at `span`.
let graph (ctx: EvalContext) (span: Span) (f: SourceSpan -> 'a) : 'a =
    let span = userSpan ctx span
    try f (toSource span)
    with :? ShapeException as e -> fail e.Code span e.Message

/// Edit distance (with transpositions), for "did you mean" suggestions.
let private distance (a: string) (b: string) =
    let d = Array2D.zeroCreate (a.Length + 1) (b.Length + 1)
    for i in 0 .. a.Length do d[i, 0] <- i
    for j in 0 .. b.Length do d[0, j] <- j
    for i in 1 .. a.Length do
        for j in 1 .. b.Length do
            let cost = if System.Char.ToLowerInvariant a[i - 1] = System.Char.ToLowerInvariant b[j - 1] then 0 else 1
            d[i, j] <- min (min (d[i - 1, j] + 1) (d[i, j - 1] + 1)) (d[i - 1, j - 1] + cost)
            // a swap of two neighbours (`lable` for `label`) is one typo, not two
            if i > 1 && j > 1 && a[i - 1] = b[j - 2] && a[i - 2] = b[j - 1] then
                d[i, j] <- min d[i, j] (d[i - 2, j - 2] + 1)
    d[a.Length, b.Length]

/// The closest known name, if close enough to be a likely typo.
let suggest (name: string) (known: string seq) =
    known
    |> Seq.map (fun k -> k, distance name k)
    |> Seq.filter (fun (k, d) -> d <= max 1 (name.Length / 3) && k <> name)
    |> Seq.sortBy snd
    |> Seq.tryHead
    |> Option.map fst
