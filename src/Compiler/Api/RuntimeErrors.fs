/// The one place a runtime error becomes a diagnostic, shared by the `nn` command (Cli/Common.fs `guarded`) and the
/// embedding API (Embedding.Session.fs `Embed.guard`): built from the error's code, span, description and notes,
/// never from its message text.
module internal Nn.Compiler.RuntimeErrors

open Nn.Dsl
open Nn.Runtime

/// A runtime span as a diagnostic span; a span without a file (a node no source made) is put at `fallbackFile`.
let span (fallbackFile: string) (s: SourceSpan) : Span =
    if s = SourceSpan.None || System.String.IsNullOrEmpty s.File then Span.make fallbackFile (0, 0) (0, 0)
    else Span.make s.File (s.Line, s.Column) (s.EndLine, s.EndColumn)

/// The diagnostic of a runtime error (an op without a gradient rule, a NaN, a bad data or weights file, ...).
/// `fallbackFile` names where an error without a position is reported (the program's file, or `nn`).
let diagnostic (fallbackFile: string) (e: NnRuntimeException) : Diagnostic =
    let notes =
        e.Notes |> Seq.map (fun n ->
            { Span = (if n.Span.HasValue then Some(span fallbackFile n.Span.Value) else None); Message = n.Message })
    { Diagnostic.error e.Code (span fallbackFile e.Span) e.Description with Notes = List.ofSeq notes }

/// The diagnostics of an expected failure: a compile-time diagnostic or a runtime error; None for anything else
/// (a bug, which callers report as an internal error).
let tryDiagnostics (fallbackFile: string) (e: exn) : Diagnostic list option =
    match e with
    | DiagnosticException d -> Some [ d ]
    | :? NnRuntimeException as e -> Some [ diagnostic fallbackFile e ]
    | _ -> None
