namespace Nn.Runtime;

/// <summary>A position in a source file: 1-based line and column (0, 0 for none).</summary>
internal readonly record struct SourcePos(int Line, int Column) : IComparable<SourcePos>, IComparable
{
    /// <inheritdoc />
    public int CompareTo(SourcePos other) =>
        Line != other.Line ? Line.CompareTo(other.Line) : Column.CompareTo(other.Column);

    /// <inheritdoc />
    public int CompareTo(object? obj) =>
        obj is SourcePos p ? CompareTo(p) : throw new ArgumentException("not a SourcePos", nameof(obj));
}

/// <summary>
/// The one span type of nn: a region of a source file, end exclusive (1-based lines and columns). The parser's AST,
/// diagnostics, graph nodes and runtime errors all carry it (the F# side names it <c>Nn.Dsl.Span</c>, an
/// abbreviation).
/// <para>Spans never take part in equality: any two spans compare equal and hash alike, so two parses of the same
/// program with different layout give equal ASTs, and records that carry a span compare by their content.
/// <see cref="Same"/> compares strictly, <see cref="IsNone"/> tells a span without a source. There is no
/// <c>==</c> operator, so code cannot compare spans by mistake.</para>
/// </summary>
internal readonly struct SourceSpan : IEquatable<SourceSpan>
{
    /// <summary>The file (a path as the user gave it, or a name such as <c>nn</c> or <c>&lt;none&gt;</c>).</summary>
    public string File { get; }
    /// <summary>The first line.</summary>
    public int Line { get; }
    /// <summary>The first column.</summary>
    public int Column { get; }
    /// <summary>The line of the end.</summary>
    public int EndLine { get; }
    /// <summary>The column just past the end.</summary>
    public int EndColumn { get; }

    /// <summary>A span from its file and bounds.</summary>
    public SourceSpan(string file, int line, int column, int endLine, int endColumn)
    {
        File = file;
        Line = line;
        Column = column;
        EndLine = endLine;
        EndColumn = endColumn;
    }

    /// <summary>A span from its file, start and end.</summary>
    public SourceSpan(string file, SourcePos start, SourcePos end)
        : this(file, start.Line, start.Column, end.Line, end.Column) { }

    /// <summary>Where it starts.</summary>
    public SourcePos Start => new(Line, Column);
    /// <summary>Where it ends (exclusive).</summary>
    public SourcePos End => new(EndLine, EndColumn);

    /// <summary>The same bounds in another file (a path shown as the user gave it).</summary>
    public SourceSpan WithFile(string file) => new(file, Line, Column, EndLine, EndColumn);

    /// <summary>A span for nodes with no source (synthesised by passes).</summary>
    public static readonly SourceSpan None = new("<none>", 0, 0, 0, 0);

    /// <summary>True for <see cref="None"/> (and any span with no file).</summary>
    public bool IsNone => string.IsNullOrEmpty(File) || (File == None.File && Line == 0);

    /// <summary>Strict equality: the same file and bounds (<see cref="Equals(SourceSpan)"/> ignores them).</summary>
    public static bool Same(SourceSpan a, SourceSpan b) =>
        a.File == b.File && a.Line == b.Line && a.Column == b.Column && a.EndLine == b.EndLine
        && a.EndColumn == b.EndColumn;

    /// <summary>Always true: spans never take part in equality (see the type's remarks).</summary>
    public bool Equals(SourceSpan other) => true;
    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is SourceSpan;
    /// <inheritdoc />
    public override int GetHashCode() => 0;

    /// <summary><c>file(line,column)</c>, or the file alone for a span without a line.</summary>
    public override string ToString() => Line <= 0 ? File : $"{File}({Line},{Column})";
}
