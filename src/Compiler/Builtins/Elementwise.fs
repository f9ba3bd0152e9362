/// Elementwise built-ins: they work on static numbers (computed by the compiler) and on tensors (graph nodes).
module Nn.Compiler.Builtins.Elementwise

open Nn.Runtime.IR
open Nn.Compiler
open Nn.Compiler.Context
open Nn.Compiler.Tensors
open Nn.Compiler.Builtins.Define

let private sigmoid x = 1.0 / (1.0 + exp (-x))
let private softplus x = if x > 30.0 then x else log (1.0 + exp x)
let private gelu x = 0.5 * x * (1.0 + tanh (sqrt (2.0 / System.Math.PI) * (x + 0.044715 * x * x * x)))

/// name, op, scalar function, alpha
let private unaryTable: (string * OpKind * (float -> float) * float) list =
    [ "exp", OpKind.Exp, exp, 0.0
      "log", OpKind.Log, log, 0.0
      "sqrt", OpKind.Sqrt, sqrt, 0.0
      "abs", OpKind.Abs, abs, 0.0
      "tanh", OpKind.Tanh, tanh, 0.0
      "sigmoid", OpKind.Sigmoid, sigmoid, 0.0
      "relu", OpKind.Relu, (fun x -> max x 0.0), 0.0
      "leakyRelu", OpKind.LeakyRelu, (fun x -> if x > 0.0 then x else 0.01 * x), 0.01
      "elu", OpKind.Elu, (fun x -> if x > 0.0 then x else exp x - 1.0), 1.0
      "gelu", OpKind.Gelu, gelu, 0.0
      "softplus", OpKind.Softplus, softplus, 0.0
      "sin", OpKind.Sin, sin, 0.0
      "cos", OpKind.Cos, cos, 0.0
      "square", OpKind.Square, (fun x -> x * x), 0.0 ]

let private unary (name, op, f, alpha) =
    fn name 1 "a tensor or a number" (fun ctx span args ->
        match args1 args with
        | VNum(x, _), _ -> VNum(f x, false)
        | (VTensor n, _) -> VTensor(graph ctx span (fun src -> ctx.Builder.Unary(op, n, src, alpha)))
        | v, s -> expects name "a tensor or a number" s v)

/// Arithmetic on two values: numbers fold statically, anything with a tensor becomes a graph node.
let binary (ctx: EvalContext) (op: OpKind) (opName: string) span (l, ls) (r, rs) : Value =
    match l, r with
    | VNum(a, ai), VNum(b, bi) ->
        let bothInt = ai && bi
        match op with
        | OpKind.Add -> VNum(a + b, bothInt)
        | OpKind.Sub -> VNum(a - b, bothInt)
        | OpKind.Mul -> VNum(a * b, bothInt)
        | OpKind.Div ->
            if b = 0.0 && bothInt then fail "NN0305" span "division by zero"
            else VNum(a / b, bothInt && a / b = floor (a / b))
        | OpKind.Pow -> VNum(a ** b, bothInt && b >= 0.0)
        | OpKind.Max -> VNum(max a b, bothInt)
        | OpKind.Min -> VNum(min a b, bothInt)
        | _ -> fail "NN0302" span (sprintf "`%s` is not defined on numbers" opName)
    | (VTensor _ | VNum _ | VBool _), (VTensor _ | VNum _ | VBool _) ->
        let a = nodeOf ctx ls l
        match op, r with
        // x ** 2 is common (variances, squared errors) and has a cheaper primitive
        | OpKind.Pow, VNum(2.0, _) -> VTensor(graph ctx span (fun src -> ctx.Builder.Unary(OpKind.Square, a, src)))
        | _ ->
            let b = nodeOf ctx rs r
            VTensor(graph ctx span (fun src -> ctx.Builder.Binary(op, a, b, src)))
    | (VTensor _ | VNum _), other -> fail "NN0302" rs (sprintf "`%s` needs a tensor or a number on the right, but this is %s" opName (Value.describe other))
    | other, _ -> fail "NN0302" ls (sprintf "`%s` needs a tensor or a number on the left, but this is %s" opName (Value.describe other))

let private binaryFn name op =
    fn name 2 "two tensors or numbers" (fun ctx span args ->
        let a, b = args2 args
        binary ctx op name span a b)

/// All elementwise built-ins.
let all: Builtin list =
    (unaryTable |> List.map unary) @ [ binaryFn "max" OpKind.Max; binaryFn "min" OpKind.Min ]
