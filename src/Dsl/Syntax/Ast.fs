namespace Nn.Dsl

/// The abstract syntax of `.nn` programs. Every node carries its span, last.
/// Spans compare equal to each other, so two parses of one program with different
/// layout are equal ASTs (this is what the formatter's round-trip property checks).
type internal Expr =
    /// syntax: 42, 0.5, 1e-3 (isInt is true when written without '.', 'e' or 'E')
    | Number of value: float * isInt: bool * span: Span
    /// syntax: "data/iris.csv"
    | String of value: string * span: Span
    /// syntax: true, false
    | Bool of value: bool * span: Span
    /// syntax: x, dense, List.fold (a dotted name is one identifier)
    | Ident of name: string * span: Span
    /// syntax: f x (juxtaposition, left associative)
    | App of func: Expr * arg: Expr * span: Span
    /// syntax: fun x (y: [n, k]) -> body
    | Lambda of parameters: Param list * body: Expr * span: Span
    /// syntax: a + b, a |> f, f >> g, a @ b, a ** b, a = b, a && b ...
    | Infix of op: string * left: Expr * right: Expr * opSpan: Span * span: Span
    /// syntax: -x, not x
    | Prefix of op: string * operand: Expr * span: Span
    /// syntax: (e)  (kept so that the formatter preserves the user's parentheses)
    | Paren of inner: Expr * span: Span
    /// syntax: [a; b; c] or one element per line
    | List of items: Expr list * span: Span
    /// syntax: a, b
    | Tuple of items: Expr list * span: Span
    /// syntax: { lr = 0.1; momentum = 0.9 } or one field per line
    | Record of fields: Field list * span: Span
    /// syntax: r.field (on a non-identifier expression; `a.b` on names is a dotted identifier)
    | Member of target: Expr * name: string * span: Span
    /// syntax: if c then a else b
    | If of cond: Expr * thenBranch: Expr * elseBranch: Expr * span: Span
    /// syntax: x.[0..1, *] — slicing, one entry per axis
    | Slice of target: Expr * ranges: SliceRange list * span: Span
    /// syntax: statements on their own lines, then the result expression
    | Block of statements: Stmt list * result: Expr * span: Span

    member e.Span =
        match e with
        | Number(_, _, s) | String(_, s) | Bool(_, s) | Ident(_, s) | App(_, _, s) | Lambda(_, _, s)
        | Infix(_, _, _, _, s) | Prefix(_, _, s) | Paren(_, s) | List(_, s) | Tuple(_, s) | Record(_, s)
        | Member(_, _, s) | If(_, _, _, s) | Slice(_, _, s) | Block(_, _, s) -> s

/// One axis of a slice: `*` (all), `i` (one index, axis kept with size 1), `a..b` (inclusive, either end optional).
and internal SliceRange =
    | All of span: Span
    | Index of index: Expr * span: Span
    | Range of lo: Expr option * hi: Expr option * span: Span

/// syntax: name = value
and internal Field = { Name: string; NameSpan: Span; Value: Expr; Span: Span }

/// syntax: x or (x: [n, k])
and internal Param = { Name: string; Shape: ShapeAnn option; Span: Span }

/// syntax: [n, 28, 28] — each dimension is an expression: a number, a dimension variable or a static name.
and internal ShapeAnn = { Dims: Expr list; Span: Span }

/// A statement inside a block.
and internal Stmt =
    /// syntax: let name params = body
    | LetStmt of LetBinding
    /// syntax: param name : [d1, d2] = init
    | ParamStmt of ParamBinding
    /// syntax: state name : [d1, d2] = init, or state name = expr (learnt once from the training rows)
    | StateStmt of StateBinding

and internal LetBinding =
    { Doc: string option
      Name: string
      NameSpan: Span
      Params: Param list
      Body: Expr
      Span: Span }

and internal ParamBinding =
    { Name: string
      NameSpan: Span
      Shape: ShapeAnn
      Init: Expr
      Span: Span }

/// A tensor kept with the weights but never changed by gradient descent. With an initializer it is a
/// buffer; with a tensor expression it is adapted: the expression computed once over the training rows.
and internal StateBinding =
    { Name: string
      NameSpan: Span
      Shape: ShapeAnn option
      Value: Expr
      Span: Span }

/// A top-level declaration.
type internal Decl =
    /// syntax: let name params = body
    | LetDecl of LetBinding
    /// syntax: network name (x: [n, 784]) : [n, 10] = body
    | NetworkDecl of NetworkDecl
    /// syntax: train name { field = value ... }
    | TrainDecl of TrainDecl
    /// syntax: open "other.nn"
    | OpenDecl of path: string * span: Span

and internal NetworkDecl =
    { Doc: string option
      Name: string
      NameSpan: Span
      Inputs: Param list
      Output: ShapeAnn option
      Body: Expr
      Span: Span }

and internal TrainDecl =
    { Network: string
      NetworkSpan: Span
      Fields: Field list
      Span: Span }

/// A parsed file.
type internal Program = { File: string; Decls: Decl list }
