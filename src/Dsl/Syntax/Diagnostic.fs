namespace Nn.Dsl

open System
open System.Text

[<RequireQualifiedAccess>]
type internal Severity =
    | Error
    | Warning
    | Info

/// A secondary location that explains a diagnostic ("the bracket opened here").
type internal Note = { Span: Span option; Message: string }

/// The one diagnostic type of the product: a stable code, severity, span, message and notes.
/// Every stage (parser, compiler, data readers, run time) reports through it.
type internal Diagnostic =
    { Code: string
      Severity: Severity
      Span: Span
      Message: string
      Notes: Note list }

/// Raised by stages that stop at the first error; carries the diagnostic to the top level.
exception internal DiagnosticException of Diagnostic

module internal Diagnostic =
    let error code span message =
        { Code = code; Severity = Severity.Error; Span = span; Message = message; Notes = [] }

    let withNote span message (d: Diagnostic) =
        { d with Notes = d.Notes @ [ { Span = span; Message = message } ] }

    let fail code span message = raise (DiagnosticException(error code span message))

    let private severityWord =
        function
        | Severity.Error -> "error"
        | Severity.Warning -> "warning"
        | Severity.Info -> "info"

    let private location (s: Span) =
        if s.Start.Line <= 0 then s.File else sprintf "%s(%d,%d)" s.File s.Start.Line s.Start.Column

    /// Split text into lines the way the parser counts them (\n, \r\n and \r each end a line).
    let lines (text: string) =
        text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n')

    /// The source line with carets under the span (to the end of the line for a span over several lines).
    let excerpt (source: string option) (s: Span) =
        match source with
        | Some text when s.Start.Line >= 1 ->
            let ls = lines text
            if s.Start.Line > ls.Length then "" else
            let line = ls[s.Start.Line - 1]
            // Very long lines are cut around the caret so the excerpt stays readable.
            let maxWidth = 160
            let startCol = max 1 s.Start.Column
            let endCol =
                if s.End.Line = s.Start.Line && s.End.Column > startCol then s.End.Column
                else max (startCol + 1) (line.Length + 1)
            let cut = if startCol > maxWidth then startCol - 40 else 0
            let shown =
                let t = if cut > 0 then line.Substring(min cut line.Length) else line
                let t = if t.Length > maxWidth then t.Substring(0, maxWidth) + " ..." else t
                (if cut > 0 then "... " else "") + t
            let shift = if cut > 0 then 4 - cut else 0
            let shown = shown.Replace('\t', ' ')
            let num = string s.Start.Line
            let pad = String(' ', num.Length)
            let caretStart = max 0 (startCol - 1 + shift)
            let caretLen = max 1 (min (endCol - startCol) (maxWidth - caretStart + 4))
            let sb = StringBuilder()
            sb.Append(pad).Append(" |").Append('\n') |> ignore
            sb.Append(num).Append(" | ").Append(shown).Append('\n') |> ignore
            sb.Append(pad).Append(" | ").Append(String(' ', caretStart)).Append(String('^', caretLen)) |> ignore
            sb.ToString()
        | _ -> ""

    /// Render as `file(line,col): error NNxxxx: message`, the source line with carets, then the notes.
    let render (sourceOf: string -> string option) (d: Diagnostic) =
        let sb = StringBuilder()
        sb.Append(sprintf "%s: %s %s: %s" (location d.Span) (severityWord d.Severity) d.Code d.Message) |> ignore
        // A span without a line (a whole file: a checkpoint, a data file) has no excerpt, so its file is never read.
        let excerptOf (s: Span) = if s.Start.Line >= 1 then excerpt (sourceOf s.File) s else ""
        let ex = excerptOf d.Span
        if ex <> "" then sb.Append('\n').Append(ex) |> ignore
        for n in d.Notes do
            match n.Span with
            | Some s ->
                sb.Append('\n').Append(sprintf "%s: note: %s" (location s) n.Message) |> ignore
                let ex = excerptOf s
                if ex <> "" then sb.Append('\n').Append(ex) |> ignore
            | None -> sb.Append('\n').Append(sprintf "   = note: %s" n.Message) |> ignore
        sb.ToString()
