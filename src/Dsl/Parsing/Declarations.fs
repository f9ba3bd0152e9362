/// Top-level declarations: `let`, `network`, `train` and `open`, each starting at column 1.
module internal Nn.Dsl.Parsing.Declarations

open FParsec
open Nn.Dsl
open Nn.Dsl.Parsing.Lexical
open Nn.Dsl.Parsing.Expressions
open Nn.Dsl.Parsing.Blocks

let private name what = onside >>. spanned (token identRaw) <?> what

/// syntax: network name (x: [n, 784]) : [n, 10] = body
let private network (doc: string option) : P<Decl> =
    fun stream ->
        let start = pos stream
        let p =
            kw "network"
            >>. withLimit 1 (
                tuple4 (name "the network's name") (many1 param <?> "an input like (x: [n, 784])")
                       (opt (onside >>. sym ":" >>. shape)) (onside >>. sym "=" >>. nested body))
        let r = p stream
        if r.Status <> ReplyStatus.Ok then Reply(r.Status, r.Error)
        else
            let ((n, nSpan), inputs, output, b) = r.Result
            Reply(NetworkDecl { Doc = doc; Name = n; NameSpan = nSpan; Inputs = inputs; Output = output; Body = b
                                Span = spanTo stream start })

/// syntax: train name { field = value ... }
let private train: P<Decl> =
    fun stream ->
        let start = pos stream
        let p =
            kw "train"
            >>. withLimit 1 (name "the name of the network to train"
                             .>>. (onside >>. bracketed "{" "}" "train block" (items field '}' "field") .>> ws))
        let r = p stream
        if r.Status <> ReplyStatus.Ok then Reply(r.Status, r.Error)
        else
            let ((n, nSpan), (fields, _)) = r.Result
            Reply(TrainDecl { Network = n; NetworkSpan = nSpan; Fields = fields; Span = spanTo stream start })

/// syntax: open "file.nn"
let private openDecl: P<Decl> =
    spanned (kw "open" >>. withLimit 1 (onside >>. token stringRaw <?> "a file name in quotes, like \"layers.nn\""))
    |>> OpenDecl

let private declKeywords = [ "let"; "network"; "train"; "open" ]

/// One top-level declaration, with the doc comment before it.
let decl: P<Decl> =
    fun stream ->
        let isDecl = declKeywords |> List.exists (peekKw stream)
        if isDecl && stream.Column <> 1L then
            fatal stream (Diagnostic.error Codes.offside (nextTokenSpan stream)
                              "a top-level declaration must start at column 1")
        else
            let doc = takeDoc stream
            if peekKw stream "let" then (letBinding doc.Result |>> LetDecl) stream
            elif peekKw stream "network" then network doc.Result stream
            elif peekKw stream "train" then train stream
            elif peekKw stream "open" then openDecl stream
            else Reply(ReplyStatus.Error, expected "a declaration (`let`, `network`, `train` or `open`)")
