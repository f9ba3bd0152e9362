/// The formatter's output buffer: tracks the column, and puts the source's comments back
/// (own-line comments before the unit that followed them, trailing comments at the end of the line),
/// and the source's own spelling of each number.
module internal Nn.Dsl.Format.Layout

open System
open System.Globalization
open System.Text
open Nn.Dsl
open Nn.Dsl.Parsing.Lexical

/// A finished output line: its code (no blanks at the end), the trailing comments the source had there,
/// and whether the source put more than one blank before the first of them.
type private Line = { Code: string; Trailing: Comment list; Padded: bool }

/// The source text sliced by spans (1-based lines and columns, end exclusive), for number literals.
type private SourceText(text: string) =
    let starts =
        let s = ResizeArray [ 0 ]
        text |> Seq.iteri (fun i c -> if c = '\n' then s.Add(i + 1))
        s

    member _.Slice(span: Span) : string option =
        let sl, el = span.Start.Line - 1, span.End.Line - 1
        if sl < 0 || sl <> el || sl >= starts.Count then None
        else
            let a = starts[sl] + span.Start.Column - 1
            let b = starts[sl] + span.End.Column - 1
            if a < starts[sl] || b <= a || b > text.Length then None else Some(text.Substring(a, b - a))

    /// Whether at least two blanks stand right before `pos`.
    member _.Padded(pos: Pos) =
        let l = pos.Line - 1
        l >= 0 && l < starts.Count && pos.Column >= 3
        && (let i = starts[l] + pos.Column - 1 in i <= text.Length && text[i - 1] = ' ' && text[i - 2] = ' ')

/// Trailing comments on neighbouring lines that the source lined up (in one column, or each moved right
/// with extra blanks, as aligning by hand does, off by one or not) stay in one column: the source's
/// rightmost when the code still fits before it, else one blank after the longest line of code.
/// A comment alone keeps its column likewise when the source moved it right (lined up with comments
/// further away); else it gets one blank before it.
let private alignTrailing (lines: Line[]) =
    let column (l: Line) = l.Trailing.Head.Span.Start.Column
    let line (l: Line) = l.Trailing.Head.Span.Start.Line
    let linedUp (a: Line) (b: Line) =
        not b.Trailing.IsEmpty && line b = line a + 1 && (column b = column a || (a.Padded && b.Padded))
    let target = Array.create lines.Length 0
    let mutable i = 0
    while i < lines.Length do
        if lines[i].Trailing.IsEmpty then i <- i + 1
        else
            let mutable j = i + 1
            while j < lines.Length && linedUp lines[j - 1] lines[j] do j <- j + 1
            let run = lines[i .. j - 1]
            let widest = run |> Array.map (fun l -> l.Code.Length) |> Array.max
            let rightmost = (run |> Array.map column |> Array.max) - 1
            let col = if run.Length = 1 && not run[0].Padded then 0 else max (widest + 1) rightmost
            for k in i .. j - 1 do target[k] <- max col (lines[k].Code.Length + 1)
            i <- j
    lines
    |> Array.mapi (fun k l ->
        if l.Trailing.IsEmpty then l.Code
        else l.Code.PadRight target[k] + String.Join(" ", l.Trailing |> List.map (fun c -> c.Text)))

type Writer(comments: Comment list, source: string option) =
    let lines = ResizeArray<Line>()
    let cur = StringBuilder()
    let mutable atLineStart = true
    let pending = Collections.Generic.Queue<Comment>(comments |> List.sortBy (fun c -> c.Span.Start))
    let trailing = ResizeArray<Comment>()
    let text = source |> Option.map SourceText

    new(comments) = Writer(comments, None)

    member _.Column = cur.Length
    member _.AtLineStart = atLineStart
    member _.Remaining = pending.Count

    member _.Text(s: string) =
        cur.Append s |> ignore
        atLineStart <- false

    /// A number as the source spelled it (`1e-2`, `0.50`), when the span holds that number; else `fallback`.
    member w.Number(value: float, isInt: bool, span: Span, fallback: string) =
        let spelled =
            text
            |> Option.bind (fun t -> t.Slice span)
            |> Option.filter (fun s ->
                s |> Seq.forall (fun c -> Char.IsDigit c || ".eE+-".Contains c)
                && (s.IndexOfAny [| '.'; 'e'; 'E' |] < 0) = isInt
                && (match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
                    | true, v -> v = value
                    | _ -> false))
        w.Text(defaultArg spelled fallback)

    /// End the line (with its trailing comments) and indent the next one.
    member _.NewLine(indent: int) =
        // No blanks at the end of a line.
        let code = cur.ToString().TrimEnd ' '
        let padded = trailing.Count > 0 && (text |> Option.exists (fun t -> t.Padded trailing[0].Span.Start))
        lines.Add { Code = code; Trailing = List.ofSeq trailing; Padded = padded }
        trailing.Clear()
        cur.Clear().Append(' ', indent) |> ignore
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
                    let nextComment = pending.Count > 0 && pending.Peek().Span.Start < span.Start
                    let next = if nextComment then pending.Peek().Span.Start.Line else span.Start.Line
                    if next > c.Span.End.Line + 1 then w.BlankLine indent else w.NewLine indent
                else trailing.Add c

    /// Take the comments on the lines of `span` as trailing comments of the current output line.
    member _.After(span: Span) =
        if span.End.Line > 0 then
            while pending.Count > 0 && pending.Peek().Span.Start.Line <= span.End.Line do
                trailing.Add(pending.Dequeue())

    /// The rest of the comments (after the last declaration), then the final newline.
    member w.Finish() =
        while pending.Count > 0 do
            let c = pending.Dequeue()
            if not atLineStart then w.NewLine 0
            w.Text c.Text
        w.NewLine 0
        let s = String.Join("\n", alignTrailing (lines.ToArray()))
        s.TrimEnd('\n', ' ') + "\n"
