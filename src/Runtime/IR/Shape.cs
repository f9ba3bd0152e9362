namespace Nn.Runtime.IR;

/// <summary>One dimension of a shape: a fixed size, or a symbol (a dimension variable such as the batch size
/// <c>n</c>).</summary>
internal readonly struct Dim : IEquatable<Dim>
{
    /// <summary>The size when fixed; -1 for a symbol.</summary>
    public int Size { get; }
    /// <summary>The dimension variable's name, or null when the size is fixed.</summary>
    public string? Symbol { get; }

    private Dim(int size, string? symbol) { Size = size; Symbol = symbol; }

    /// <summary>A fixed size.</summary>
    public static Dim Of(int size) => size >= 0 ? new(size, null) : throw new ArgumentOutOfRangeException(nameof(size));
    /// <summary>A dimension variable.</summary>
    public static Dim Sym(string name) => new(-1, name);

    /// <summary>True when the size is known.</summary>
    public bool IsFixed => Symbol is null;
    /// <summary>True for the fixed size 1 (the size that broadcasts).</summary>
    public bool IsOne => Symbol is null && Size == 1;

    /// <inheritdoc />
    public bool Equals(Dim o) => Size == o.Size && Symbol == o.Symbol;
    /// <inheritdoc />
    public override bool Equals(object? o) => o is Dim d && Equals(d);
    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Size, Symbol);
    /// <summary>Equality.</summary>
    public static bool operator ==(Dim a, Dim b) => a.Equals(b);
    /// <summary>Inequality.</summary>
    public static bool operator !=(Dim a, Dim b) => !a.Equals(b);
    /// <inheritdoc />
    public override string ToString() => Symbol ?? Size.ToString(System.Globalization.CultureInfo.InvariantCulture);
    /// <summary>Fixed sizes convert implicitly.</summary>
    public static implicit operator Dim(int size) => Of(size);

    /// <summary>The concrete size, looking symbols up in <paramref name="bindings"/>.</summary>
    public int Resolve(IReadOnlyDictionary<string, int> bindings) =>
        Symbol is null ? Size
        : bindings.TryGetValue(Symbol, out var v) ? v
        : throw new InvalidOperationException($"dimension variable `{Symbol}` is not bound");
}

/// <summary>An immutable tensor shape (row-major), possibly with symbolic dimensions.</summary>
internal sealed class Shape : IEquatable<Shape>
{
    private readonly Dim[] _dims;

    /// <summary>A shape from its dimensions.</summary>
    public Shape(params Dim[] dims) { _dims = (Dim[])dims.Clone(); }
    /// <summary>A fully fixed shape.</summary>
    public static Shape Of(params int[] sizes) => new(sizes.Select(Dim.Of).ToArray());

    /// <summary>The scalar shape [].</summary>
    public static readonly Shape Scalar = new();

    /// <summary>The dimensions.</summary>
    public ReadOnlySpan<Dim> Dims => _dims;
    /// <summary>The number of axes.</summary>
    public int Rank => _dims.Length;
    /// <summary>One dimension; negative indices count from the end.</summary>
    public Dim this[int axis] => _dims[axis < 0 ? axis + _dims.Length : axis];
    /// <summary>True when every dimension is fixed.</summary>
    public bool IsFixed => _dims.All(d => d.IsFixed);

    /// <summary>One element: every dimension fixed at 1 (true for a scalar).</summary>
    public bool IsOne => _dims.All(d => d.IsOne);
    /// <summary>The element count when fixed.</summary>
    public long FixedCount => _dims.Aggregate(1L, (acc, d) =>
        acc * (d.IsFixed ? d.Size : throw new InvalidOperationException($"shape {this} is not fixed")));
    /// <summary>The dimensions as an array copy.</summary>
    public Dim[] ToArray() => (Dim[])_dims.Clone();
    /// <summary>The symbols used, in order of first appearance.</summary>
    public IEnumerable<string> Symbols => _dims.Where(d => !d.IsFixed).Select(d => d.Symbol!).Distinct();

    /// <summary>The concrete sizes under <paramref name="bindings"/>.</summary>
    public int[] Resolve(IReadOnlyDictionary<string, int> bindings) => _dims.Select(d => d.Resolve(bindings)).ToArray();
    /// <summary>The concrete element count under <paramref name="bindings"/>.</summary>
    public long Count(IReadOnlyDictionary<string, int> bindings) =>
        _dims.Aggregate(1L, (acc, d) => acc * d.Resolve(bindings));

    /// <summary>A copy with one dimension replaced.</summary>
    public Shape With(int axis, Dim d) { var a = ToArray(); a[axis] = d; return new Shape(a); }

    /// <inheritdoc />
    public bool Equals(Shape? o) => o is not null && _dims.AsSpan().SequenceEqual(o._dims);
    /// <inheritdoc />
    public override bool Equals(object? o) => Equals(o as Shape);
    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode(); foreach (var d in _dims) h.Add(d); return h.ToHashCode();
    }
    /// <inheritdoc />
    public override string ToString() => "[" + string.Join(", ", _dims.Select(d => d.ToString())) + "]";
}
