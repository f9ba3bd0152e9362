/// The parts of a `train` setting and where the user wrote them: a value keeps only the span of the whole
/// argument (`{ lr = -1 }`), so the fields, list items and tuple parts are found again in the block's expressions,
/// and errors about one of them point at it, not at the whole record or list.
module internal Nn.Compiler.Settings

open Nn.Dsl
open Nn.Compiler.Context

/// The expressions a setting can come from: the `train` block's field values (and `--set` overrides), and the
/// body of a top-level `let` a name in them refers to (`optimizer = adam opts`).
type Source = { Exprs: Expr list; Follow: string -> Expr option }

/// The `let` a name refers to in `env`: the top-level binding (without parameters) declared at the name's span.
let follow (lets: LetBinding list) (env: Env) (name: string) : Expr option =
    match env.TryFind name with
    | Some(_, declared) ->
        lets
        |> List.tryFind (fun lb -> lb.Params.IsEmpty && Span.same lb.NameSpan declared)
        |> Option.map (fun lb -> lb.Body)
    | None -> None

let rec private children (e: Expr) : Expr list =
    match e with
    | App(f, a, _) -> [ f; a ]
    | Lambda(_, body, _) -> [ body ]
    | Infix(_, l, r, _, _) -> [ l; r ]
    | Prefix(_, x, _) | Paren(x, _) | Member(x, _, _) | Slice(x, _, _) -> [ x ]
    | List(items, _) | Tuple(items, _) -> items
    | Record(fields, _) -> fields |> List.map (fun f -> f.Value)
    | If(c, t, f, _) -> [ c; t; f ]
    | Block(_, result, _) -> [ result ]
    | Number _ | String _ | Bool _ | Ident _ -> []

let rec private find (span: Span) (e: Expr) : Expr option =
    if Span.same e.Span span then Some e
    elif e.Span.File = span.File && e.Span.Start <= span.Start && span.End <= e.Span.End then
        children e |> List.tryPick (find span)
    else None

let rec private unparen (e: Expr) =
    match e with
    | Paren(inner, _) -> unparen inner
    | e -> e

/// The expression written at `span` (through names bound by a top-level `let`), when it is in the source.
let at (source: Source) (span: Span) : Expr option =
    let rec through depth (e: Expr) =
        match unparen e with
        | Ident(name, _) when depth < 8 ->
            source.Follow name |> Option.map (through (depth + 1)) |> Option.defaultValue e
        | _ -> e
    source.Exprs |> List.tryPick (find span) |> Option.map (through 0)

/// The span of item `i` of a list or tuple written at `span`, or `span` itself.
let item (source: Source) (span: Span) (i: int) : Span =
    match at source span |> Option.map unparen with
    | Some(List(items, _) | Tuple(items, _)) when i < items.Length -> items[i].Span
    | _ -> span

/// `norm - 1` and `norm-1` are subtractions from a function (only `norm -1`, with no blank after the `-`,
/// passes a negative number, as in F#): a note on the evaluator's error shows how to write the argument.
let negativeHint (e: Expr) (d: Diagnostic) : Diagnostic =
    let rec minus (e: Expr) =
        match e with
        | Infix("-", l, r, _, span) when Span.same l.Span d.Span -> Some(l, r, span)
        | e -> children e |> List.tryPick minus
    match minus e with
    | Some(l, r, span) ->
        let arg = match r with Number _ | Ident _ | Paren _ -> r | r -> Paren(r, r.Span)
        let fix =
            sprintf "to pass a negative number, write `%s` with no blank after the `-`"
                (Printer.formatExpr (App(l, Prefix("-", arg, r.Span), span)))
        { d with Notes = d.Notes @ [ { Span = Some span; Message = fix } ] }
    | None -> d

/// One setting of a record such as `{ lr = 0.1 }`: its value, and where its name and value were written
/// (both the record's span when the record was not written in place).
type Setting = { Name: string; Value: Value; NameSpan: Span; Span: Span }

/// The settings record of a built-in such as `adam { ... }`.
type Settings = { Kind: string; Span: Span; Fields: Setting list }

/// The record argument of `kind` (empty when the built-in is used bare), checked against the settings it allows.
let read (source: Source) (kind: string) (allowed: string list) (span: Span) (args: (Value * Span) list) : Settings =
    match args with
    | [] -> { Kind = kind; Span = span; Fields = [] }
    | [ VRecord fields, s ] ->
        let written = match at source s |> Option.map unparen with Some(Record(fs, _)) -> fs | _ -> []
        let settings =
            fields |> List.map (fun { RecordField.Name = name; Value = v } ->
                match written |> List.tryFind (fun f -> f.Name = name) with
                | Some f -> { Name = name; Value = v; NameSpan = f.NameSpan; Span = f.Value.Span }
                | None -> { Name = name; Value = v; NameSpan = s; Span = s })
        for f in settings do
            if not (List.contains f.Name allowed) then
                let hint = match suggest f.Name allowed with Some h -> sprintf "; did you mean `%s`?" h | None -> ""
                fail "NN0402" f.NameSpan
                    (sprintf "`%s` has no setting `%s` (it has %s)%s"
                        kind f.Name (allowed |> List.map (sprintf "`%s`") |> String.concat ", ") hint)
        { Kind = kind; Span = s; Fields = settings }
    | (v, s) :: _ ->
        fail "NN0402" s
            (sprintf "`%s` expects settings such as { %s = ... }, but got %s" kind allowed.Head (Value.describe v))

/// The setting `name`, if given.
let tryFind (s: Settings) (name: string) = s.Fields |> List.tryFind (fun f -> f.Name = name)

/// A number that must satisfy `ok` (`rule` says how, as in "must be positive"); `code` is the setting's error code.
let checkNumber (code: string) (name: string) (ok: float -> bool) (rule: string) (v: Value) (span: Span) : float =
    match v with
    | VNum(x, _) ->
        if not (ok x) then fail code span (sprintf "`%s` %s, got %s" name rule (showNumber x))
        x
    | v -> fail code span (sprintf "`%s` is a number, but this is %s" name (Value.describe v))

/// The number setting `name` (checked with `ok` and `rule`), or `dflt` when it is not given.
let number (code: string) (s: Settings) (name: string) (dflt: float) (ok: float -> bool) (rule: string) : float =
    match tryFind s name with
    | Some f -> checkNumber code name ok rule f.Value f.Span
    | None -> dflt

/// A whole-number setting of at least `least`, or `dflt` when it is not given.
let whole (code: string) (s: Settings) (name: string) (dflt: int) (least: int) : int =
    let rule = "must be a whole number ≥ " + string least // on every setting read: no format to parse
    int (number code s name (float dflt) (fun x -> x = floor x && x >= float least && x < 1e9) rule)

/// A symbol setting that must be one of `known`, or `dflt` when it is not given.
let symbol (code: string) (s: Settings) (name: string) (known: string list) (dflt: string) : string =
    match tryFind s name with
    | Some { Value = VSymbol m } when List.contains m known -> m
    | Some f ->
        fail code f.Span
            (sprintf "`%s` is one of %s, but this is %s" name (String.concat ", " known) (Value.describe f.Value))
    | None -> dflt
