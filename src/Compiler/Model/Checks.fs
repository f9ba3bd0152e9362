/// Checks of a program that look past names and shapes, for mistakes that would otherwise train silently to a
/// wrong result: parameters nothing uses (a `param` shadowed before any use, or one no output depends on), a loss
/// that does not fit what the network computes (`crossEntropy` on scores, a softmax before `softmaxCrossEntropy`),
/// and data that does not fit a network's inputs. Errors are raised; warnings are returned.
module internal Nn.Compiler.Checks

open System.Collections.Generic
open Nn.Dsl
open Nn.Runtime
open Nn.Runtime.IR
open Nn.Runtime.Ops

/// A warning: the program runs, but probably not as meant.
let warning code span message = { Diagnostic.error code span message with Severity = Severity.Warning }

let private note (span: Span) message = { Span = Some span; Message = message }

let private plural n = if n = 1 then "" else "s"

// ---------------------------------------------------------------- parameters nothing uses

/// Whether `name` may be read in `e`: any identifier with that name (or `name.field`), whatever binds it. Being
/// generous here means a shadowing is only reported when the shadowed `param` surely was not read.
let rec private mentions (name: string) (e: Expr) =
    let go = mentions name
    match e with
    | Number _ | String _ | Bool _ -> false
    | Ident(n, _) -> n = name || n.StartsWith(name + ".")
    | App(f, a, _) -> go f || go a
    | Lambda(ps, body, _) -> ps |> List.exists (fun p -> annMentions name p.Shape) || go body
    | Infix(_, l, r, _, _) -> go l || go r
    | Prefix(_, x, _) | Paren(x, _) | Member(x, _, _) -> go x
    | List(items, _) | Tuple(items, _) -> List.exists go items
    | Record(fields, _) -> fields |> List.exists (fun f -> go f.Value)
    | If(c, t, f, _) -> go c || go t || go f
    | Slice(t, ranges, _) ->
        go t
        || ranges |> List.exists (function
            | All _ -> false
            | Index(i, _) -> go i
            | Range(lo, hi, _) -> Option.exists go lo || Option.exists go hi)
    | Block(stmts, result, _) -> List.exists (stmtMentions name) stmts || go result

and private annMentions name (ann: ShapeAnn option) =
    ann |> Option.exists (fun a -> a.Dims |> List.exists (mentions name))

/// Whether a statement may read `name` (in its value, shape or initializer; the name it binds does not count).
and private stmtMentions name (s: Stmt) =
    match s with
    | LetStmt lb -> lb.Params |> List.exists (fun p -> annMentions name p.Shape) || mentions name lb.Body
    | ParamStmt pb -> pb.Shape.Dims |> List.exists (mentions name) || mentions name pb.Init
    | StateStmt sb -> annMentions name sb.Shape || mentions name sb.Value

let private binds (s: Stmt) =
    match s with
    | LetStmt lb -> lb.Name, lb.NameSpan
    | ParamStmt pb -> pb.Name, pb.NameSpan
    | StateStmt sb -> sb.Name, sb.NameSpan

/// Every `param` of a block that a later statement of the same block binds again before anything reads it:
/// (the shadowed declaration, the span of the name that shadows it). Nested blocks are searched too.
let rec private shadowsIn (e: Expr) : (ParamBinding * Span) list =
    let inStmt (s: Stmt) =
        match s with
        | LetStmt lb -> shadowsIn lb.Body
        | ParamStmt pb -> shadowsIn pb.Init
        | StateStmt sb -> shadowsIn sb.Value
    let nested =
        match e with
        | Block(stmts, result, _) -> (stmts |> List.collect inStmt) @ shadowsIn result
        | App(f, a, _) -> shadowsIn f @ shadowsIn a
        | Lambda(_, body, _) -> shadowsIn body
        | Infix(_, l, r, _, _) -> shadowsIn l @ shadowsIn r
        | Prefix(_, x, _) | Paren(x, _) | Member(x, _, _) | Slice(x, _, _) -> shadowsIn x
        | List(items, _) | Tuple(items, _) -> items |> List.collect shadowsIn
        | Record(fields, _) -> fields |> List.collect (fun f -> shadowsIn f.Value)
        | If(c, t, f, _) -> shadowsIn c @ shadowsIn t @ shadowsIn f
        | Number _ | String _ | Bool _ | Ident _ -> []
    let here =
        match e with
        | Block(stmts, _, _) ->
            stmts |> List.indexed |> List.choose (fun (i, s) ->
                match s with
                | ParamStmt pb ->
                    // the statements after it, up to the first that binds the name again (whose value is read first)
                    let rec scan rest =
                        match rest with
                        | [] -> None
                        | s :: rest ->
                            if stmtMentions pb.Name s then None
                            else
                                let name, at = binds s
                                if name = pb.Name then Some(pb, at) else scan rest
                    scan (List.skip (i + 1) stmts)
                | _ -> None)
        | _ -> []
    here @ nested

/// NN0320: a `param` bound again in its block before any use: it would be created, counted and saved, never used.
let shadowedParams (decls: Decl list) : Diagnostic list * Span list =
    let found =
        decls |> List.collect (function
            | LetDecl lb -> shadowsIn lb.Body
            | NetworkDecl nd -> shadowsIn nd.Body
            | _ -> [])
    let ds =
        found |> List.map (fun (pb, again) ->
            warning "NN0320" pb.NameSpan
                (sprintf "the parameter `%s` is never used: line %d binds `%s` again before anything reads it %s"
                    pb.Name again.Start.Line pb.Name "(it would still be created, counted in `summary` and saved)")
            |> fun d ->
                let n = pb.Name
                let fix = sprintf "`%s` is bound again here; remove the first `param %s` or rename one of them" n n
                { d with Notes = [ note again fix ] })
    ds, found |> List.map (fun (pb, _) -> pb.Span)

/// NN0321: parameters of a network that its output does not depend on (nor an adapted state's expression), one
/// warning per declaration, naming the paths it made. `skip`: declarations already reported (NN0320).
let unusedParams (nd: NetworkDecl) (nodes: IReadOnlyList<Node>) (roots: Node list) (skip: Span list) : Diagnostic list =
    // an explicit stack, not recursion: a `repeat 20000` network is a chain 100,000 nodes deep
    let used = HashSet<int>()
    let pending = Stack<Node>(roots)
    while pending.Count > 0 do
        let n = pending.Pop()
        if used.Add n.Id then for i in n.Inputs do pending.Push i
    nodes
    |> Seq.filter (fun n -> n.Op = OpKind.Param && not (used.Contains n.Id))
    |> Seq.groupBy (fun n -> n.Span.File, n.Span.Line, n.Span.Column, n.Span.EndLine, n.Span.EndColumn)
    |> Seq.map (fun (_, ps) -> (Seq.head ps).Span, ps |> Seq.map (fun p -> p.Name) |> List.ofSeq)
    |> Seq.filter (fun (span, _) -> not (skip |> List.exists (Span.same span)))
    |> Seq.map (fun (span, names) ->
        let shown = names |> List.truncate 3 |> List.map (sprintf "`%s`") |> String.concat ", "
        let shown = if names.Length > 3 then sprintf "%s and %d more" shown (names.Length - 3) else shown
        let what = if names.Length = 1 then "parameter " + shown else "parameters " + shown
        { warning "NN0321" span
            (sprintf "the output of `%s` does not depend on the %s: %s" nd.Name what
                "it is created, counted in `summary` and saved, but nothing uses it")
            with Notes = [ note nd.NameSpan (sprintf "the network `%s` is declared here" nd.Name) ] })
    |> List.ofSeq

// ---------------------------------------------------------------- the loss against the network

/// The data source of a `train` block against the network's inputs (`inputs`, as the forward pass declares them),
/// before any file is read: NN0440 when the number of CSV feature lists or NPY feature files differs from the number
/// of inputs, NN0441 when a CSV list's number of columns differs from its input's declared width (several inputs),
/// NN0442 when a network with several inputs is fed by a source of one input (`idx`, `rows`, `generate`, a CSV
/// without feature lists).
let inputsFit (nd: NetworkDecl) (inputs: (string * Node) list) (data: TrainConfig.DataSource) (dataSpan: Span) =
    let count = inputs.Length
    let names = inputs |> List.map (fun (n, _) -> "`" + n + "`") |> String.concat ", "
    // built only for an error: formatting it on every compile was ~0.4 ms of `nn predict` (issue #18)
    let declared () = note nd.NameSpan (sprintf "`%s` takes %d input%s (%s)" nd.Name count (plural count) names)
    let raiseWith code span message =
        raise (DiagnosticException { Diagnostic.error code span message with Notes = [ declared () ] })
    let oneInput (what: string) =
        if count > 1 then
            raiseWith "NN0442" dataSpan
                (sprintf "%s feeds one input, but `%s` takes %d: give one list of columns per input " what nd.Name
                    count
                 + "(csv \"f.csv\" { features = [[..]; [..]] }) or one file per input (npy [\"a.npy\"; \"b.npy\"] ..)")
    match data with
    | TrainConfig.Csv(_, groups, _, table) ->
        match groups with
        | [] | [ [], _ ] -> oneInput "a CSV file without `features` lists"
        | _ when groups.Length <> count ->
            raiseWith "NN0440" (if groups.Length = 1 then snd groups.Head else dataSpan)
                (sprintf "`features` gives %d list%s of columns, but `%s` takes %d input%s: %s"
                    groups.Length (plural groups.Length) nd.Name count (plural count) "one list per input, in order")
        | _ when count > 1 ->
            List.zip groups inputs |> List.iter (fun ((cols, at), (name, node)) ->
                let s = node.Shape
                // a categorical column's width is its vocabulary's size, known once the file is read (NN0572)
                let oneHot = cols |> List.exists (fun c -> List.contains c table.Categorical)
                if s.Rank <> 2 || (s[1].IsFixed && s[1].Size <> cols.Length && not oneHot) then
                    raiseWith "NN0441" at
                        (sprintf "this list has %d column%s, so it gives `%s` rows of %d numbers, but `%s` is %O"
                            cols.Length (plural cols.Length) name cols.Length name s))
        | _ -> ()
    | TrainConfig.Npy(files, _) when files.Length <> count ->
        let at = if files.Length = 1 then snd files.Head else dataSpan
        raiseWith "NN0440" at
            (sprintf "`npy` is given %d features file%s, but `%s` takes %d input%s: one file per input, in order"
                files.Length (plural files.Length) nd.Name count (plural count))
    | TrainConfig.Npy _ -> ()
    | TrainConfig.Idx _ -> oneInput "`idx`"
    | TrainConfig.Rows(xs, _, _) -> if xs.Length > 0 then oneInput "`rows`"
    | TrainConfig.Generate _ -> oneInput "`generate`"

/// The span of the `|>` whose right side is written at `at` in `e`, if `at` is the function of a pipeline.
let rec private pipeInto (at: Span) (e: Expr) : Span option =
    let go = pipeInto at
    match e with
    | Infix("|>", _, r, opSpan, _) when Span.same r.Span at -> Some opSpan
    | Infix(_, l, r, _, _) -> go l |> Option.orElse (go r)
    | App(f, a, _) -> go f |> Option.orElse (go a)
    | Paren(x, _) | Prefix(_, x, _) | Member(x, _, _) | Lambda(_, x, _) | Slice(x, _, _) -> go x
    | Block(_, result, _) -> go result
    | If(_, t, f, _) -> go t |> Option.orElse (go f)
    | List(items, _) | Tuple(items, _) -> List.tryPick go items
    | _ -> None

/// A softmax over the last axis: probabilities, as `crossEntropy` expects.
let private isSoftmax (n: Node) =
    n.Op = OpKind.Softmax && (match n.Attrs.Axes with [| ax |] -> ax = n.Shape.Rank - 1 | _ -> false)

/// NN0421 (error): `crossEntropy` on an output that is not a softmax over the last axis (scores are not
/// probabilities: the loss would fall to 0 by raising every score). NN0422 (warning): a softmax before
/// `softmaxCrossEntropy`, which applies one itself. `lossSpan` is the `loss` field; `computes` a note at the output.
let lossFits (nd: NetworkDecl) (loss: LossKind) (lossSpan: Span) (output: Node) (computes: Note) : Diagnostic list =
    match loss with
    | l when l = LossKind.CrossEntropy && not (isSoftmax output) ->
        // where the output is computed (a prelude layer's node is at the user's call), else the declaration
        let computes =
            let at = output.Span
            if at.Start.Line > 0 && at.File <> Context.preludeFile then
                note at (sprintf "the output of `%s` is computed here, not by a `softmax`" nd.Name)
            else computes
        let d =
            Diagnostic.error "NN0421" lossSpan
                ("`crossEntropy` expects probabilities (a `softmax` at the end of the network), "
                 + sprintf "but the output of `%s` is not a softmax: on raw scores the loss falls to 0 " nd.Name
                 + "without learning anything; use `softmaxCrossEntropy` on the scores, "
                 + sprintf "or end `%s` with `softmax`" nd.Name)
        raise (DiagnosticException { d with Notes = [ computes ] })
    | l when l = LossKind.SoftmaxCrossEntropy && isSoftmax output ->
        let at = output.Span
        // the fix: in a pipeline (`... |> softmax`) remove the `|> softmax`, else the call
        let fix, what =
            match pipeInto at nd.Body with
            | Some(opSpan: Span) -> Span.union opSpan at, "`|> softmax`"
            | None -> at, "this `softmax`"
        [ { warning "NN0422" lossSpan
              (sprintf "`softmaxCrossEntropy` applies softmax to the scores itself, but the output of `%s` %s" nd.Name
                  "already ends with `softmax` (a double softmax trains slowly and badly)")
              with Notes = [ note fix (sprintf "fix: remove %s (the loss applies it), or keep it and write %s" what
                                        "`loss = crossEntropy`") ] } ]
    | _ -> []
