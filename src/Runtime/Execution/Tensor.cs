using System.Numerics;
using Nn.Runtime.IR;

namespace Nn.Runtime.Execution;

/// <summary>A dense tensor for the reference interpreter: a concrete shape and its elements in row-major order.
/// Deliberately plain (no views, no strides beyond row-major): it is the oracle other executors are checked
/// against.</summary>
internal sealed class Tensor<T> where T : IBinaryFloatingPointIeee754<T>
{
    /// <summary>A tensor from a shape and exactly <c>product(shape)</c> elements (the array is used, not
    /// copied).</summary>
    public Tensor(int[] shape, T[] data)
    {
        if (shape.Any(d => d < 0))
            throw new ArgumentException($"negative size in [{string.Join(", ", shape)}]", nameof(shape));
        if (data.Length != CountOf(shape))
            throw new ArgumentException(
                $"shape [{string.Join(", ", shape)}] holds {CountOf(shape)} elements, got {data.Length}", nameof(data));
        Shape = shape; Data = data;
    }

    /// <summary>A tensor of zeros.</summary>
    public Tensor(int[] shape) : this(shape, new T[CountOf(shape)]) { }

    /// <summary>The sizes of the axes.</summary>
    public int[] Shape { get; }
    /// <summary>The elements, row-major.</summary>
    public T[] Data { get; }
    /// <summary>The number of axes.</summary>
    public int Rank => Shape.Length;
    /// <summary>The number of elements.</summary>
    public int Count => Data.Length;

    /// <summary>The element at a multi-index.</summary>
    public T this[params int[] index]
    {
        get => Data[Offset(index)];
        set => Data[Offset(index)] = value;
    }

    private int Offset(int[] index)
    {
        if (index.Length != Rank) throw new ArgumentException($"a rank-{Rank} tensor needs {Rank} indices");
        int off = 0;
        for (int i = 0; i < Rank; i++)
        {
            if ((uint)index[i] >= (uint)Shape[i])
                throw new IndexOutOfRangeException($"index {index[i]} on axis {i} of size {Shape[i]}");
            off = off * Shape[i] + index[i];
        }
        return off;
    }

    /// <summary>A tensor with every element equal to <paramref name="value"/>.</summary>
    public static Tensor<T> Fill(int[] shape, T value)
    {
        var t = new Tensor<T>(shape);
        Array.Fill(t.Data, value);
        return t;
    }

    /// <summary>A scalar (shape []).</summary>
    public static Tensor<T> Scalar(T value) => new([], [value]);

    /// <summary>A tensor from doubles (converted to <typeparamref name="T"/>).</summary>
    public static Tensor<T> FromDoubles(int[] shape, double[] data) =>
        new(shape, data.Select(T.CreateChecked).ToArray());

    /// <summary>The elements as doubles.</summary>
    public double[] ToDoubles() => Data.Select(double.CreateChecked).ToArray();

    /// <summary>The same values in another float type.</summary>
    public Tensor<U> Cast<U>() where U : IBinaryFloatingPointIeee754<U> =>
        new((int[])Shape.Clone(), Data.Select(U.CreateChecked).ToArray());

    /// <summary>The single element of a one-element tensor.</summary>
    public T Single => Count == 1
        ? Data[0]
        : throw new InvalidOperationException($"a tensor of shape [{string.Join(", ", Shape)}] is not a single value");

    /// <summary>The same elements under another shape with the same count (shares the data).</summary>
    public Tensor<T> Reshape(int[] shape) => new(shape, Data);

    /// <summary>Element count of a shape.</summary>
    public static int CountOf(int[] shape) => shape.Aggregate(1, (a, d) => checked(a * d));

    /// <summary>Row-major strides of a shape.</summary>
    public static int[] Strides(int[] shape) => RowMajor.Strides(shape);

    /// <inheritdoc />
    public override string ToString() =>
        $"[{string.Join(", ", Shape)}] {{{string.Join(", ", Data.Take(16).Select(v => v.ToString()))}"
            + $"{(Count > 16 ? ", …" : "")}}}";
}
