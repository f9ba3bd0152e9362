namespace Nn.Dsl

/// A position in a source file: 1-based line and column.
[<Struct; CustomEquality; CustomComparison>]
type internal Pos =
    { Line: int; Column: int }
    override p.Equals o =
        match o with
        | :? Pos as q -> p.Line = q.Line && p.Column = q.Column
        | _ -> false
    override p.GetHashCode() = p.Line * 10007 + p.Column
    interface System.IComparable with
        member p.CompareTo o =
            let q = o :?> Pos
            if p.Line <> q.Line then compare p.Line q.Line else compare p.Column q.Column

/// A region of a source file, end exclusive. Every AST node carries one, last.
/// Spans never take part in structural equality of the AST (two parses of the same program
/// with different layout compare equal), so they compare as always equal.
[<CustomEquality; NoComparison>]
type internal Span =
    { File: string; Start: Pos; End: Pos }
    override _.Equals o = o :? Span
    override _.GetHashCode() = 0
    override s.ToString() = sprintf "%s(%d,%d-%d,%d)" s.File s.Start.Line s.Start.Column s.End.Line s.End.Column

module internal Span =
    let make file (sl, sc) (el, ec) =
        { File = file; Start = { Line = sl; Column = sc }; End = { Line = el; Column = ec } }

    /// A span for things that have no source text (the prelude's synthesised nodes, tests).
    let none = make "<none>" (0, 0) (0, 0)

    /// The smallest span covering both.
    let union (a: Span) (b: Span) =
        { File = a.File; Start = min a.Start b.Start; End = max a.End b.End }

    /// Strict equality, including positions (Span's own Equals ignores them).
    let same (a: Span) (b: Span) = a.File = b.File && a.Start = b.Start && a.End = b.End
