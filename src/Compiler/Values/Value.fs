namespace Nn.Compiler

open Nn.Dsl
open Nn.Runtime.IR

/// The values of the partial evaluator. Static values (numbers, lists, records, functions) are computed by the
/// compiler; tensor values are nodes of the graph being built.
[<CustomEquality; NoComparison>]
type internal Value =
    /// a number; isInt when written without a fraction or exponent (sizes, axes, counts)
    | VNum of value: float * isInt: bool
    | VBool of bool
    | VStr of string
    /// a dimension variable such as the batch size `n` (a fixed dimension is a VNum)
    | VDim of Dim
    | VList of Value list
    | VTuple of Value list
    /// a record, with where each field's name and value were written (errors about a setting point there)
    | VRecord of RecordField list
    | VTensor of Node
    /// a user function (from `let` or `fun`), with the arguments applied so far
    | VClosure of Closure * applied: (Value * Span) list
    /// a built-in function, with the arguments applied so far
    | VBuiltin of Builtin * applied: (Value * Span) list
    /// a named constant of the language: `same`, `accuracy`, `validationLoss`, `glorot`, `mse`, ...
    | VSymbol of string
    /// an initializer for `param` (zeros, ones, constant c, normal std, uniform lo hi, glorot, he, lecun)
    | VInit of InitSpec
    /// `f >> g`
    | VCompose of Value * Value
    /// a configuration made by a built-in such as `adam { lr = 1e-3 }` or `idx "a" "b"`: a kind and its arguments
    | VConfig of kind: string * args: (Value * Span) list

    override v.Equals o = obj.ReferenceEquals(v, o)
    override v.GetHashCode() = LanguagePrimitives.PhysicalHash v

/// A user function: its parameters (with optional shape annotations), body and the environment it closes over.
and internal Closure =
    { Name: string option
      Params: Param list
      Body: Expr
      Env: Env
      Span: Span }

/// One field of a record value.
and internal RecordField = { Name: string; Value: Value; NameSpan: Span; Span: Span }

/// Names in scope, innermost first.
and internal Env = Map<string, Value * Span>

/// A built-in: a name, how many arguments it takes, and its implementation over fully applied arguments.
and internal Builtin =
    { Name: string
      Arity: int
      /// the types of arguments, in words, for "expects" messages: e.g. ["a size"; "a tensor"]
      Doc: string
      Impl: EvalContext -> Span -> (Value * Span) list -> Value }

/// What one evaluation has spent: function applications (closures and built-ins) and its elapsed time. The
/// evaluator stops a program that exceeds its budget with NN0312 (`Eval.spend`), so a program that would apply
/// functions 2^30 times fails within a second or two instead of running for hours.
and internal EvalBudget =
    { mutable Calls: int64
      Clock: System.Diagnostics.Stopwatch }

/// What evaluation needs besides the environment: the graph being built, the parameter naming scope,
/// the mode (training or evaluation) and a way to apply function values (given by the evaluator).
and internal EvalContext =
    { Builder: GraphBuilder
      Training: bool
      /// the runtime's view of this forward pass (layers with state record their updates here)
      Forward: Nn.Runtime.Ops.ForwardContext
      mutable Scope: string list
      Counters: System.Collections.Generic.Dictionary<string, int>
      ParamNames: System.Collections.Generic.HashSet<string>
      mutable Depth: int
      /// the calls and time this evaluation has spent (checked against the evaluator's limits)
      Budget: EvalBudget
      /// the user's call site while the prelude's code runs (prelude errors and nodes point at the user's line)
      mutable CallSite: Span option
      /// adapted states (`state name = expr`), in declaration order: the State's name and the node of its expression,
      /// computed once over the training rows before training
      Adapt: ResizeArray<string * Node>
      /// every completed call of a named function that returned a tensor: scope path, output (for `nn summary`)
      Calls: ResizeArray<string * Node>
      mutable Apply: EvalContext -> Span -> Value -> Value * Span -> Value }

module internal Value =
    /// The kind of a value, in the user's words, for error messages.
    let rec describe v =
        match v with
        | VNum(_, true) -> "an integer"
        | VNum _ -> "a number"
        | VBool _ -> "a boolean"
        | VStr _ -> "a string"
        | VDim d -> sprintf "the dimension `%O`" d
        | VList _ -> "a list"
        | VTuple _ -> "a tuple"
        | VRecord _ -> "a record"
        | VTensor n -> sprintf "a tensor of shape %O" n.Shape
        | VClosure _ | VBuiltin _ | VCompose _ -> "a function"
        | VSymbol s -> sprintf "`%s`" s
        | VInit i -> sprintf "the initializer `%O`" i
        | VConfig(k, _) -> sprintf "a `%s` setting" k
