using System.Runtime.CompilerServices;
using Nn.Runtime.IR;

[assembly: InternalsVisibleTo("Nn.Tests")]

namespace Nn.Runtime;

/// <summary>Stable codes of the errors raised by the runtime's graph tools (verifier, autodiff, interpreter).</summary>
internal static class RuntimeCodes
{
    /// <summary>A graph breaks an invariant of <see cref="Verifier"/>.</summary>
    public const string InvalidGraph = "NN0601";
    /// <summary>An op has no gradient rule.</summary>
    public const string MissingGradient = "NN0602";
    /// <summary>A source (input, parameter, state) was not fed.</summary>
    public const string MissingFeed = "NN0610";
    /// <summary>A fed tensor does not fit the source's shape (or a dimension variable is bound twice
    /// differently).</summary>
    public const string FeedShape = "NN0611";
    /// <summary>A node produced NaN or infinity.</summary>
    public const string NonFinite = "NN0612";
    /// <summary>Training's loss stayed finite but exceeded the divergence limit (the <c>divergence</c> train
    /// field).</summary>
    public const string LossExploded = "NN0620";
    /// <summary>An id of <c>gather</c> (or of its gradient) outside 0..v-1, v the table's rows.</summary>
    public const string IdOutOfRange = "NN0546";
    /// <summary>An id of <c>gather</c> that is not a whole number (a fraction, NaN or an infinity).</summary>
    public const string IdNotInteger = "NN0547";
    /// <summary>A graph that the interpreter cannot run (a bad attribute the verifier would also reject).</summary>
    public const string BadNode = "NN0613";
}

/// <summary>One note of a <see cref="NnRuntimeException"/>: a message, at a source span when it has one.</summary>
internal sealed record RuntimeNote(SourceSpan? Span, string Message);

/// <summary>
/// The one structured error the runtime raises for a problem the user can act on: a stable <see cref="Code"/>, the
/// <see cref="Span"/> in the user's source (or data file) it points to, the <see cref="Description"/> (the message
/// without location or code) and <see cref="Notes"/>. The compiler turns it into a diagnostic in one function
/// (<c>Nn.Compiler.RuntimeErrors.diagnostic</c>) that the <c>nn</c> command and the embedding API share, from these
/// properties: nothing reads <see cref="Exception.Message"/> back.
/// </summary>
internal class NnRuntimeException : Exception
{
    /// <summary>An error rendered as <c>span: error CODE: description</c> (without the span when it has
    /// none).</summary>
    public NnRuntimeException(string code, SourceSpan span, string description,
                              IReadOnlyList<RuntimeNote>? notes = null, Exception? inner = null)
        : this(code, span, description, Render(code, span, description), notes, inner) { }

    /// <summary>An error whose <see cref="Exception.Message"/> is written by the subclass.</summary>
    protected NnRuntimeException(string code, SourceSpan span, string description, string message,
                                 IReadOnlyList<RuntimeNote>? notes, Exception? inner)
        : base(message, inner)
    {
        Code = code; Span = span; Description = description; Notes = notes ?? [];
    }

    /// <summary>The stable code (listed in docs/language.md).</summary>
    public string Code { get; }
    /// <summary>Where the error points: the node's source span, the data file (line 0), or
    /// <see cref="SourceSpan.None"/>.</summary>
    public SourceSpan Span { get; }
    /// <summary>The message alone, without location or code.</summary>
    public string Description { get; }
    /// <summary>Further explanations, each at its own span when it has one.</summary>
    public IReadOnlyList<RuntimeNote> Notes { get; }
    /// <summary>The description as it reads away from <see cref="Span"/>, for a diagnostic placed at the line of the
    /// program that made the runtime work (a data error names its file first: <c>iris.csv: row 3 ...</c>).</summary>
    public virtual string Standalone => Description;

    private static string Render(string code, SourceSpan span, string description) =>
        span.IsNone ? $"error {code}: {description}" : $"{span}: error {code}: {description}";
}

/// <summary>A graph that breaks the invariants listed on <see cref="Verifier"/>.</summary>
internal sealed class GraphInvalidException(IReadOnlyList<string> problems)
    : NnRuntimeException(
        RuntimeCodes.InvalidGraph, SourceSpan.None, "invalid graph:\n  " + string.Join("\n  ", problems))
{
    /// <summary>Every problem found, one per line.</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>Differentiation reached an op that has no vector-Jacobian rule.</summary>
internal sealed class MissingGradientException(OpKind op, SourceSpan span, string detail)
    : NnRuntimeException(RuntimeCodes.MissingGradient, span, $"no gradient rule for `{op}`{detail}")
{
    /// <summary>The op without a rule.</summary>
    public OpKind Op { get; } = op;
}

/// <summary>An error while running a graph; <see cref="Node"/> (when known) points back to the user's line.</summary>
internal class ExecutionException(string code, string message, Node? node)
    : NnRuntimeException(code, node?.Span ?? SourceSpan.None, message)
{
    /// <summary>The node involved, if any.</summary>
    public Node? Node { get; } = node;
}

/// <summary>The first node (in topological order) whose value holds a NaN or an infinity.</summary>
internal sealed class NonFiniteException(Node node, string what, int index)
    : ExecutionException(RuntimeCodes.NonFinite, $"`{node.Op}` ({node}) produced {what} at element {index}", node)
{
    /// <summary>The op that produced it.</summary>
    public OpKind Op => Node!.Op;
    /// <summary>"NaN", "+infinity" or "-infinity".</summary>
    public string What { get; } = what;
    /// <summary>The flat (row-major) index of the first bad element.</summary>
    public int Index { get; } = index;
}

/// <summary>The one place the runtime's graph tools throw from (keeps call sites short and messages uniform).</summary>
internal static class Throw
{
    public static Exception Invalid(IReadOnlyList<string> problems) => new GraphInvalidException(problems);
    public static Exception MissingGradient(Node n, string detail = "") =>
        new MissingGradientException(n.Op, n.Span, detail);
    public static Exception Exec(string code, string message, Node? node = null) =>
        new ExecutionException(code, message, node);
    public static Exception NonFinite(Node node, string what, int index) => new NonFiniteException(node, what, index);
    /// <summary>A broken internal assumption (a bug in the runtime, not in the user's program).</summary>
    public static Exception Bug(string message) => new InvalidOperationException("internal error: " + message);
}
