/// Helpers shared by the evaluator and the built-ins: errors at spans, span conversion, parameter naming.
module internal Nn.Compiler.Context

open System.Collections.Generic
open Nn.Dsl
open Nn.Runtime
open Nn.Runtime.IR

/// A number as a message shows it: whole numbers in full (`1000000000`, not `1e+09`), others in the shortest form
/// that reads back as the same number (`0.1`, `1e-05`, `1e+39`).
let showNumber (x: float) =
    if x = floor x && abs x < 1e21 then x.ToString("0", System.Globalization.CultureInfo.InvariantCulture)
    else x.ToString("R", System.Globalization.CultureInfo.InvariantCulture).Replace("E", "e")

/// Stop evaluation with a diagnostic at a span.
let fail code (span: Span) message : 'a = Diagnostic.fail code span message

/// A fresh context for evaluating one network in one mode.
let create (forward: Nn.Runtime.Ops.ForwardContext) apply =
    { Builder = forward.Builder
      Training = forward.Training
      Forward = forward
      Scope = []
      Counters = Dictionary()
      ParamNames = HashSet()
      Depth = 0
      Budget = { Calls = 0L; Clock = System.Diagnostics.Stopwatch.StartNew() }
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
    ctx.Scope <- (name + string k) :: saved
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
    RuntimeErrors.within span [] (fun () -> f span)

/// Names longer than this are never typos of a known name: no suggestion is searched for them, so a
/// 100,000-character identifier costs one length comparison per known name, not a 10^10-cell table.
let private longestSuggested = 64

/// Edit distance (with transpositions), for "did you mean" suggestions: three rows, O(|a|·|b|) time.
let private distance (a: string) (b: string) =
    let mutable prev2 = Array.zeroCreate (b.Length + 1)
    let mutable prev = Array.init (b.Length + 1) id
    let mutable row = Array.zeroCreate (b.Length + 1)
    for i in 1 .. a.Length do
        row[0] <- i
        for j in 1 .. b.Length do
            let cost = if System.Char.ToLowerInvariant a[i - 1] = System.Char.ToLowerInvariant b[j - 1] then 0 else 1
            row[j] <- min (min (prev[j] + 1) (row[j - 1] + 1)) (prev[j - 1] + cost)
            // a swap of two neighbours (`lable` for `label`) is one typo, not two
            if i > 1 && j > 1 && a[i - 1] = b[j - 2] && a[i - 2] = b[j - 1] then
                row[j] <- min row[j] (prev2[j - 2] + 1)
        let t = prev2
        prev2 <- prev
        prev <- row
        row <- t
    prev[b.Length]

/// The closest known name, if close enough to be a likely typo. Names of more than 64 characters get no
/// suggestion, and a known name whose length differs by more than the allowed distance is skipped unmeasured.
let suggest (name: string) (known: string seq) =
    if name.Length > longestSuggested then None
    else
        let limit = max 1 (name.Length / 3)
        known
        |> Seq.filter (fun k -> k <> name && abs (k.Length - name.Length) <= limit)
        |> Seq.map (fun k -> k, distance name k)
        |> Seq.filter (fun (_, d) -> d <= limit)
        |> Seq.sortBy snd
        |> Seq.tryHead
        |> Option.map fst

/// A name as a message quotes it: one of more than 64 characters is cut to its first 60 and its length, so a
/// message about a 5 MB identifier stays one line.
let shownName (name: string) =
    if name.Length <= longestSuggested then name
    else sprintf "%s… (%d characters)" (name.Substring(0, 60)) name.Length
