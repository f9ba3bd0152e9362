/// Blocks: `let`, `param` and `state` statements lined up at one column, then the result expression.
module internal Nn.Dsl.Parsing.Blocks

open FParsec
open Nn.Dsl
open Nn.Dsl.Parsing.Lexical
open Nn.Dsl.Parsing.Expressions

/// Take the doc comment lines (`///`) seen just before the declaration at the stream's position.
/// They leave the comment list, because the AST's Doc field now carries them.
let takeDoc: P<string option> =
    fun stream ->
        let us = stream.UserState
        match us.Doc with
        | [] -> Reply None
        | doc ->
            let strip (c: Comment) =
                let t = c.Text.Substring 3
                if t.StartsWith " " then t.Substring 1 else t
            let text = doc |> List.rev |> List.map strip |> String.concat "\n"
            // The doc lines are among the newest comments, so only the head of the list is rebuilt.
            let rec drop remaining (cs: Comment list) =
                match remaining, cs with
                | [], _ | _, [] -> cs
                | _, c :: rest when List.exists (fun d -> obj.ReferenceEquals(c, d)) remaining ->
                    drop (remaining |> List.filter (fun d -> not (obj.ReferenceEquals(c, d)))) rest
                | _, c :: rest -> c :: drop remaining rest
            stream.UserState <- { us with Doc = []; Comments = drop doc us.Comments }
            Reply(Some text)

let private name what = onside >>. spanned (token identRaw) <?> what

/// syntax: let name params = body — tokens right of the `let`, the body indented past it.
let letBinding (doc: string option) : P<LetBinding> =
    fun stream ->
        let start = pos stream
        let col = int stream.Column
        let p =
            kw "let" >>. withLimit col (tuple3 (name "a name") (many param) (onside >>. sym "=" >>. nested body))
        let r = p stream
        if r.Status <> ReplyStatus.Ok then Reply(r.Status, r.Error)
        else
            let ((n, nSpan), ps, b) = r.Result
            Reply { Doc = doc; Name = n; NameSpan = nSpan; Params = ps; Body = b; Span = spanTo stream start }

/// syntax: param name : [d1, d2] = init
let paramBinding: P<ParamBinding> =
    fun stream ->
        let start = pos stream
        let col = int stream.Column
        let p =
            kw "param"
            >>. withLimit col (tuple3 (name "a parameter name") (onside >>. sym ":" >>. shape)
                                      (onside >>. sym "=" >>. expr))
        let r = p stream
        if r.Status <> ReplyStatus.Ok then Reply(r.Status, r.Error)
        else
            let ((n, nSpan), shp, init) = r.Result
            Reply { Name = n; NameSpan = nSpan; Shape = shp; Init = init; Span = spanTo stream start }

/// syntax: state name : [d1, d2] = init, or state name = expr (the shape is then optional)
let stateBinding: P<StateBinding> =
    fun stream ->
        let start = pos stream
        let col = int stream.Column
        let p =
            kw "state"
            >>. withLimit col (tuple3 (name "a state name") (opt (onside >>. sym ":" >>. shape))
                                      (onside >>. sym "=" >>. expr))
        let r = p stream
        if r.Status <> ReplyStatus.Ok then Reply(r.Status, r.Error)
        else
            let ((n, nSpan), shp, value) = r.Result
            Reply { Name = n; NameSpan = nSpan; Shape = shp; Value = value; Span = spanTo stream start }

let private statement: P<Stmt> =
    fun stream ->
        if peekKw stream "param" then (paramBinding |>> ParamStmt) stream
        elif peekKw stream "state" then (stateBinding |>> StateStmt) stream
        else (takeDoc >>= fun doc -> letBinding doc |>> LetStmt) stream

let private isCloser (stream: CharStream<UState>) =
    ")]}".IndexOf(stream.Peek()) >= 0 || peekKw stream "then" || peekKw stream "else"

/// A body: right of the current offside line; statements at one column, then the result there too.
let private block: P<Expr> =
    fun stream ->
        let outer = stream.UserState.Limit
        if stream.IsEndOfStream then Reply(ReplyStatus.Error, expected "an expression")
        elif atNewLine stream && int stream.Column <= outer then
            let msg = sprintf "this line must be indented more than column %d to belong to the definition above" outer
            fatal stream (Diagnostic.error Codes.offside (nextTokenSpan stream) msg)
        else
            let start = pos stream
            let col = int stream.Column
            let stmts = ResizeArray()
            let mutable result = None
            let mutable lastStmt = Span.none
            while result.IsNone do
                let depth = stream.UserState.Depth
                anchorHere stream |> ignore
                if peekKw stream "let" || peekKw stream "param" || peekKw stream "state"
                   || (stream.Match "///" && not stream.UserState.Doc.IsEmpty) then
                    let r = withLimit col statement stream
                    if r.Status <> ReplyStatus.Ok then result <- Some(Reply(r.Status, r.Error))
                    else
                        stmts.Add r.Result
                        stream.UserState <- { stream.UserState with Depth = depth }
                        let s, len =
                            match r.Result with
                            | LetStmt l -> l.Span, 3
                            | ParamStmt p -> p.Span, 5
                            | StateStmt st -> st.Span, 5
                        lastStmt <- Span.make s.File (s.Start.Line, s.Start.Column) (s.Start.Line, s.Start.Column + len)
                        if not (atNewLine stream && int stream.Column = col) then
                            if atNewLine stream && not stream.IsEndOfStream && int stream.Column > outer
                               && not (isCloser stream) then
                                let msg = sprintf "this line should line up with the block above it at column %d" col
                                result <- Some(fatal stream (Diagnostic.error Codes.offside (nextTokenSpan stream) msg))
                            elif stream.IsEndOfStream || atNewLine stream then
                                let msg =
                                    "this block ends with a statement: its last line must be the result expression"
                                result <- Some(fatal stream (Diagnostic.error Codes.expectedExpr lastStmt msg))
                            else result <- Some(Reply(ReplyStatus.Error, expected "the end of the line"))
                else
                    let r = withLimit col expr stream
                    if r.Status <> ReplyStatus.Ok then result <- Some r
                    elif atNewLine stream && not stream.IsEndOfStream && int stream.Column > outer
                         && int stream.Column <= col && not (isCloser stream) then
                        let msg =
                            if int stream.Column = col then
                                "this line starts a second expression in the block; "
                                + "only the last line of a block is its result"
                            else sprintf "this line should line up with the block above it at column %d" col
                        result <- Some(fatal stream (Diagnostic.error Codes.offside (nextTokenSpan stream) msg))
                    elif stmts.Count = 0 then result <- Some r
                    else result <- Some(Reply(Block(List.ofSeq stmts, r.Result, spanTo stream start)))
            result.Value

/// Tie the knot between expressions and blocks (lambda bodies are blocks). Called by the entry points:
/// a module's top-level `do` in a library runs only when that file's values are first touched.
let install () = bodyRef.Value <- block
