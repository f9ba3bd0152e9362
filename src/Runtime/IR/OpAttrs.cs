using System.Globalization;

namespace Nn.Runtime.IR;

/// <summary>How a parameter or state tensor starts: <c>zeros</c>, <c>ones</c>, <c>constant c</c>, <c>normal std</c>,
/// <c>uniform lo hi</c>, <c>glorot</c> (Xavier uniform), <c>he</c> (Kaiming normal), <c>lecun</c> (LeCun
/// normal), <c>orthogonal</c> (Keras' recurrent default).</summary>
internal sealed record InitSpec(string Kind, double A = 0, double B = 0)
{
    /// <summary>All zeros.</summary>
    public static readonly InitSpec Zeros = new("zeros");
    /// <summary>All ones.</summary>
    public static readonly InitSpec Ones = new("ones");

    /// <summary>The initializers the language knows.</summary>
    public static readonly IReadOnlyList<string> Kinds =
        ["zeros", "ones", "constant", "normal", "uniform", "glorot", "he", "lecun", "orthogonal"];

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        "constant" or "normal" => $"{Kind} {Fmt(A)}",
        "uniform" => $"{Kind} {Fmt(A)} {Fmt(B)}",
        _ => Kind,
    };

    internal static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>Paddings of the four sides of an image, in the order the graph prints them.</summary>
internal readonly record struct Pads(int Top, int Left, int Bottom, int Right)
{
    /// <summary>No padding.</summary>
    public static readonly Pads None = new(0, 0, 0, 0);
    /// <summary>From [top, left, bottom, right].</summary>
    public static Pads Of(int[] p) => new(p[0], p[1], p[2], p[3]);
    /// <summary>True when some side is padded.</summary>
    public bool Any => Top != 0 || Left != 0 || Bottom != 0 || Right != 0;
    /// <summary>As the kernels' explicit padding.</summary>
    public Kernels.Padding ToPadding() => Kernels.Padding.Explicit(Top, Left, Bottom, Right);
    internal int[] Flat => [Top, Left, Bottom, Right];
}

/// <summary>Conv2d and its two gradients: strides and paddings.</summary>
internal sealed record ConvAttrs(int StrideH, int StrideW, Pads Pads)
{
    /// <summary>Where a kh×kw kernel sits on an h×w image.</summary>
    public Kernels.WindowGeometry Geometry(int h, int w, int kh, int kw) =>
        Kernels.WindowGeometry.Of(h, w, kh, kw, StrideH, StrideW, Pads.ToPadding());
    internal int[] Flat => [StrideH, StrideW, .. Pads.Flat];
}

/// <summary>Pooling and its gradients: a square window, its stride and paddings (padded cells are ignored).</summary>
internal sealed record PoolAttrs(int Size, int Stride, Pads Pads)
{
    /// <summary>Where the window sits on an h×w image.</summary>
    public Kernels.WindowGeometry Geometry(int h, int w) =>
        Kernels.WindowGeometry.Of(h, w, Size, Size, Stride, Stride, Pads.ToPadding());
    internal int[] Flat => [Size, Stride, .. Pads.Flat];
}

/// <summary>Slice: per axis [start, stop), stop -1 meaning the whole axis.</summary>
internal sealed record SliceAttrs(int[] Starts, int[] Stops)
{
    internal int[] Flat => [.. Starts, .. Stops];
}

/// <summary>Pad: zeros before and after each axis.</summary>
internal sealed record PadAttrs(int[] Before, int[] After)
{
    internal int[] Flat => [.. Before, .. After];
}

/// <summary>The attributes of a node. Which fields matter depends on the op (see <see cref="OpKind"/>).
/// Attributes take part in hash-consing through <see cref="Key"/>.</summary>
internal sealed record OpAttrs
{
    /// <summary>No attributes.</summary>
    public static readonly OpAttrs None = new();

    /// <summary>A scalar: the value of a Const, alpha of LeakyRelu/Elu, p of DropoutMask.</summary>
    public double Value { get; init; }
    /// <summary>Axes of reductions, softmax, concat.</summary>
    public int[] Axes { get; init; } = [];
    /// <summary>Whether reductions keep reduced axes with size 1.</summary>
    public bool KeepDims { get; init; }
    /// <summary>Transpose's axis permutation.</summary>
    public int[]? Perm { get; init; }
    /// <summary>Slice's bounds.</summary>
    public SliceAttrs? Slice { get; init; }
    /// <summary>Pad's widths.</summary>
    public PadAttrs? Pad { get; init; }
    /// <summary>Conv2d's (and its gradients') strides and paddings.</summary>
    public ConvAttrs? Conv { get; init; }
    /// <summary>Pooling's (and its gradients') window, stride and paddings.</summary>
    public PoolAttrs? Pool { get; init; }
    /// <summary>DropoutMask's random stream id (each mask of a graph has its own).</summary>
    public int? Stream { get; init; }
    /// <summary>OneHot's width (the number of classes).</summary>
    public int? Width { get; init; }

    /// <summary>The integer attributes in the order the graph prints them (at most one kind is set per op).</summary>
    private int[] Integers => Perm ?? Slice?.Flat ?? Pad?.Flat ?? Conv?.Flat ?? Pool?.Flat
        ?? (Stream is int s ? [s] : Width is int w ? [w] : []);
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
            var ints = Integers;
            if (ints.Length > 0) parts.Add("[" + string.Join(",", ints) + "]");
            if (Target is not null) parts.Add("to " + Target);
            if (Init is not null) parts.Add("init " + Init);
            return string.Join(" ", parts);
        }
    }
}
