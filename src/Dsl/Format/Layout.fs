/// The formatter's output buffer: tracks the column, and puts the source's comments back
/// (own-line comments before the unit that followed them, trailing comments at the end of the line).
module Nn.Dsl.Format.Layout

open System
open System.Text
open Nn.Dsl
open Nn.Dsl.Parsing.Lexical

type Writer(comments: Comment list) =
    let sb = StringBuilder()
    let mutable col = 0
    let mutable atLineStart = true
    let pending = Collections.Generic.Queue<Comment>(comments |> List.sortBy (fun c -> c.Span.Start))
    let trailing = ResizeArray<string>()

    member _.Column = col
    member _.AtLineStart = atLineStart
    member _.Remaining = pending.Count

    member _.Text(s: string) =
        sb.Append s |> ignore
        col <- col + s.Length
        atLineStart <- false

    /// End the line (with its trailing comments) and indent the next one.
    member _.NewLine(indent: int) =
        if trailing.Count > 0 then
            sb.Append(' ').Append(String.Join(" ", trailing)) |> ignore
            trailing.Clear()
        // No blanks at the end of a line.
        let mutable n = sb.Length
        while n > 0 && sb[n - 1] = ' ' do n <- n - 1
        sb.Length <- n
        sb.Append('\n').Append(' ', indent) |> ignore
        col <- indent
        atLineStart <- true

    member w.BlankLine(indent: int) =
        w.NewLine 0
        w.NewLine indent

    /// Put back the comments that stood before `span`, on their own lines at `indent`; a blank
    /// line after a comment in the source is kept.
    member w.Before(span: Span, indent: int) =
        if span.Start.Line > 0 then
            while pending.Count > 0 && pending.Peek().Span.Start < span.Start do
                let c = pending.Dequeue()
                if atLineStart then
                    w.Text c.Text
                    let next = if pending.Count > 0 && pending.Peek().Span.Start < span.Start then pending.Peek().Span.Start.Line else span.Start.Line
                    if next > c.Span.End.Line + 1 then w.BlankLine indent else w.NewLine indent
                else trailing.Add c.Text

    /// Take the comments on the lines of `span` as trailing comments of the current output line.
    member _.After(span: Span) =
        if span.End.Line > 0 then
            while pending.Count > 0 && pending.Peek().Span.Start.Line <= span.End.Line do
                trailing.Add(pending.Dequeue().Text)

    /// The rest of the comments (after the last declaration), then the final newline.
    member w.Finish() =
        while pending.Count > 0 do
            let c = pending.Dequeue()
            if not atLineStart then w.NewLine 0
            w.Text c.Text
        w.NewLine 0
        let s = sb.ToString()
        s.TrimEnd('\n', ' ') + "\n"
