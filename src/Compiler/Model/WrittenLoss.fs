/// Losses written in the language (`loss = fun p t -> meanAll (abs (p - t) / t)`, `loss = mape`): a function value of
/// the program becomes the runtime's LossKind.Written, whose graph builder applies the function to the prediction and
/// target nodes through the evaluator, so the loss is differentiated and fused with the rest of the step.
module internal Nn.Compiler.WrittenLoss

open Nn.Dsl
open Nn.Runtime.IR
open Nn.Runtime.Ops
open Nn.Compiler.Context

/// Whether a value is a function (a `let` with parameters, a `fun`, a built-in, a composition `f >> g`).
let isFunction (v: Value) =
    match v with
    | VClosure _ | VBuiltin _ | VCompose _ -> true
    | _ -> false

/// How many more arguments a function value takes (a composition takes one).
let private arity (v: Value) =
    match v with
    | VClosure(c, applied) -> c.Params.Length - applied.Length
    | VBuiltin(b, applied) -> b.Arity - applied.Length
    | _ -> 1

/// The name a loss function goes by in messages and reports: its `let` name, or `fun p t` for a lambda.
let private nameOf (v: Value) =
    match v with
    | VClosure({ Name = Some name }, _) -> name
    | VClosure(c, _) -> "fun " + (c.Params |> List.map (fun p -> p.Name) |> String.concat " ")
    | VBuiltin(b, _) -> b.Name
    | _ -> "f >> g"

/// Where the function was written (for a note), when it is the program's and not the `fun` at `at` itself.
let private definedAt (at: Span) (v: Value) =
    let inside (s: Span) = s.File = at.File && at.Start <= s.Start && s.End <= at.End
    match v with
    | VClosure(c, _) when c.Span.File <> preludeFile && not (inside c.Span) ->
        [ { Span = Some c.Span; Message = "the function is here" } ]
    | _ -> []

let private countParamsAndStates (b: GraphBuilder) =
    b.Nodes |> Seq.filter (fun n -> n.Op = OpKind.Param || n.Op = OpKind.State) |> Seq.length

/// The loss computed by the function `f`, written at `at` (the `loss` field's value); `apply` is the evaluator's.
/// NN0430: `f` does not take two arguments (the prediction and the target). When the step is built: NN0431 for a
/// result that is not a tensor (or, from LossKind.PerBatch, neither a scalar nor one value per row), NN0432 for a
/// function that declares a `param` or a `state`; shape errors inside the function are the evaluator's, at the
/// expression that makes them.
let ofFunction (apply: EvalContext -> Span -> Value -> Value * Span -> Value) (f: Value) (at: Span) : LossKind =
    let name = nameOf f
    let n = arity f
    if n <> 2 then
        raise (
            DiagnosticException
                { Diagnostic.error "NN0430" at
                      ("a loss is a function of the prediction and the target, such as "
                       + "`fun p t -> meanAll (square (p - t))`, "
                       + sprintf "but `%s` takes %d argument%s" name n (if n = 1 then "" else "s"))
                      with Notes = definedAt at f }
        )
    let build (b: GraphBuilder) (p: Node) (t: Node) (_: Span) : Node =
        let ctx = Context.create (ForwardContext(b, true)) apply
        let before = countParamsAndStates b
        let result = apply ctx at (apply ctx at f (VTensor p, at)) (VTensor t, at)
        if countParamsAndStates b > before then
            raise (
                DiagnosticException
                    { Diagnostic.error "NN0432" at
                          (sprintf "the loss `%s` declares a `param` or a `state`; a loss only compares " name
                           + "the prediction with the target (declare weights inside the network)")
                          with Notes = definedAt at f }
            )
        match result with
        | VTensor node -> node
        | v ->
            raise (
                DiagnosticException
                    { Diagnostic.error "NN0431" at
                          (sprintf "the loss `%s` must compute a tensor (a scalar, or one value per row) " name
                           + sprintf "from the prediction and the target, but it computes %s" (Value.describe v))
                          with Notes = definedAt at f }
            )
    LossKind.Written(name, WrittenLoss(build))
