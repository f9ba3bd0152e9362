/// The lexical layer of the grammar: parser state, whitespace and comments, tokens, spans,
/// the offside check and the helpers that raise definite (fatal) diagnostics.
module internal Nn.Dsl.Parsing.Lexical

open System
open System.Globalization
open FParsec
open Nn.Dsl

/// A comment kept beside the AST so the formatter can put it back.
type Comment =
    { Text: string
      Span: Span
      /// `///` on its own line (a doc comment; attached to the next `let`/`network` when there is one).
      IsDoc: bool
      /// Nothing but blanks before it on its line.
      OwnLine: bool }

/// Where a definite error waits for the top level: the stream index it was raised at and the diagnostic.
/// A mutable box in the (otherwise immutable) user state, because FParsec's error messages carry no code or span.
[<AllowNullLiteral>]
type Sink() =
    member val Pending: (int64 * Diagnostic) option = None with get, set

type UState =
    { File: string
      /// The offside line: a token that starts a new line must be at a column greater than this.
      Limit: int
      /// The stream index of the one token allowed at any column (the first token of a block line or item).
      Anchor: int64
      /// Bracket nesting depth, checked against Codes.maxNesting.
      Depth: int
      /// The end (exclusive) of the last token, which is where a node's span ends.
      EndLine: int
      EndCol: int
      /// Doc comment lines seen since the last token, newest first.
      Doc: Comment list
      /// Every comment so far, newest first.
      Comments: Comment list
      Sink: Sink }

type P<'a> = Parser<'a, UState>

let initialState file =
    { File = file; Limit = 0; Anchor = -1L; Depth = 0; EndLine = 0; EndCol = 0; Doc = []; Comments = []; Sink = Sink() }

// ---------------------------------------------------------------------------------------------
// Spans and definite errors

let pos (stream: CharStream<UState>) = int stream.Line, int stream.Column

let spanOf (stream: CharStream<UState>) (start: int * int) (stop: int * int) =
    Span.make stream.UserState.File start stop

/// The span from `start` to the end of the last token consumed.
let spanTo (stream: CharStream<UState>) (start: int * int) =
    let us = stream.UserState
    Span.make us.File start (us.EndLine, us.EndCol)

/// Parse p and pair its result with its span (first token to last token, trailing blanks excluded).
let spanned (p: P<'a>) : P<'a * Span> =
    fun stream ->
        let start = pos stream
        let r = p stream
        if r.Status = ReplyStatus.Ok then Reply((r.Result, spanTo stream start)) else Reply(r.Status, r.Error)

let isIdStart c = Char.IsLetter c || c = '_'
let isIdChar c = Char.IsLetterOrDigit c || c = '_' || c = '\''
let private isOpChar c = "+-*/@<>=|&.:;,!".IndexOf(c: char) >= 0

/// How the token at the stream's position reads in a message: "`foo`", "the end of the file".
let describeNext (stream: CharStream<UState>) =
    if stream.IsEndOfStream then "the end of the file"
    else
        let c = stream.Peek()
        let take pred =
            let mutable n = 0
            while n < 40 && pred (stream.Peek n) && not (n > 0 && stream.Peek n = '\uffff') do n <- n + 1
            stream.PeekString n
        if c = '"' then "a string"
        elif isIdStart c then sprintf "`%s`" (take isIdChar)
        elif Char.IsDigit c then sprintf "`%s`" (take (fun c -> Char.IsLetterOrDigit c || c = '.'))
        elif isOpChar c then sprintf "`%s`" (take isOpChar |> fun s -> if s.Length > 3 then s.Substring(0, 3) else s)
        else sprintf "`%c`" c

/// The span of the token at the stream's position (one column at the end of the file).
let nextTokenSpan (stream: CharStream<UState>) =
    let (l, c) = pos stream
    let len =
        if stream.IsEndOfStream then 1
        else
            let ch = stream.Peek()
            let mutable n = 1
            if isIdStart ch then (while isIdChar (stream.Peek n) do n <- n + 1)
            elif Char.IsDigit ch then (while Char.IsLetterOrDigit(stream.Peek n) || stream.Peek n = '.' do n <- n + 1)
            elif isOpChar ch then (while n < 3 && isOpChar (stream.Peek n) do n <- n + 1)
            n
    spanOf stream (l, c) (l, c + len)

/// Stop with a definite diagnostic: recorded in the sink, returned as a fatal error so no
/// alternative is tried (the input is wrong whichever way it is read).
let fatal (stream: CharStream<UState>) (d: Diagnostic) : Reply<'a> =
    stream.UserState.Sink.Pending <- Some(stream.Index, d)
    Reply(ReplyStatus.FatalError, messageError d.Message)

// ---------------------------------------------------------------------------------------------
// Whitespace and comments

let private addComment (stream: CharStream<UState>) (start: int * int) (text: string) (ownLine: bool) =
    let us = stream.UserState
    let span = spanOf stream start (pos stream)
    let isDoc = ownLine && text.StartsWith "///" && not (text.StartsWith "////")
    let c = { Text = text; Span = span; IsDoc = isDoc; OwnLine = ownLine }
    stream.UserState <- { us with Comments = c :: us.Comments; Doc = (if isDoc then c :: us.Doc else us.Doc) }

/// Skips blanks, newlines and comments, recording comments. Tabs are an error, as in F#: the offside
/// rule measures columns and a tab has no agreed width.
let ws: P<unit> =
    fun stream ->
        let mutable result = Reply(())
        let mutable go = true
        while go do
            let c = stream.Peek()
            if c = ' ' then stream.Skip()
            elif c = '\n' || c = '\r' then stream.SkipNewline() |> ignore
            elif c = '\t' then
                let (l, col) = pos stream
                result <- fatal stream (Diagnostic.error Codes.tab (spanOf stream (l, col) (l, col + 1))
                                            "tab characters are not allowed in `.nn` files; indent with spaces")
                go <- false
            elif c = '/' && stream.Peek 1 = '/' then
                let start = pos stream
                let ownLine = int stream.Line > stream.UserState.EndLine
                let token = stream.IndexToken
                while (let d = stream.Peek() in d <> '\n' && d <> '\r' && not stream.IsEndOfStream) do stream.Skip()
                addComment stream start (stream.ReadFrom token) ownLine
            elif c = '(' && stream.Peek 1 = '*' then
                let start = pos stream
                let ownLine = int stream.Line > stream.UserState.EndLine
                let token = stream.IndexToken
                stream.Skip 2
                let mutable depth = 1
                while depth > 0 && not stream.IsEndOfStream do
                    let d = stream.Peek()
                    if d = '(' && stream.Peek 1 = '*' then depth <- depth + 1; stream.Skip 2
                    elif d = '*' && stream.Peek 1 = ')' then depth <- depth - 1; stream.Skip 2
                    elif d = '\n' || d = '\r' then stream.SkipNewline() |> ignore
                    else stream.Skip()
                if depth > 0 then
                    let (l, col) = start
                    result <- fatal stream (Diagnostic.error Codes.unterminated (spanOf stream start (l, col + 2))
                                                "this comment is never closed: `(*` needs a matching `*)`")
                    go <- false
                else addComment stream start (stream.ReadFrom token) ownLine
            else go <- false
        result

// ---------------------------------------------------------------------------------------------
// The offside rule

/// Whether the token at the stream's position may continue the current construct: it is on the
/// line of the previous token, right of the offside line, or the anchored first token.
let onsideAt (stream: CharStream<UState>) =
    let us = stream.UserState
    int stream.Line = us.EndLine || int stream.Column > us.Limit || stream.Index = us.Anchor

/// Fails without consuming when the next token is offside (which ends the current expression).
let onside: P<unit> =
    fun stream -> if onsideAt stream then Reply(()) else Reply(ReplyStatus.Error, NoErrorMessages)

/// Whether the next token starts a new line.
let atNewLine (stream: CharStream<UState>) = int stream.Line > stream.UserState.EndLine

/// Run p in a modified state, putting the outer values back afterwards. When p fails without
/// consuming input the whole state is restored, so alternatives (`<|>`, `many`) still see "no input consumed".
let private scoped (enter: UState -> UState) (leave: UState -> UState -> UState) (p: P<'a>) : P<'a> =
    fun stream ->
        let before = stream.State
        let outer = stream.UserState
        stream.UserState <- enter outer
        let tag = stream.StateTag
        let r = p stream
        if r.Status = ReplyStatus.Ok then stream.UserState <- leave outer stream.UserState
        elif stream.StateTag = tag then stream.BacktrackTo before
        r

/// Run p with the offside line at `limit`, restoring the outer one afterwards.
let withLimit (limit: int) (p: P<'a>) : P<'a> =
    scoped (fun us -> { us with Limit = limit }) (fun outer us -> { us with Limit = outer.Limit }) p

/// Let the token at the current position stand at any column (it starts a line of a block or an item).
let anchorHere: P<unit> =
    fun stream ->
        stream.UserState <- { stream.UserState with Anchor = stream.Index }
        Reply(())

/// Count one level of nesting around p, refusing past Codes.maxNesting.
let nested (p: P<'a>) : P<'a> =
    fun stream ->
        if stream.UserState.Depth >= Codes.maxNesting then
            fatal stream (Diagnostic.error Codes.tooDeep (nextTokenSpan stream)
                              (sprintf "brackets are nested more than %d levels deep" Codes.maxNesting))
        else
            scoped (fun us -> { us with Depth = us.Depth + 1 }) (fun outer us -> { us with Depth = outer.Depth })
                p stream

// ---------------------------------------------------------------------------------------------
// Tokens. Raw parsers stop right after the token; `token` marks its end and skips the blanks after it.

/// Record the end of the token just read (spans end here) and forget doc comments seen before it.
let markEnd: P<unit> =
    fun stream ->
        let us = stream.UserState
        stream.UserState <- { us with EndLine = int stream.Line; EndCol = int stream.Column; Doc = [] }
        Reply(())

let token (p: P<'a>) : P<'a> = p .>> markEnd .>> ws

let keywords =
    set [ "let"; "param"; "state"; "network"; "train"; "open"; "fun"; "if"; "then"; "else"; "not"; "true"; "false" ]

/// An identifier, dotted names included (`List.fold`); keywords are not identifiers.
let identRaw: P<string> =
    fun stream ->
        if not (isIdStart (stream.Peek())) then Reply(ReplyStatus.Error, expected "a name")
        else
            let token = stream.IndexToken
            let state = stream.State
            let readWord () =
                stream.Skip()
                while isIdChar (stream.Peek()) do stream.Skip()
            readWord ()
            while stream.Peek() = '.' && isIdStart (stream.Peek 1) do
                stream.Skip()
                readWord ()
            let s = stream.ReadFrom token
            if keywords.Contains s then
                stream.BacktrackTo state
                Reply(ReplyStatus.Error, expected "a name")
            else Reply s

/// `kw "let"`: the keyword, not the start of a longer name.
let kw (word: string) : P<unit> =
    fun (stream: CharStream<UState>) ->
        if stream.Match word && not (isIdChar (stream.Peek word.Length)) then
            stream.Skip word.Length
            Reply(())
        else Reply(ReplyStatus.Error, expected (sprintf "`%s`" word))
    |> token

let peekKw (stream: CharStream<UState>) (word: string) = stream.Match word && not (isIdChar (stream.Peek word.Length))

let sym (s: string) : P<unit> = token (skipString s) <?> sprintf "`%s`" s

/// syntax: 42, 0.5, 1e-3. A '.' belongs to the number only when a digit follows, so `0..1` is a range.
let numberRaw: P<float * bool> =
    fun stream ->
        if not (Char.IsDigit(stream.Peek())) then Reply(ReplyStatus.Error, expected "a number")
        else
            let start = pos stream
            let token = stream.IndexToken
            let digits () = while Char.IsDigit(stream.Peek()) do stream.Skip()
            digits ()
            let mutable isInt = true
            if stream.Peek() = '.' && Char.IsDigit(stream.Peek 1) then
                isInt <- false
                stream.Skip()
                digits ()
            let e = stream.Peek()
            if (e = 'e' || e = 'E')
               && (Char.IsDigit(stream.Peek 1)
                   || ((stream.Peek 1 = '+' || stream.Peek 1 = '-') && Char.IsDigit(stream.Peek 2))) then
                isInt <- false
                stream.Skip 2
                digits ()
            let text = stream.ReadFrom token
            if isIdStart (stream.Peek()) then
                let msg = sprintf "a number cannot be followed directly by a letter: `%s%c`" text (stream.Peek())
                fatal stream (Diagnostic.error Codes.unexpected (nextTokenSpan stream) msg)
            else
                let v = Double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)
                if Double.IsInfinity v then
                    fatal stream (Diagnostic.error Codes.badNumber (spanOf stream start (pos stream))
                                      "this number is too large to represent")
                else Reply((v, isInt))

/// syntax: "text" with escapes \" \\ \n \t \r \0 \uXXXX; a string ends on its own line.
let stringRaw: P<string> =
    fun stream ->
        if stream.Peek() <> '"' then Reply(ReplyStatus.Error, expected "a string")
        else
            let (l, c) = pos stream
            stream.Skip()
            let sb = Text.StringBuilder()
            let mutable result = None
            while result.IsNone do
                let ch = stream.Peek()
                if ch = '"' then
                    stream.Skip()
                    result <- Some(Reply(sb.ToString()))
                elif ch = '\n' || ch = '\r' || stream.IsEndOfStream then
                    let msg = "this string is never closed: add a `\"` before the end of the line"
                    let span = spanOf stream (l, c) (l, c + 1)
                    result <- Some(fatal stream (Diagnostic.error Codes.unterminated span msg))
                elif ch = '\\' then
                    let (el, ec) = pos stream
                    let esc = stream.Peek 1
                    let simple =
                        match esc with
                        | 'n' -> Some '\n' | 't' -> Some '\t' | 'r' -> Some '\r' | '0' -> Some '\000'
                        | '\\' -> Some '\\' | '"' -> Some '"' | '\'' -> Some '\''
                        | _ -> None
                    match simple with
                    | Some x -> sb.Append x |> ignore; stream.Skip 2
                    | None ->
                        let hex = stream.PeekString 6
                        if esc = 'u' && hex.Length = 6 && hex.Substring(2) |> Seq.forall Uri.IsHexDigit then
                            sb.Append(char (Convert.ToInt32(hex.Substring 2, 16))) |> ignore
                            stream.Skip 6
                        else
                            let shown = if esc = '\uffff' || Char.IsControl esc then "\\" else sprintf "\\%c" esc
                            let escapes = "\\n, \\t, \\r, \\0, \\\\, \\\" or \\uXXXX"
                            let msg = sprintf "`%s` is not a valid escape; use %s" shown escapes
                            let span = spanOf stream (el, ec) (el, ec + shown.Length)
                            result <- Some(fatal stream (Diagnostic.error Codes.badEscape span msg))
                else
                    sb.Append ch |> ignore
                    stream.Skip()
            result.Value
