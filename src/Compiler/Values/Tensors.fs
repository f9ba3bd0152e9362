/// Conversions between static values and tensors, used by the evaluator and the built-ins.
module internal Nn.Compiler.Tensors

open Nn.Dsl
open Nn.Runtime.IR
open Nn.Compiler.Context

/// A dimension from a static value (an integer or a dimension variable).
let dimOf (span: Span) (v: Value) : Dim =
    match v with
    | VNum(x, _) when x >= 0.0 && x = floor x && x < 1e9 -> Dim.Of(int x)
    | VDim d -> d
    | VNum(x, _) ->
        fail "NN0302" span
            (sprintf "a size must be a whole number from 0 to 999999999 (or a dimension variable), got %s"
                (showNumber x))
    | other ->
        fail "NN0302" span
            (sprintf "expected a size (a whole number or a dimension variable), but this is %s" (Value.describe other))

/// An integer from a static value.
let intOf (span: Span) (v: Value) : int =
    match v with
    | VNum(x, _) when x = floor x && abs x < 1e9 -> int x
    | VNum(x, _) when x = floor x ->
        fail "NN0302" span (sprintf "expected a whole number between -999999999 and 999999999, got %s" (showNumber x))
    | VNum(x, _) -> fail "NN0302" span (sprintf "expected a whole number, got %s" (showNumber x))
    | other -> fail "NN0302" span (sprintf "expected a whole number, but this is %s" (Value.describe other))

/// A number from a static value.
let numOf (span: Span) (v: Value) : float =
    match v with
    | VNum(x, _) -> x
    | other -> fail "NN0302" span (sprintf "expected a number, but this is %s" (Value.describe other))

/// A list of sizes (`[28; 28]`) as a shape.
let shapeOf (span: Span) (v: Value) : Shape =
    match v with
    | VList items -> Shape(items |> List.map (dimOf span) |> Array.ofList)
    | other -> fail "NN0302" span (sprintf "expected a shape such as [28; 28], but this is %s" (Value.describe other))

/// The graph node of a tensor value; numbers become scalar constants.
let nodeOf (ctx: EvalContext) (span: Span) (v: Value) : Node =
    match v with
    | VTensor n -> n
    | VNum(x, _) -> ctx.Builder.Const(x, userSpan ctx span)
    | VBool b -> ctx.Builder.Const((if b then 1.0 else 0.0), userSpan ctx span)
    | other -> fail "NN0302" span (sprintf "expected a tensor or a number, but this is %s" (Value.describe other))

/// Describe a shape mismatch between an annotation and an actual shape: which axis differs.
let mismatch (what: string) (expected: string) (actual: Shape) (detail: string) =
    sprintf "%s should have the shape %s, but it is %O (%s)" what expected actual detail
