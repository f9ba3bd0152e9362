/// Name resolution before evaluation: every identifier in every body (used or not) must be bound, so a typo
/// in a function that is never called is still reported, and all unknown names are reported at once.
module internal Nn.Compiler.Resolve

open Nn.Dsl
open Nn.Compiler.Context

type private Scope = Set<string>

let private dimBinders (scope: Scope) (ann: ShapeAnn option) =
    match ann with
    | Some a ->
        a.Dims
        |> List.fold (fun (s: Scope) d ->
            match d with
            | Ident(n, _) when not (s.Contains n) -> s.Add n
            | _ -> s) scope
    | None -> scope

let private bindParams (scope: Scope) (ps: Param list) =
    ps |> List.fold (fun (s: Scope) p -> (dimBinders s p.Shape).Add p.Name) scope

/// All unknown-name diagnostics in an expression.
let rec expr (known: string seq) (scope: Scope) (e: Expr) : Diagnostic list =
    let go = expr known scope
    match e with
    | Number _ | String _ | Bool _ -> []
    | Ident(name, span) ->
        let root = match name.IndexOf '.' with -1 -> name | i -> name.Substring(0, i)
        if scope.Contains name || scope.Contains root then []
        else
            let hint =
                match suggest name (Seq.append scope known) with Some s -> sprintf "; did you mean `%s`?" s | None -> ""
            [ Diagnostic.error "NN0301" span (sprintf "`%s` is not defined%s" (shownName name) hint) ]
    | App(f, a, _) -> go f @ go a
    | Lambda(ps, body, _) -> expr known (bindParams scope ps) body
    | Infix(_, l, r, _, _) -> go l @ go r
    | Prefix(_, x, _) | Paren(x, _) | Member(x, _, _) -> go x
    | List(items, _) | Tuple(items, _) -> items |> List.collect go
    | Record(fields, _) -> fields |> List.collect (fun f -> go f.Value)
    | If(c, t, f, _) -> go c @ go t @ go f
    | Slice(t, ranges, _) ->
        go t
        @ (ranges |> List.collect (function
            | All _ -> []
            | Index(i, _) -> go i
            | Range(lo, hi, _) -> (Option.toList lo @ Option.toList hi) |> List.collect go))
    | Block(stmts, result, _) ->
        let scope, ds =
            stmts |> List.fold (fun (s: Scope, ds) st ->
                match st with
                | LetStmt lb -> s.Add lb.Name, ds @ letBinding known s lb
                | ParamStmt pb ->
                    let d = (pb.Shape.Dims |> List.collect (expr known s)) @ expr known s pb.Init
                    s.Add pb.Name, ds @ d
                | StateStmt sb ->
                    let dims = sb.Shape |> Option.map (fun a -> a.Dims) |> Option.defaultValue []
                    // the value is evaluated before the name is bound: `state mean = mean 0 x` uses the reduction
                    let d = (dims |> List.collect (expr known s)) @ expr known s sb.Value
                    s.Add sb.Name, ds @ d) (scope, [])
        ds @ expr known scope result

and letBinding known (scope: Scope) (lb: LetBinding) =
    expr known (bindParams scope lb.Params) lb.Body
    |> List.map (fun d ->
        // a definition using its own name: say why rather than suggest a look-alike
        if d.Message.StartsWith(sprintf "`%s` is not defined" (shownName lb.Name)) then
            { d with
                Message =
                    sprintf "`%s` is not defined yet inside its own definition: a `let` cannot call itself " lb.Name
                    + "(use `repeat` or `List.fold` to repeat a layer)" }
        else d)

/// Unknown names in a network: inputs and their dimension variables are bound in the body.
let network known (scope: Scope) (nd: NetworkDecl) =
    let inner = bindParams scope nd.Inputs
    expr known inner nd.Body

/// Unknown names in a train block: `input` names the network's input.
let train known (scope: Scope) (td: TrainDecl) =
    let scope = scope.Add "input"
    td.Fields |> List.collect (fun f -> expr known scope f.Value)
