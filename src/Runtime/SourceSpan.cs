namespace Nn.Runtime;

/// <summary>Where in the user's source a graph node came from (1-based line and column; end exclusive).</summary>
internal readonly record struct SourceSpan(string File, int Line, int Column, int EndLine, int EndColumn)
{
    /// <summary>A span for nodes with no source (synthesised by passes).</summary>
    public static readonly SourceSpan None = new("<none>", 0, 0, 0, 0);

    /// <inheritdoc />
    public override string ToString() => Line <= 0 ? File : $"{File}({Line},{Column})";
}
