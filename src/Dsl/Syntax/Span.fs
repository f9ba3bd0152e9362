namespace Nn.Dsl

/// A position in a source file: 1-based line and column (the runtime's type: one span type across the pipeline).
type internal Pos = Nn.Runtime.SourcePos

/// A region of a source file, end exclusive. Every AST node carries one, last. The one span type of nn
/// (`Nn.Runtime.SourceSpan`), shared with diagnostics, graph nodes and runtime errors. Spans never take part in
/// structural equality (two parses of the same program with different layout compare equal): they compare as always
/// equal; `Span.same` compares strictly.
type internal Span = Nn.Runtime.SourceSpan

module internal Span =
    let make file (sl, sc) (el, ec) = Nn.Runtime.SourceSpan(file, sl, sc, el, ec)

    /// A span for things that have no source text (the prelude's synthesised nodes, tests).
    let none = Nn.Runtime.SourceSpan.None

    /// The smallest span covering both.
    let union (a: Span) (b: Span) = Nn.Runtime.SourceSpan(a.File, min a.Start b.Start, max a.End b.End)

    /// Strict equality, including positions (Span's own Equals ignores them).
    let same (a: Span) (b: Span) = Nn.Runtime.SourceSpan.Same(a, b)

    /// `file(line,column-endLine,endColumn)`: every bound, for messages about spans themselves (tests, debugging).
    let describe (s: Span) = sprintf "%s(%d,%d-%d,%d)" s.File s.Line s.Column s.EndLine s.EndColumn
