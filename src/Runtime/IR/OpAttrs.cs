using System.Globalization;

namespace Nn.Runtime.IR;

/// <summary>How a parameter or state tensor starts: <c>zeros</c>, <c>ones</c>, <c>constant c</c>, <c>normal std</c>,
/// <c>uniform lo hi</c>, <c>glorot</c> (Xavier uniform), <c>he</c> (Kaiming normal), <c>lecun</c> (LeCun normal).</summary>
public sealed record InitSpec(string Kind, double A = 0, double B = 0)
{
    /// <summary>All zeros.</summary>
    public static readonly InitSpec Zeros = new("zeros");
    /// <summary>All ones.</summary>
    public static readonly InitSpec Ones = new("ones");

    /// <summary>The initializers the language knows.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["zeros", "ones", "constant", "normal", "uniform", "glorot", "he", "lecun"];

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        "constant" or "normal" => $"{Kind} {Fmt(A)}",
        "uniform" => $"{Kind} {Fmt(A)} {Fmt(B)}",
        _ => Kind,
    };

    internal static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>The attributes of a node. Which fields matter depends on the op (see <see cref="OpKind"/>).
/// Attributes take part in hash-consing through <see cref="Key"/>.</summary>
public sealed record OpAttrs
{
    /// <summary>No attributes.</summary>
    public static readonly OpAttrs None = new();

    /// <summary>A scalar: the value of a Const, alpha of LeakyRelu/Elu, p of DropoutMask.</summary>
    public double Value { get; init; }
    /// <summary>Axes of reductions, softmax, concat.</summary>
    public int[] Axes { get; init; } = [];
    /// <summary>Whether reductions keep reduced axes with size 1.</summary>
    public bool KeepDims { get; init; }
    /// <summary>Integer attributes: permutation, slice bounds, conv strides/padding, pool size, one-hot width, stream id.</summary>
    public int[] Ints { get; init; } = [];
    /// <summary>Target shape of Reshape, Broadcast and gradient ops.</summary>
    public Shape? Target { get; init; }
    /// <summary>Name of an Input, Param or State (a parameter path such as <c>tower.dense2.w</c>).</summary>
    public string? Name { get; init; }
    /// <summary>Initializer of a Param or State.</summary>
    public InitSpec? Init { get; init; }

    /// <summary>A canonical text of the attributes, used for hash-consing and printing.</summary>
    public string Key
    {
        get
        {
            var parts = new List<string>();
            if (Name is not null) parts.Add(Name);
            if (Value != 0) parts.Add(InitSpec.Fmt(Value));
            if (Axes.Length > 0) parts.Add("axes=" + string.Join(",", Axes));
            if (KeepDims) parts.Add("keep");
            if (Ints.Length > 0) parts.Add("[" + string.Join(",", Ints) + "]");
            if (Target is not null) parts.Add("to " + Target);
            if (Init is not null) parts.Add("init " + Init);
            return string.Join(" ", parts);
        }
    }
}
