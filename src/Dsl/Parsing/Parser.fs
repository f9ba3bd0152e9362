/// The entry points of the grammar: a whole program (with recovery at top-level declarations)
/// or a single expression. See Codes.fs for the diagnostic codes.
module internal Nn.Dsl.Parser

open System
open System.Threading
open FParsec
open Nn.Dsl
open Nn.Dsl.Parsing.Lexical

/// A comment of the source, kept beside the AST (the formatter puts comments back).
type Comment = Nn.Dsl.Parsing.Lexical.Comment

let private joinAlternatives (labels: string list) =
    match List.rev labels with
    | [] -> ""
    | [ one ] -> one
    | last :: rest -> (rest |> List.rev |> String.concat ", ") + " or " + last

/// Turn FParsec's error at the stream's position into a diagnostic in the user's words.
let private convert (stream: CharStream<UState>) (err: ErrorMessageList) : Diagnostic =
    let sink = stream.UserState.Sink
    match sink.Pending with
    | Some(index, d) when index = stream.Index ->
        sink.Pending <- None
        d
    | _ ->
        sink.Pending <- None
        let msgs = if isNull err then [||] else ErrorMessageList.ToSortedArray err
        let labels =
            msgs
            |> Array.choose (function
                | :? ErrorMessage.Expected as e -> Some e.Label
                | :? ErrorMessage.ExpectedString as e -> Some(sprintf "`%s`" e.String)
                | _ -> None)
            // The operator table's own labels say nothing a user can act on.
            |> Array.filter (fun l -> l <> "prefix operator" && l <> "infix operator")
            // `fun` and `if` start expressions; "an expression" says it.
            |> Array.filter (fun l -> l <> "`fun`" && l <> "`if`")
            |> Array.distinct
            |> List.ofArray
        let messages = msgs |> Array.choose (function :? ErrorMessage.Message as m -> Some m.String | _ -> None)
        let span = nextTokenSpan stream
        let found = describeNext stream
        if messages.Length > 0 then Diagnostic.error Codes.unexpected span messages[0]
        elif labels.IsEmpty then Diagnostic.error Codes.unexpected span (sprintf "unexpected %s" found)
        else
            let code = if List.contains "an expression" labels then Codes.expectedExpr else Codes.unexpected
            Diagnostic.error code span (sprintf "expected %s, but found %s" (joinAlternatives labels) found)

/// The children of an expression, for the depth check.
let private children (e: Expr) : Expr list =
    let stmtExprs =
        function
        | LetStmt l ->
            l.Body
            :: (l.Params |> List.collect (fun p -> p.Shape |> Option.map (fun s -> s.Dims) |> Option.defaultValue []))
        | ParamStmt p -> p.Init :: p.Shape.Dims
        | StateStmt st -> st.Value :: (st.Shape |> Option.map (fun s -> s.Dims) |> Option.defaultValue [])
    match e with
    | Number _ | String _ | Bool _ | Ident _ -> []
    | App(f, a, _) -> [ f; a ]
    | Lambda(ps, b, _) ->
        b :: (ps |> List.collect (fun p -> p.Shape |> Option.map (fun s -> s.Dims) |> Option.defaultValue []))
    | Infix(_, l, r, _, _) -> [ l; r ]
    | Prefix(_, x, _) | Paren(x, _) | Member(x, _, _) -> [ x ]
    | List(xs, _) | Tuple(xs, _) -> xs
    | Record(fs, _) -> fs |> List.map (fun f -> f.Value)
    | If(c, a, b, _) -> [ c; a; b ]
    | Slice(t, rs, _) ->
        let bounds =
            rs
            |> List.collect (function
                | All _ -> []
                | Index(i, _) -> [ i ]
                | Range(lo, hi, _) -> List.choose id [ lo; hi ])
        t :: bounds
    | Block(ss, r, _) -> r :: List.collect stmtExprs ss

/// Later stages walk the tree recursively; refuse trees deeper than Codes.maxDepth (a 1 MB line of
/// `a + a + ...` is flat text but a deep tree). Iterative, so the check itself cannot overflow.
let private checkDepth (roots: Expr list) : Diagnostic option =
    let stack = Collections.Generic.Stack<Expr * int>()
    for r in roots do stack.Push((r, 1))
    let mutable found = None
    while found.IsNone && stack.Count > 0 do
        let (e, d) = stack.Pop()
        if d > Codes.maxDepth then
            let s = e.Span
            let first = Span.make s.File (s.Start.Line, s.Start.Column) (s.Start.Line, s.Start.Column + 1)
            found <- Some(Diagnostic.error Codes.tooDeep first
                                (sprintf "this expression is nested more than %d levels deep" Codes.maxDepth))
        else for c in children e do stack.Push((c, d + 1))
    found

let private declRoots =
    function
    | LetDecl l -> [ Block([ LetStmt l ], Bool(true, l.Span), l.Span) ]
    | NetworkDecl n -> [ n.Body ]
    | TrainDecl t -> t.Fields |> List.map (fun f -> f.Value)
    | OpenDecl _ -> []

/// Whether the calling thread's stack holds the parser's deepest nesting (Codes.maxNesting levels: under 1 MB in the
/// native `nn`, found by `ulimit -s` on 499 nested brackets, calls and operators), so a parse runs on it. A program
/// sets it on its main thread after checking the stack's limit (the `nn` command: 8 MB or more); other threads parse
/// on a thread of their own.
[<AbstractClass; Sealed>]
type ParserStack =
    [<ThreadStatic; DefaultValue>]
    static val mutable private deep: bool

    static member Deep
        with get () = ParserStack.deep
        and set (v: bool) = ParserStack.deep <- v

/// The parser recurses once per nesting level (up to Codes.maxNesting); a thread of its own with a
/// large stack makes that safe whatever thread the caller is on (Expecto's workers have small stacks), unless the
/// caller's own is known to be large enough (ParserStack.Deep: a thread each parse, two a command, cost `nn predict`
/// ~1 ms of its ~80: the thread's start and its fresh stack pages, bench/README.md, issue #18).
let private onLargeStack (f: unit -> 'a) : 'a =
    if ParserStack.Deep then
        f ()
    else
        let mutable result = Unchecked.defaultof<'a>
        let mutable error: exn = null
        let t = Thread((fun () -> try result <- f () with e -> error <- e), 256 * 1024 * 1024)
        t.Start()
        t.Join()
        if isNull error then result else raise error

let private internalError file (e: exn) =
    let msg = sprintf "the parser failed unexpectedly (%s); please report this" e.Message
    [ Diagnostic.error "NN0199" (Span.make file (0, 0) (0, 0)) msg ]

let private newStream file (text: string) =
    Nn.Dsl.Parsing.Blocks.install ()
    let stream = new CharStream<UState>(text, 0, text.Length)
    stream.Name <- file
    stream.UserState <- initialState file
    stream

/// Skip to the next line that starts at column 1 with something that can begin a declaration.
let private skipToNextDeclaration (stream: CharStream<UState>) =
    let mutable go = true
    while go && not stream.IsEndOfStream do
        stream.SkipRestOfLine true
        let c = stream.Peek()
        if stream.IsEndOfStream || isIdStart c || c = '/' || c = '(' then go <- false

let private run file (text: string) : Result<Program * Comment list, Diagnostic list> =
    use stream = newStream file text
    let diags = ResizeArray<Diagnostic>()
    let decls = ResizeArray<Decl>()
    let mutable fin = false
    let fail (r: Reply<_>) =
        let d = convert stream r.Error
        diags.Add d
        // After an unclosed comment the rest of the file is comment; nothing more can be said.
        if diags.Count >= 20 || (d.Code = Codes.unterminated && d.Message.Contains "comment") then fin <- true
        else
            skipToNextDeclaration stream
            stream.UserState <- { stream.UserState with EndLine = 0; Doc = [] }
    let w = ws stream
    if w.Status <> ReplyStatus.Ok then fail w
    while not fin do
        if stream.IsEndOfStream then fin <- true
        else
            stream.UserState <- { stream.UserState with Limit = 0; Depth = 0; Anchor = stream.Index }
            let r = Nn.Dsl.Parsing.Declarations.decl stream
            if r.Status = ReplyStatus.Ok then
                decls.Add r.Result
                match checkDepth (declRoots r.Result) with
                | Some d -> diags.Add d
                | None -> ()
            else
                fail r
                if not fin then
                    let w = ws stream
                    if w.Status <> ReplyStatus.Ok then fail w
    if diags.Count > 0 then Result.Error(List.ofSeq diags)
    elif decls.Count = 0 then
        let msg = "the file is empty: a program needs at least one declaration"
        Result.Error [ Diagnostic.error Codes.emptyFile (Span.make file (0, 0) (0, 0)) msg ]
    else Result.Ok({ File = file; Decls = List.ofSeq decls }, List.rev stream.UserState.Comments)

/// Parse a whole file, keeping its comments (for the formatter). Never throws.
let parseProgramWithComments (file: string) (text: string) : Result<Program * Comment list, Diagnostic list> =
    try onLargeStack (fun () -> run file text) with e -> Result.Error(internalError file e)

/// Parse a whole file. Returns the program or the diagnostics (at least one). Never throws.
let parseProgram (file: string) (text: string) : Result<Program, Diagnostic list> =
    parseProgramWithComments file text |> Result.map fst

/// Parse one expression (tests, the REPL). Never throws.
let parseExpr (file: string) (text: string) : Result<Expr, Diagnostic list> =
    let go () =
        use stream = newStream file text
        stream.UserState <- { stream.UserState with Anchor = 0L }
        let r = (ws >>. (fun s -> (anchorHere >>. Nn.Dsl.Parsing.Expressions.expr) s)) stream
        if r.Status <> ReplyStatus.Ok then Result.Error [ convert stream r.Error ]
        elif not stream.IsEndOfStream then
            Result.Error [ Diagnostic.error Codes.unexpected (nextTokenSpan stream)
                               (sprintf "unexpected %s after the end of the expression" (describeNext stream)) ]
        else
            match checkDepth [ r.Result ] with
            | Some d -> Result.Error [ d ]
            | None -> Result.Ok r.Result
    try onLargeStack go with e -> Result.Error(internalError file e)
