/// The expression grammar: atoms and postfix forms, application by juxtaposition, the operator
/// table, lambdas, conditionals and tuples. Blocks (statements then a result) are parsed by
/// Blocks.fs, which fills in `bodyRef` because lambda bodies are blocks too.
module internal Nn.Dsl.Parsing.Expressions

open FParsec
open Nn.Dsl
open Nn.Dsl.Parsing.Lexical

/// A full expression: tuples, lambdas and conditionals included.
let expr, exprRef = createParserForwardedToRef<Expr, UState> ()

/// A body: statements then a result, or a single expression (set by Blocks.fs).
/// The current offside line (UState.Limit) is the column the body must be right of.
let body, bodyRef = createParserForwardedToRef<Expr, UState> ()

/// The closing bracket of a construct, or NN0102 with a note at the opening bracket.
let closing (closer: string) (what: string) (openSpan: Span) : P<unit> =
    fun stream ->
        if stream.Match closer then
            stream.Skip closer.Length
            markEnd stream
        else
            let found = if stream.IsEndOfStream then "but the file ended" else "but found " + describeNext stream
            fatal stream
                (Diagnostic.error Codes.unclosed (nextTokenSpan stream)
                     (sprintf "expected `%s` to close the %s, %s" closer what found)
                 |> Diagnostic.withNote (Some openSpan) (sprintf "the %s opened here" what))

/// Items separated by `;` or written one per line, each line starting at the first item's column.
/// Each item is parsed with that column as its offside line, so the next aligned line ends it.
let items (item: P<'a>) (closer: char) (what: string) : P<'a list> =
    fun stream ->
        if stream.Peek() = closer then Reply []
        else
            let col = int stream.Column
            let acc = ResizeArray()
            let mutable result = None
            while result.IsNone do
                let depth = stream.UserState.Depth
                anchorHere stream |> ignore
                let r = withLimit col item stream
                if r.Status <> ReplyStatus.Ok then result <- Some(Reply(r.Status, r.Error))
                else
                    acc.Add r.Result
                    stream.UserState <- { stream.UserState with Depth = depth }
                    if stream.Peek() = ';' then
                        stream.Skip()
                        markEnd stream |> ignore
                        let w = ws stream
                        if w.Status <> ReplyStatus.Ok then result <- Some(Reply(w.Status, w.Error))
                        elif stream.Peek() = closer then result <- Some(Reply(List.ofSeq acc))
                    elif stream.Peek() = closer || stream.IsEndOfStream || not (atNewLine stream) then
                        result <- Some(Reply(List.ofSeq acc))
                    elif int stream.Column <> col && ")]}".IndexOf(stream.Peek()) < 0 then
                        let msg = sprintf "this line should line up with the first %s at column %d" what col
                        result <- Some(fatal stream (Diagnostic.error Codes.offside (nextTokenSpan stream) msg))
                    elif int stream.Column <> col then result <- Some(Reply(List.ofSeq acc))
            result.Value

/// syntax: name = value
let field: P<Field> =
    spanned (pipe2 (spanned (token identRaw <?> "a field name") ) (sym "=" >>. expr) (fun n v -> n, v))
    |>> fun (((name, nameSpan), value), span) -> { Name = name; NameSpan = nameSpan; Value = value; Span = span }

/// `open what closer` around p, counting one nesting level; the result's span covers the brackets.
let bracketed (openS: string) (closer: string) (what: string) (p: P<'a>) : P<'a * Span> =
    fun stream ->
        if not (stream.Match openS) then Reply(ReplyStatus.Error, expected (sprintf "`%s`" openS)) else
        let start = pos stream
        let openSpan = spanOf stream start (fst start, snd start + openS.Length)
        let inner = nested (token (skipString openS) >>. p .>> closing closer what openSpan)
        spanned inner stream

let private opExprRef = ref (Unchecked.defaultof<P<Expr>>)
/// An expression without tuples (operands, shape dimensions, slice bounds).
let opExpr: P<Expr> = fun stream -> opExprRef.Value stream

/// syntax: [n, 28, 28]
let shape: P<ShapeAnn> =
    onside >>. bracketed "[" "]" "shape" (sepBy1 opExpr (sym ",")) .>> ws
    |>> (fun (dims, span) -> { Dims = dims; Span = span })
    <?> "a shape like [n, 784]"

/// syntax: x or (x: [n, k])
let param: P<Param> =
    onside
    >>. choice [
        spanned (token identRaw) |>> fun (name, span) -> { Name = name; Shape = None; Span = span }
        bracketed "(" ")" "parameter"
            (pipe2 (token identRaw <?> "a parameter name") (sym ":" >>. shape) (fun n s -> n, s)) .>> ws
        |>> fun ((name, shp), span) -> { Name = name; Shape = Some shp; Span = span }
    ]
    <?> "a parameter"

/// One axis of a slice: `*`, `i`, `a..b`, `a..`, `..b`.
let private sliceRange: P<SliceRange> =
    fun stream ->
        let start = pos stream
        if stream.Peek() = '*' then (token (skipChar '*') |>> fun () -> All(spanTo stream start)) stream
        else
            let range lo =
                sym ".." >>. opt opExpr |>> fun hi -> Range(lo, hi, spanTo stream start)
            (range None <|> (opExpr >>= fun lo -> range (Some lo) <|>% Index(lo, lo.Span))) stream

/// Postfix forms right after an atom (no blank before them): `.[slices]` and `.field`.
let private postfix (e: Expr) : P<Expr> =
    fun stream ->
        let mutable e = e
        let mutable result = None
        while result.IsNone do
            if stream.Peek() = '.' && stream.Peek 1 = '[' then
                let r = bracketed ".[" "]" "slice" (sepBy1 sliceRange (sym ",")) stream
                if r.Status = ReplyStatus.Ok then e <- Slice(e, fst r.Result, Span.union e.Span (snd r.Result))
                else result <- Some(Reply(r.Status, r.Error))
            elif stream.Peek() = '.' && isIdStart (stream.Peek 1) then
                stream.Skip()
                let t = stream.IndexToken
                stream.Skip()
                while isIdChar (stream.Peek()) do stream.Skip()
                let name = stream.ReadFrom t
                markEnd stream |> ignore
                e <- Member(e, name, spanTo stream (e.Span.Start.Line, e.Span.Start.Column))
            else result <- Some(Reply e)
        result.Value

/// The atoms, chosen by their first character (no backtracking needed).
let private atomRaw: P<Expr> =
    fun stream ->
        let start = pos stream
        let c = stream.Peek()
        let ok (r: Reply<'a>) f = if r.Status = ReplyStatus.Ok then Reply(f r.Result) else Reply(r.Status, r.Error)
        if System.Char.IsDigit c then
            let r = (numberRaw .>> markEnd) stream
            ok r (fun (v, isInt) -> Number(v, isInt, spanTo stream start))
        elif c = '"' then ok ((stringRaw .>> markEnd) stream) (fun s -> String(s, spanTo stream start))
        elif c = '(' then ok (bracketed "(" ")" "parenthesis" expr stream) Paren
        elif c = '[' then ok (bracketed "[" "]" "list" (items expr ']' "item") stream) List
        elif c = '{' then ok (bracketed "{" "}" "record" (items field '}' "field") stream) Record
        elif peekKw stream "true" || peekKw stream "false" then
            let v = peekKw stream "true"
            stream.Skip(if v then 4 else 5)
            markEnd stream |> ignore
            Reply(Bool(v, spanTo stream start))
        elif isIdStart c then ok ((identRaw .>> markEnd) stream) (fun s -> Ident(s, spanTo stream start))
        else Reply(ReplyStatus.Error, expected "an expression")

/// An atom with its postfix forms and the blanks after it.
let atom: P<Expr> = (onside <?> "an expression") >>. (atomRaw >>= postfix) .>> ws

/// Whether an atom can start with this character (a `(` that opens a comment cannot).
let private startsAtom (stream: CharStream<UState>) (i: int) =
    let c = stream.Peek i
    System.Char.IsDigit c || isIdStart c || c = '"' || c = '[' || c = '{' || (c = '(' && stream.Peek(i + 1) <> '*')

/// syntax: f -x — as in F#, a `-` after a blank and right before its operand, on the line of the
/// previous token, negates one argument (`clip -1.0 1.0`); `f - x` and `f-x` stay subtractions.
let private negativeArg: P<Expr> =
    fun stream ->
        let us = stream.UserState
        let before = stream.Peek(-1)
        if stream.Peek() = '-' && before = ' ' && int stream.Line = us.EndLine && startsAtom stream 1 then
            let state = stream.State
            let (l, c) = pos stream
            stream.Skip()
            let r = (atomRaw >>= postfix .>> ws) stream
            if r.Status = ReplyStatus.Ok then
                Reply(Prefix("-", r.Result, Span.union (spanOf stream (l, c) (l, c + 1)) r.Result.Span))
            elif r.Status = ReplyStatus.FatalError then r
            else
                stream.BacktrackTo state
                Reply(ReplyStatus.Error, NoErrorMessages)
        else Reply(ReplyStatus.Error, NoErrorMessages)

/// syntax: f x y — application by juxtaposition, left associative; `f -x` passes `-x` (negativeArg).
let application: P<Expr> =
    pipe2 atom (many (atom <|> negativeArg))
        (List.fold (fun f a -> App(f, a, Span.union (f: Expr).Span (a: Expr).Span)))

/// syntax: fun x (y: [n, k]) -> body
let lambda: P<Expr> =
    spanned (onside >>. kw "fun" >>. pipe2 (many1 param) (sym "->" >>. nested body) (fun ps b -> ps, b))
    |>> fun ((ps, b), span) -> Lambda(ps, b, span)

/// `then` and `else` may stand at the offside line itself (`else` under `if`).
let private branchKw word : P<unit> =
    fun stream ->
        let us = stream.UserState
        if (int stream.Line = us.EndLine || int stream.Column >= us.Limit) && peekKw stream word then kw word stream
        else
            let found = if stream.IsEndOfStream then "but the file ended" else "but found " + describeNext stream
            fatal stream (Diagnostic.error Codes.unexpected (nextTokenSpan stream)
                              (sprintf "expected `%s`: `if c then a else b` needs both branches, %s" word found))

/// syntax: if c then a else b
let ifThenElse: P<Expr> =
    spanned (onside >>. kw "if" >>. nested (tuple3 expr (branchKw "then" >>. body) (branchKw "else" >>. body)))
    |>> fun ((c, a, b), span) -> If(c, a, b, span)

/// After an operator's text: check the offside rule (an infix operator starting a line may stand
/// left of the offside line by its length + 1, as in F#, so `|>` lines up under the first stage),
/// then return the operator's span. Failing without changing the state makes the OPP end the expression.
let private afterOp (infix: bool) (len: int) (deepens: bool) : P<Span> =
    fun stream ->
        let (l, c) = pos stream
        let us = stream.UserState
        let startIndex = stream.Index - int64 len
        let startCol = c - len
        let newLine = l > us.EndLine
        if newLine && startCol + len + 1 <= us.Limit && startIndex <> us.Anchor then
            Reply(ReplyStatus.Error, NoErrorMessages)
        // As in F#, `-x` starting a line is a negation that starts a new line of the block, not `... - x`.
        elif newLine && infix && len = 1 && stream.Peek(-1) = '-' && stream.Peek() <> ' ' && startCol <= us.Limit then
            Reply(ReplyStatus.Error, NoErrorMessages)
        elif deepens && us.Depth >= Codes.maxNesting then
            fatal stream (Diagnostic.error Codes.tooDeep (spanOf stream (l, c - len) (l, c))
                              (sprintf "operators are nested more than %d levels deep" Codes.maxNesting))
        else
            if deepens then stream.UserState <- { us with Depth = us.Depth + 1 }
            markEnd stream |> ignore
            let w = ws stream
            if w.Status <> ReplyStatus.Ok then Reply(w.Status, w.Error) else Reply(spanOf stream (l, c - len) (l, c))

let private opp = OperatorPrecedenceParser<Expr, Span, UState>()

do
    // F# precedences, lowest first; `**` is right associative and binds tightest of the binary operators.
    let infixes =
        [ 1, Associativity.Left, [ "|>" ]
          2, Associativity.Left, [ ">>" ]
          3, Associativity.Left, [ "||" ]
          4, Associativity.Left, [ "&&" ]
          5, Associativity.Left, [ "="; "<>"; "<"; ">"; "<="; ">=" ]
          6, Associativity.Left, [ "+"; "-" ]
          7, Associativity.Left, [ "*"; "/"; "@" ]
          8, Associativity.Right, [ "**" ] ]
    for (prec, assoc, ops) in infixes do
        for op in ops do
            opp.AddOperator(
                InfixOperator(op, afterOp true op.Length (assoc = Associativity.Right), prec, assoc, (),
                              fun opSpan l r -> Infix(op, l, r, opSpan, Span.union l.Span r.Span)))
    let prefix op (after: P<Span>) =
        opp.AddOperator(PrefixOperator(op, after, 9, true, (), fun opSpan e -> Prefix(op, e, Span.union opSpan e.Span)))
    prefix "-" (afterOp false 1 true)
    // `not` is a word: `nothing` is a name, not `not hing`.
    prefix "not" (fun stream ->
        if isIdChar (stream.Peek()) then Reply(ReplyStatus.Error, NoErrorMessages) else afterOp false 3 true stream)
    opp.TermParser <- choice [ lambda; ifThenElse; application ]
    opExprRef.Value <- opp.ExpressionParser

/// A `,` continuing a tuple follows the operator offside rule.
let private comma: P<unit> =
    fun stream ->
        if stream.Peek() = ',' then
            let start = stream.State
            stream.Skip()
            let r = afterOp true 1 false stream
            if r.Status = ReplyStatus.Ok then Reply(())
            else
                stream.BacktrackTo start
                Reply(ReplyStatus.Error, NoErrorMessages)
        else Reply(ReplyStatus.Error, NoErrorMessages)

do
    exprRef.Value <-
        sepBy1 opExpr comma
        |>> function
            | [ e ] -> e
            | es -> Tuple(es, Span.union (List.head es).Span (List.last es).Span)
