/// The formatter: one canonical layout for a program (4-space indents, a blank line between
/// declarations, `train` fields one per line with aligned `=`). Layout the user chose is kept
/// where it carries meaning: line breaks before `|>` in a pipeline, lists or records written
/// one item per line, the spelling of numbers (`1e-2`, `0.50`) and trailing comments aligned
/// in a column. Comments are put back (see Layout.fs); doc comments come from the AST.
module internal Nn.Dsl.Printer

open System
open System.Globalization
open System.Text
open Nn.Dsl
open Nn.Dsl.Format.Layout

let private inv = CultureInfo.InvariantCulture

/// Numbers without source text (a generated AST) print so they parse back to the same value and kind:
/// integers without a point, others with one or an exponent (the exponent form when it is shorter, as in
/// `1e-3`).
let formatNumber (v: float) (isInt: bool) =
    if isInt && Math.Floor v = v && not (Double.IsInfinity v) then v.ToString("F0", inv)
    else
        let r = v.ToString("R", inv)
        let e = r.IndexOfAny [| 'E'; 'e' |]
        if e >= 0 then
            let mant = r.Substring(0, e)
            let exp = Int32.Parse(r.Substring(e + 1), inv)
            mant + "e" + string exp
        else
            let dec = if r.Contains "." then r else r + ".0"
            if v <> 0.0 && abs v < 0.01 then
                let sci = v.ToString("0.################e0", inv)
                if sci.Length < dec.Length && Double.Parse(sci, inv) = v then sci else dec
            else dec

let formatString (s: string) =
    let sb = StringBuilder("\"")
    for c in s do
        match c with
        | '"' -> sb.Append "\\\"" |> ignore
        | '\\' -> sb.Append "\\\\" |> ignore
        | '\n' -> sb.Append "\\n" |> ignore
        | '\t' -> sb.Append "\\t" |> ignore
        | '\r' -> sb.Append "\\r" |> ignore
        | '\000' -> sb.Append "\\0" |> ignore
        | c when Char.IsControl c || Char.IsSurrogate c -> sb.AppendFormat(inv, "\\u{0:x4}", int c) |> ignore
        | c -> sb.Append c |> ignore
    sb.Append('"').ToString()

/// Whether the user wrote these items on separate lines (spans from the parser; generated ASTs have none).
let private onSeparateLines (spans: Span list) =
    spans |> List.pairwise |> List.exists (fun (a, b) -> a.End.Line > 0 && b.Start.Line > a.End.Line)

let private shapeText (s: ShapeAnn) (expr: Expr -> string) = "[" + String.Join(", ", s.Dims |> List.map expr) + "]"

/// The stages of a `|>` chain: the head, then each stage with whether a line break preceded it.
let rec private stages (e: Expr) =
    match e with
    | Infix("|>", l, r, opSpan, _) ->
        let (head, rest) = stages l
        (head, rest @ [ (opSpan.Start.Line > 0 && opSpan.Start.Line > l.Span.End.Line), r ])
    | _ -> (e, [])

let rec private expr (w: Writer) (indent: int) (e: Expr) : unit =
    let go = expr w indent
    match e with
    | Number(v, isInt, span) -> w.Number(v, isInt, span, formatNumber v isInt)
    | String(s, _) -> w.Text(formatString s)
    | Bool(b, _) -> w.Text(if b then "true" else "false")
    | Ident(n, _) -> w.Text n
    | App(f, a, _) -> go f; w.Text " "; go a
    | Lambda(ps, b, _) ->
        w.Text "fun "
        parameters w ps
        w.Text " ->"
        match b with
        | Block _ ->
            w.NewLine(indent + 4)
            body w (indent + 4) b
        | _ -> w.Text " "; go b
    | Infix(op, l, r, _, _) -> go l; w.Text(" " + op + " "); go r
    | Prefix("not", x, _) -> w.Text "not "; go x
    | Prefix(op, x, _) ->
        // `--x` with no blank: a line starting with `- ` would continue the line above (F#'s rule).
        w.Text op
        go x
    | Paren(x, _) -> w.Text "("; go x; w.Text ")"
    | List(xs, _) -> sequence w indent "[" "]" (xs |> List.map (fun x -> x.Span, fun () -> go x))
    | Tuple(xs, _) -> xs |> List.iteri (fun i x -> (if i > 0 then w.Text ", "); go x)
    | Record(fs, _) ->
        sequence w indent "{" "}" (fs |> List.map (fun f -> f.Span, fun () -> w.Text(f.Name + " = "); go f.Value))
    | Member(t, n, _) -> go t; w.Text("." + n)
    | If(c, a, b, _) -> w.Text "if "; go c; w.Text " then "; go a; w.Text " else "; go b
    | Slice(t, rs, _) ->
        go t
        w.Text ".["
        rs |> List.iteri (fun i r ->
            if i > 0 then w.Text ", "
            match r with
            | All _ -> w.Text "*"
            | Index(x, _) -> go x
            | Range(lo, hi, _) -> Option.iter go lo; w.Text ".."; Option.iter go hi)
        w.Text "]"
    | Block _ ->
        // A block inside an expression (only a lambda body can be one) goes on lines of its own.
        w.NewLine(indent + 4)
        body w (indent + 4) e

/// `[a; b]`, or one item per line lined up after the bracket when the user wrote it so.
and private sequence (w: Writer) (indent: int) (o: string) (c: string) (items: (Span * (unit -> unit)) list) =
    match items with
    | [] -> w.Text(o + c)
    | _ when onSeparateLines (List.map fst items) ->
        w.Text(o + " ")
        let col = w.Column
        items |> List.iteri (fun i (span, print) ->
            if i > 0 then w.NewLine col
            w.Before(span, col)
            print ()
            w.After span)
        w.Text(" " + c)
    | _ ->
        w.Text(if o = "{" then "{ " else o)
        items |> List.iteri (fun i (_, print) -> (if i > 0 then w.Text "; "); print ())
        w.Text(if c = "}" then " }" else c)

and private parameters (w: Writer) (ps: Param list) =
    ps |> List.iteri (fun i p ->
        if i > 0 then w.Text " "
        match p.Shape with
        | None -> w.Text p.Name
        | Some s -> w.Text(sprintf "(%s: " p.Name); shape w s; w.Text ")")

and private shape (w: Writer) (s: ShapeAnn) =
    w.Text "["
    s.Dims |> List.iteri (fun i d -> (if i > 0 then w.Text ", "); expr w 0 d)
    w.Text "]"

/// An expression at statement level: a pipeline the user broke over lines keeps its line breaks.
and private statementExpr (w: Writer) (indent: int) (e: Expr) =
    let (head, rest) = stages e
    if rest |> List.exists fst then
        expr w indent head
        for (broken, stage) in rest do
            if broken then
                w.NewLine indent
                w.Before(stage.Span, indent)
            else w.Text " "
            w.Text "|> "
            expr w indent stage
            if broken then w.After stage.Span
    else expr w indent e

/// A body at `indent` (the writer is at the start of its first line).
and private body (w: Writer) (indent: int) (e: Expr) =
    match e with
    | Block(stmts, result, _) ->
        for s in stmts do
            match s with
            | LetStmt l ->
                w.Before(l.Span, indent)
                letBinding w indent l
                w.After l.Span
            | ParamStmt p ->
                w.Before(p.Span, indent)
                w.Text(sprintf "param %s : " p.Name)
                shape w p.Shape
                w.Text " = "
                expr w indent p.Init
                w.After p.Span
            | StateStmt st ->
                w.Before(st.Span, indent)
                w.Text(sprintf "state %s" st.Name)
                match st.Shape with
                | Some s -> w.Text " : "; shape w s
                | None -> ()
                w.Text " = "
                expr w indent st.Value
                w.After st.Span
            w.NewLine indent
        w.Before(result.Span, indent)
        statementExpr w indent result
        w.After result.Span
    | _ -> statementExpr w indent e

and private doc (w: Writer) (indent: int) (d: string option) =
    match d with
    | None -> ()
    | Some text ->
        for line in text.Split '\n' do
            w.Text(if line = "" then "///" else "/// " + line)
            w.NewLine indent

/// Whether a body goes on the lines after its `=`.
and private isTall (e: Expr) =
    match e with
    | Block _ -> true
    | _ -> stages e |> snd |> List.exists fst

and private letBinding (w: Writer) (indent: int) (l: LetBinding) =
    doc w indent l.Doc
    w.Text("let " + l.Name)
    if not l.Params.IsEmpty then
        w.Text " "
        parameters w l.Params
    w.Text " ="
    // A body the user started on the next line stays there.
    if isTall l.Body || (l.Span.Start.Line > 0 && l.Body.Span.Start.Line > l.Span.Start.Line) then
        w.NewLine(indent + 4)
        body w (indent + 4) l.Body
    else
        w.Text " "
        expr w indent l.Body

let private decl (w: Writer) (d: Decl) =
    match d with
    | LetDecl l ->
        w.Before(l.Span, 0)
        letBinding w 0 l
        w.After l.Span
    | NetworkDecl n ->
        w.Before(n.Span, 0)
        doc w 0 n.Doc
        w.Text("network " + n.Name + " ")
        parameters w n.Inputs
        match n.Output with
        | Some s -> w.Text " : "; shape w s
        | None -> ()
        w.Text " ="
        w.NewLine 4
        body w 4 n.Body
        w.After n.Span
    | TrainDecl t ->
        w.Before(t.Span, 0)
        w.Text(sprintf "train %s {" t.Network)
        let width = t.Fields |> List.fold (fun m f -> max m f.Name.Length) 0
        for f in t.Fields do
            w.NewLine 4
            w.Before(f.Span, 4)
            w.Text(f.Name.PadRight width + " = ")
            expr w 4 f.Value
            w.After f.Span
        w.NewLine 0
        w.Text "}"
        w.After t.Span
    | OpenDecl(path, span) ->
        w.Before(span, 0)
        w.Text("open " + formatString path)
        w.After span

let private render (comments: Nn.Dsl.Parser.Comment list) (source: string option) (p: Program) =
    let w = Writer(comments, source)
    p.Decls |> List.iteri (fun i d ->
        if i > 0 then w.BlankLine 0
        decl w d)
    w.Finish()

/// The canonical text of a program (without comments: the AST has none; see formatSource).
let formatProgram (p: Program) : string = render [] None p

/// The canonical text of one expression, on one line.
let formatExpr (e: Expr) : string =
    let w = Writer([])
    expr w 0 e
    w.Finish().TrimEnd('\n')

/// Format source text, comments included (`nn fmt`). Refuses rather than lose a comment or change
/// the meaning: the result is parsed again and must give the same AST.
let formatSource (file: string) (text: string) : Result<string, Diagnostic list> =
    match Parser.parseProgramWithComments file text with
    | Result.Error ds -> Result.Error ds
    | Result.Ok(program, comments) ->
        let out = render comments (Some text) program
        let noPos = Span.make file (0, 0) (0, 0)
        match Parser.parseProgramWithComments file out with
        | Result.Ok(again, commentsAgain) when again = program && List.length commentsAgain = List.length comments ->
            Result.Ok out
        | _ ->
            let msg =
                "the formatter could not lay out this file without changing it; the file was left as it is "
                + "(please report this)"
            Result.Error [ Diagnostic.error "NN0190" noPos msg ]
