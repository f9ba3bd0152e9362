/// Elementwise built-ins: they work on static numbers (computed by the compiler) and on tensors (graph nodes).
module internal Nn.Compiler.Builtins.Elementwise

open Nn.Runtime.IR
open Nn.Compiler
open Nn.Compiler.Context
open Nn.Compiler.Tensors
open Nn.Compiler.Builtins.Define

/// One built-in per language name of each unary primitive (aliases included); static numbers are computed by the
/// definition's own scalar function, so the compiler and the runtime cannot disagree.
let private unaries: Builtin list =
    [ for p in Primitives.Unaries do
          for name in p.Names do
              fn name 1 "a tensor or a number" (fun ctx span args ->
                  match args1 args with
                  | VNum(x, _), _ -> VNum(p.Evaluate x, false)
                  | (VTensor n, _) ->
                      VTensor(graph ctx span (fun src -> ctx.Builder.Unary(p.Kind, n, src, p.DefaultAlpha)))
                  | v, s -> expects name "a tensor or a number" s v) ]

/// Arithmetic on two values: numbers fold statically, anything with a tensor becomes a graph node.
let binary (ctx: EvalContext) (op: OpKind) (opName: string) span (l, ls) (r, rs) : Value =
    match l, r with
    | VNum(a, ai), VNum(b, bi) ->
        let bothInt = ai && bi
        let value () = Primitives.Binary(op).Evaluate(a, b)
        match op with
        | OpKind.Add | OpKind.Sub | OpKind.Mul | OpKind.Max | OpKind.Min -> VNum(value (), bothInt)
        | OpKind.Div ->
            if b = 0.0 && bothInt then fail "NN0305" span "division by zero"
            else VNum(value (), bothInt && a / b = floor (a / b))
        | OpKind.Pow -> VNum(value (), bothInt && b >= 0.0)
        | _ -> fail "NN0302" span (sprintf "`%s` is not defined on numbers" opName)
    | (VTensor _ | VNum _ | VBool _), (VTensor _ | VNum _ | VBool _) ->
        let a = nodeOf ctx ls l
        match op, r with
        // x ** 2 is common (variances, squared errors) and has a cheaper primitive
        | OpKind.Pow, VNum(2.0, _) -> VTensor(graph ctx span (fun src -> ctx.Builder.Unary(OpKind.Square, a, src)))
        | _ ->
            let b = nodeOf ctx rs r
            VTensor(graph ctx span (fun src -> ctx.Builder.Binary(op, a, b, src)))
    | (VTensor _ | VNum _), other ->
        fail "NN0302" rs
            (sprintf "`%s` needs a tensor or a number on the right, but this is %s" opName (Value.describe other))
    | other, _ ->
        fail "NN0302" ls
            (sprintf "`%s` needs a tensor or a number on the left, but this is %s" opName (Value.describe other))

let private binaryFn name op =
    fn name 2 "two tensors or numbers" (fun ctx span args ->
        let a, b = args2 args
        binary ctx op name span a b)

/// All elementwise built-ins.
let all: Builtin list =
    unaries @ [ binaryFn "max" OpKind.Max; binaryFn "min" OpKind.Min ]
