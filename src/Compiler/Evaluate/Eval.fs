/// The partial evaluator: static values are computed, tensor operations are recorded as graph nodes.
module internal Nn.Compiler.Eval

open Nn.Dsl
open Nn.Runtime.IR
open Nn.Compiler.Context
open Nn.Compiler.Tensors

let private maxDepth = 400

/// The evaluation budget of one network (or of the top-level values): at most this many function applications and
/// graph nodes, both deterministic, so a program passes or fails the same way on a busy machine. Real models stay far
/// below (`repeat 10000 (dense 4 >> relu)`: about 60,000 applications and 50,000 nodes); a runaway program (a
/// function applied to itself in nested calls, 2^30 applications) is stopped within about a second. The time limit
/// is only a backstop for work between applications.
let maxCalls = 2_000_000L
let maxNodes = 250_000
let maxSeconds = 20.0

/// Count one function application against the budget; fail with NN0312 at `span` when a limit is exceeded.
let private spend (ctx: EvalContext) (span: Span) =
    let b = ctx.Budget
    b.Calls <- b.Calls + 1L
    if b.Calls &&& 1023L = 0L then
        let over =
            if b.Calls > maxCalls then
                let n = maxCalls.ToString "N0"
                Some(sprintf "more than %s function applications (a function applied to itself in nested calls" n
                     + " doubles the work at each level)")
            elif ctx.Builder.Nodes.Count > maxNodes then
                Some(sprintf "more than %s graph nodes" (maxNodes.ToString "N0"))
            elif b.Clock.Elapsed.TotalSeconds > maxSeconds then Some(sprintf "more than %g seconds" maxSeconds)
            else None
        match over with
        | Some what -> fail "NN0312" span (sprintf "evaluating this program takes %s, past the compiler's budget" what)
        | None -> ()

/// "; did you mean `width`?" for a misspelt field, or the fields the record has.
let private fieldHint (name: string) (fields: RecordField list) =
    match suggest name (fields |> List.map (fun f -> f.Name)) with
    | Some s -> sprintf "; did you mean `%s`?" s
    | None -> sprintf " (it has %s)" (fields |> List.map (fun f -> sprintf "`%s`" f.Name) |> String.concat ", ")

/// Look a name up; `a.b` also reads field `b` of a record bound to `a`.
let lookup (env: Env) (name: string) (span: Span) : Value =
    match env.TryFind name with
    | Some(v, _) -> v
    | None ->
        let dot = name.IndexOf '.'
        let fromRecord =
            if dot > 0 then
                match env.TryFind(name.Substring(0, dot)) with
                | Some(VRecord fields, _) ->
                    let f = name.Substring(dot + 1)
                    match fields |> List.tryFind (fun rf -> rf.Name = f) with
                    | Some rf -> Some rf.Value
                    | None ->
                        fail "NN0307" span
                            (sprintf "the record `%s` has no field `%s`%s"
                                (name.Substring(0, dot)) f (fieldHint f fields))
                | _ -> None
            else None
        match fromRecord with
        | Some v -> v
        | None ->
            let known = Seq.append (env |> Map.toSeq |> Seq.map fst) Builtins.Table.allNames |> Seq.distinct
            let hint =
                match suggest name known with
                | Some s -> sprintf "; did you mean `%s`?" s
                | None -> ""
            fail "NN0301" span (sprintf "`%s` is not defined%s" (shownName name) hint)

/// The dimension an annotation entry denotes, binding names not yet in scope (dimension variables).
let rec private unifyDim (ctx: EvalContext) (env: Env) (dimExpr: Expr) (actual: Dim) (describe: Dim -> string) : Env =
    match dimExpr with
    | Ident(name, span) when not (env.ContainsKey name) ->
        let v = if actual.IsFixed then VNum(float actual.Size, true) else VDim actual
        env.Add(name, (v, span))
    | e ->
        let expected = dimOf e.Span (eval ctx env e)
        if expected <> actual then fail "NN0211" e.Span (describe expected)
        env

/// Check a value against a shape annotation, binding its dimension variables.
and annotate (ctx: EvalContext) (env: Env) (what: string) (ann: ShapeAnn) (v: Value, vSpan: Span)
             (callSpan: Span) : Env =
    match v with
    | VTensor n ->
        let shape = n.Shape
        let text = "[" + (ann.Dims |> List.map Printer.formatExpr |> String.concat ", ") + "]"
        let at = userSpan ctx callSpan
        if ann.Dims.Length <> shape.Rank then
            fail "NN0211" at (mismatch what text shape (sprintf "%d axes instead of %d" shape.Rank ann.Dims.Length))
        ann.Dims
        |> List.indexed
        |> List.fold (fun env (i, d) ->
            let describe (expected: Dim) =
                let written = Printer.formatExpr d
                // a size given by name (`width`) also shows its value
                let shown = if written = string expected then written else sprintf "%s = %O" written expected
                mismatch what text shape (sprintf "axis %d is %O, not %s" i shape[i] shown)
            try unifyDim ctx env d shape[i] describe
            with DiagnosticException diag when diag.Code = "NN0211" ->
                raise (DiagnosticException { diag with Span = at })) env
    | other ->
        fail "NN0302" (userSpan ctx vSpan)
            (sprintf "%s should be a tensor of shape [%s], but it is %s"
                what (ann.Dims |> List.map Printer.formatExpr |> String.concat ", ") (Value.describe other))

/// Evaluate an expression.
and eval (ctx: EvalContext) (env: Env) (e: Expr) : Value =
    match e with
    | Number(v, isInt, _) -> VNum(v, isInt)
    | String(s, _) -> VStr s
    | Bool(b, _) -> VBool b
    | Ident(name, span) -> lookup env name span
    | Paren(inner, _) -> eval ctx env inner
    | App(f, arg, span) ->
        let fv = eval ctx env f
        match fv, arg with
        | (VClosure _ | VBuiltin _ | VCompose _), _ -> ()
        | _, Prefix("-", x, _) ->
            // `a -b` applies `a` to `-b` (F#'s rule), which is rarely what a user meant when `a` is a value.
            let d =
                Diagnostic.error "NN0303" span
                    (sprintf "%s is not a function, so it cannot be applied to an argument" (Value.describe fv))
            let fix =
                sprintf "`%s` passes `%s` to `%s`; for a subtraction, write `%s - %s`"
                    (Printer.formatExpr e) (Printer.formatExpr arg) (Printer.formatExpr f) (Printer.formatExpr f)
                    (Printer.formatExpr x)
            raise (DiagnosticException(Diagnostic.withNote (Some arg.Span) fix d))
        | _ -> ()
        let av = eval ctx env arg
        apply ctx span fv (av, arg.Span)
    | Lambda(ps, body, span) -> VClosure({ Name = None; Params = ps; Body = body; Env = env; Span = span }, [])
    | Infix("|>", l, r, _, _) ->
        let x = eval ctx env l
        let f = eval ctx env r
        apply ctx r.Span f (x, l.Span)
    | Infix(">>", l, r, _, _) -> VCompose(eval ctx env l, eval ctx env r)
    | Infix(("&&" | "||") as op, l, r, _, _) ->
        match eval ctx env l with
        | VBool a when op = "&&" && not a -> VBool false
        | VBool a when op = "||" && a -> VBool true
        | VBool _ ->
            match eval ctx env r with
            | VBool b -> VBool b
            | v -> fail "NN0302" r.Span (sprintf "`%s` needs booleans, but this is %s" op (Value.describe v))
        | v -> fail "NN0302" l.Span (sprintf "`%s` needs booleans, but this is %s" op (Value.describe v))
    | Infix(op, l, r, opSpan, span) -> infix ctx op opSpan span (eval ctx env l, l.Span) (eval ctx env r, r.Span)
    | Prefix("-", x, span) ->
        match eval ctx env x with
        | VNum(v, i) -> VNum(-v, i)
        | VTensor n -> VTensor(graph ctx span (fun src -> ctx.Builder.Unary(OpKind.Neg, n, src)))
        | v -> fail "NN0302" x.Span (sprintf "`-` needs a number or a tensor, but this is %s" (Value.describe v))
    | Prefix("not", x, _) ->
        match eval ctx env x with
        | VBool b -> VBool(not b)
        | v -> fail "NN0302" x.Span (sprintf "`not` needs a boolean, but this is %s" (Value.describe v))
    | Prefix(op, _, span) -> fail "NN0302" span (sprintf "unknown prefix operator `%s`" op)
    | List(items, _) -> VList(items |> List.map (eval ctx env))
    | Tuple(items, _) -> VTuple(items |> List.map (eval ctx env))
    | Record(fields, _) ->
        fields
        |> List.fold (fun seen f ->
            if List.contains f.Name seen then fail "NN0308" f.NameSpan (sprintf "the field `%s` is given twice" f.Name)
            f.Name :: seen) []
        |> ignore
        VRecord(fields |> List.map (fun f ->
            { Name = f.Name; Value = eval ctx env f.Value; NameSpan = f.NameSpan; Span = f.Value.Span }))
    | Member(target, name, span) ->
        match eval ctx env target with
        | VRecord fields ->
            match fields |> List.tryFind (fun f -> f.Name = name) with
            | Some f -> f.Value
            | None -> fail "NN0307" span (sprintf "the record has no field `%s`%s" name (fieldHint name fields))
        | v -> fail "NN0307" span (sprintf "`.%s` needs a record, but this is %s" name (Value.describe v))
    | If(c, t, f, _) ->
        match eval ctx env c with
        | VBool true -> eval ctx env t
        | VBool false -> eval ctx env f
        | v ->
            fail "NN0302" c.Span
                (sprintf "`if` needs a condition the compiler can decide (a boolean), but this is %s"
                    (Value.describe v))
    | Slice(target, ranges, span) -> slice ctx env target ranges span
    | Block(stmts, result, _) ->
        let env = stmts |> List.fold (statement ctx) env
        eval ctx env result

and private infix ctx op opSpan span l r : Value =
    let binary kind = Builtins.Elementwise.binary ctx kind op span l r
    match op with
    | "+" -> binary OpKind.Add
    | "-" -> binary OpKind.Sub
    | "*" -> binary OpKind.Mul
    | "/" -> binary OpKind.Div
    | "**" -> binary OpKind.Pow
    | "@" ->
        match l, r with
        | (VTensor a, _), (VTensor b, _) -> VTensor(graph ctx opSpan (fun src -> ctx.Builder.MatMul(a, b, src)))
        | (v, s), (VTensor _, _)
        | (VTensor _, _), (v, s)
        | (v, s), _ -> fail "NN0302" s (sprintf "`@` multiplies tensors, but this is %s" (Value.describe v))
    | "=" | "<>" | "<" | ">" | "<=" | ">=" ->
        let c =
            match fst l, fst r with
            | VNum(a, _), VNum(b, _) -> compare a b
            | VStr a, VStr b -> compare a b
            | VBool a, VBool b -> compare a b
            | VSymbol a, VSymbol b when op = "=" || op = "<>" -> compare a b
            | a, b ->
                fail "NN0302" span
                    (sprintf "`%s` compares numbers, strings or booleans, but got %s and %s"
                        op (Value.describe a) (Value.describe b))
        VBool(
            match op with
            | "=" -> c = 0
            | "<>" -> c <> 0
            | "<" -> c < 0
            | ">" -> c > 0
            | "<=" -> c <= 0
            | _ -> c >= 0)
    | _ -> fail "NN0302" opSpan (sprintf "unknown operator `%s`" op)

and private slice ctx env target ranges span =
    match eval ctx env target with
    | VTensor x ->
        let idx (e: Expr) = intOf e.Span (eval ctx env e)
        let picks =
            ranges |> List.map (fun r ->
                match r with
                | All _ -> Builtins.Sequences.Whole
                | Index(e, s) -> Builtins.Sequences.At(idx e, s)
                | Range(lo, hi, s) -> Builtins.Sequences.Between(Option.map idx lo, Option.map idx hi, s))
        VTensor(Builtins.Sequences.slice ctx span x picks)
    | v -> fail "NN0302" target.Span (sprintf "slicing needs a tensor, but this is %s" (Value.describe v))

/// The initializer a `param` or `state` declaration names (a number is `constant`), if the value is one.
and private initializer (v: Value) : InitSpec option =
    match v with
    | VInit i -> Some i
    | VNum(c, _) -> Some(InitSpec("constant", c))
    | _ -> None

/// `orthogonal` needs a matrix (or a tensor read as one: all axes but the last as its rows), as Keras' `Orthogonal`.
and private checkInitRank (what: string) (init: InitSpec) (initExpr: Expr) (dims: Dim list) =
    if init.Kind = "orthogonal" && dims.Length < 2 then
        fail "NN0465" initExpr.Span
            (sprintf "the initializer `orthogonal` needs a tensor of two or more axes (a matrix), but %s has %d"
                what dims.Length)

/// A declared size of `what` (a parameter, a state), which must be known: a dimension variable is NN0213.
and private knownSize (what: string) (d: Expr) (dim: Dim) : Dim =
    if not dim.IsFixed then
        fail "NN0213" d.Span
            (sprintf "%s's size must be known: `%O` is a dimension variable (such as the batch size)" what dim)
    dim

/// One statement of a block: `let` binds a value or a function, `param` declares a trainable tensor, `state` a kept
/// one.
and statement (ctx: EvalContext) (env: Env) (stmt: Stmt) : Env =
    match stmt with
    | LetStmt lb -> bindLet ctx env lb
    | ParamStmt pb ->
        let dims = pb.Shape.Dims |> List.map (fun d -> knownSize "a parameter" d (dimOf d.Span (eval ctx env d)))
        let init =
            let v = eval ctx env pb.Init
            match initializer v with
            | Some i -> i
            | None ->
                fail "NN0309" pb.Init.Span
                    (sprintf "`param %s` needs an initializer such as `glorot` or `zeros`, but this is %s"
                        pb.Name (Value.describe v))
        checkInitRank (sprintf "`param %s`" pb.Name) init pb.Init dims
        let name = paramName ctx pb.Name
        let node = graph ctx pb.Span (fun src -> ctx.Builder.Param(name, Shape(Array.ofList dims), init, src))
        env.Add(pb.Name, (VTensor node, pb.NameSpan))
    | StateStmt sb -> state ctx env sb

/// `state name : [shape] = init` is a buffer; `state name = expr` (shape optional) is adapted: a State node whose
/// value is `expr` computed once over the training rows (recorded in ctx.Adapt, in declaration order).
and private state (ctx: EvalContext) (env: Env) (sb: StateBinding) : Env =
    let declared =
        sb.Shape |> Option.map (fun ann -> ann, ann.Dims |> List.map (fun d -> dimOf d.Span (eval ctx env d)))
    let shapeText (ann: ShapeAnn) = "[" + (ann.Dims |> List.map Printer.formatExpr |> String.concat ", ") + "]"
    let make shape init =
        let name = paramName ctx sb.Name
        name, graph ctx sb.Span (fun src -> ctx.Builder.State(name, shape, init, src))
    match eval ctx env sb.Value with
    | VTensor value ->
        match declared with
        | Some(ann, dims) when not (Shape(Array.ofList dims).Equals value.Shape) ->
            fail "NN0216" (userSpan ctx ann.Span)
                (sprintf "the state `%s` is declared with the shape %s, but its value has the shape %O"
                    sb.Name (shapeText ann) value.Shape)
        | _ -> ()
        if not value.Shape.IsFixed then
            let vars = value.Shape.Symbols |> Seq.map (sprintf "`%s`") |> String.concat ", "
            fail "NN0215" (userSpan ctx sb.Value.Span)
                (sprintf "the state `%s` is computed once over all the training rows, " sb.Name
                 + sprintf "so its shape must be fixed, but it is %O (%s varies with the data)" value.Shape vars)
        let name, node = make value.Shape InitSpec.Zeros
        ctx.Adapt.Add((name, value))
        env.Add(sb.Name, (VTensor node, sb.NameSpan))
    | v ->
        match initializer v, declared with
        | Some init, Some(ann, dims) ->
            let dims = List.map2 (knownSize "a state") ann.Dims dims
            checkInitRank (sprintf "`state %s`" sb.Name) init sb.Value dims
            let _, node = make (Shape(Array.ofList dims)) init
            env.Add(sb.Name, (VTensor node, sb.NameSpan))
        | Some _, None ->
            fail "NN0217" (userSpan ctx sb.Span)
                (sprintf "the state `%s` needs a shape for its initializer, such as `state %s : [10] = %s`"
                    sb.Name sb.Name (Printer.formatExpr sb.Value))
        | None, _ ->
            fail "NN0309" sb.Value.Span
                (sprintf "`state %s` needs an initializer such as `zeros`, " sb.Name
                 + sprintf "or a tensor to compute from the training rows, but this is %s" (Value.describe v))

/// A `let`: with parameters it is a function (a closure over the current scope); without, a value.
and bindLet (ctx: EvalContext) (env: Env) (lb: LetBinding) : Env =
    if lb.Params.IsEmpty then env.Add(lb.Name, (eval ctx env lb.Body, lb.NameSpan))
    else
        let c = { Name = Some lb.Name; Params = lb.Params; Body = lb.Body; Env = env; Span = lb.Span }
        env.Add(lb.Name, (VClosure(c, []), lb.NameSpan))

/// Apply a function value to one more argument.
and apply (ctx: EvalContext) (span: Span) (f: Value) (arg: Value * Span) : Value =
    spend ctx span
    match f with
    | VClosure(c, applied) ->
        let applied = applied @ [ arg ]
        if applied.Length < c.Params.Length then VClosure(c, applied) else invoke ctx span c applied
    | VBuiltin(b, applied) ->
        let applied = applied @ [ arg ]
        if applied.Length < b.Arity then VBuiltin(b, applied)
        else
            let saved = ctx.CallSite
            if span.File <> preludeFile && ctx.CallSite.IsNone then ctx.CallSite <- Some span
            try b.Impl ctx (userSpan ctx span) applied finally ctx.CallSite <- saved
    | VCompose(g, h) -> apply ctx span h (apply ctx span g arg, snd arg)
    | other ->
        fail "NN0303" span
            (sprintf "%s is not a function, so it cannot be applied to an argument" (Value.describe other))

and private invoke ctx span c applied : Value =
    if ctx.Depth > maxDepth then fail "NN0304" span (sprintf "calls nested more than %d deep" maxDepth)
    let fname = defaultArg c.Name "fun"
    if c.Span.File = preludeFile && span.File <> preludeFile then LayerChecks.check fname span applied
    let env =
        List.zip c.Params applied
        |> List.fold (fun (env: Env) (p, (v, vSpan)) ->
            let env =
                match p.Shape with
                | Some ann -> annotate ctx env ("the argument `" + p.Name + "` of `" + fname + "`") ann (v, vSpan) span
                | None -> env
            env.Add(p.Name, (v, p.Span))) c.Env
    let saved = ctx.CallSite
    // entering the prelude from user code: errors and nodes inside point at this call
    if c.Span.File = preludeFile && span.File <> preludeFile then ctx.CallSite <- Some span
    ctx.Depth <- ctx.Depth + 1
    try
        try
            match c.Name with
            | Some name -> inScope ctx name (fun () -> eval ctx env c.Body)
            | None -> eval ctx env c.Body
        with DiagnosticException d when
            c.Span.File = preludeFile && span.File <> preludeFile && (d.Span.File = preludeFile || d.Span = span)
            ->
            // an error in the prelude's own code (`param w : [k, units]` with units = "ten") is the caller's; one
            // about a parameter of the function (`List.init n` in `repeat`) points at the argument the user gave
            let argument =
                match Prelude.textAt d.Span with
                | Some text ->
                    List.zip c.Params applied
                    |> List.tryPick (fun (p, (_, s)) -> if p.Name = text && s.File <> preludeFile then Some s else None)
                | None -> None
            let d = { d with Span = defaultArg argument span }
            let d =
                match c.Name with
                | Some name -> d |> Diagnostic.withNote None (sprintf "in `%s`, a function of the prelude" name)
                | None -> d
            raise (DiagnosticException d)
    finally
        ctx.Depth <- ctx.Depth - 1
        ctx.CallSite <- saved

/// A context whose function application is this evaluator's.
let context (forward: Nn.Runtime.Ops.ForwardContext) = Context.create forward apply
