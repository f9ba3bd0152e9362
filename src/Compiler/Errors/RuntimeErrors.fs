/// The one place a runtime error becomes a diagnostic, shared by the `nn` command (Cli/Common.fs `guarded`), the
/// embedding API (Embedding.Session.fs `Embed.guard`) and the compiler where it asks the runtime for work (`within`):
/// built from the error's code, span, description and notes, never from its message text.
module internal Nn.Compiler.RuntimeErrors

open Nn.Dsl
open Nn.Runtime

/// A runtime error's span as a diagnostic's: the same type; a span without a file (a node no source made) is put at
/// `fallbackFile`.
let span (fallbackFile: string) (s: Span) : Span =
    if s.IsNone then Span.make fallbackFile (0, 0) (0, 0) else s

/// The diagnostic of a runtime error (an op without a gradient rule, a NaN, a bad data or weights file, ...).
/// `fallbackFile` names where an error without a position is reported (the program's file, or `nn`).
let diagnostic (fallbackFile: string) (e: NnRuntimeException) : Diagnostic =
    let notes =
        e.Notes |> Seq.map (fun n ->
            { Span = (if n.Span.HasValue then Some(span fallbackFile n.Span.Value) else None); Message = n.Message })
    { Diagnostic.error e.Code (span fallbackFile e.Span) e.Description with Notes = List.ofSeq notes }

/// The diagnostic of a runtime error raised while the compiler worked on the construct at `at` (a shape error
/// building its nodes, a data file it reads): at `at`, in the error's standalone words (a data file named first).
let diagnosticAt (at: Span) (e: NnRuntimeException) : Diagnostic =
    { diagnostic at.File e with Span = at; Message = e.Standalone }

/// True when the error points at a line of a source (a node's span); false for a whole file or no place.
let private hasLine (e: NnRuntimeException) = e.Span.Line > 0 && not (System.String.IsNullOrEmpty e.Span.File)

/// Run `f`, which works for the construct at `at`: a runtime error without a line of its own (a shape error, a bad
/// data file) is reported at `at` (diagnosticAt) with `notes` after its own; an error with a line keeps it.
let within (at: Span) (notes: Note list) (f: unit -> 'a) : 'a =
    try f ()
    with :? NnRuntimeException as e when not (hasLine e) ->
        let d = diagnosticAt at e
        raise (DiagnosticException { d with Notes = d.Notes @ notes })

/// The diagnostics of an expected failure: a compile-time diagnostic or a runtime error; None for anything else
/// (a bug, which callers report as an internal error).
let tryDiagnostics (fallbackFile: string) (e: exn) : Diagnostic list option =
    match e with
    | DiagnosticException d -> Some [ d ]
    | :? NnRuntimeException as e -> Some [ diagnostic fallbackFile e ]
    | _ -> None
