using Nn.Runtime.Data;
using Nn.Runtime.IR;
using Nn.Runtime.Util;

namespace Nn.Runtime.Training;

/// <summary>
/// Initial values of Params and States from their <see cref="InitSpec"/>.
/// <para>Fans. A shape [] has fan_in = fan_out = 1; [u] has fan_in = fan_out = u; a matrix [k, u] (as
/// <c>x @ w</c> uses it) has fan_in k and fan_out u; a kernel [kh, kw, cin, cout] (and any rank ≥ 3) has
/// fan_in = kh·kw·cin and fan_out = kh·kw·cout, the leading axes being the receptive field (Keras' rule).</para>
/// <para>Distributions. <c>glorot</c>: uniform in ±√(6 / (fan_in + fan_out)); <c>he</c>: normal with
/// std √(2 / fan_in); <c>lecun</c>: normal with std √(1 / fan_in) (plain, not truncated, normals, as PyTorch's
/// kaiming_normal_); <c>normal s</c>: mean 0, std s; <c>uniform lo hi</c>; <c>constant c</c>; <c>zeros</c>;
/// <c>ones</c>; <c>orthogonal</c> (Keras' default <c>recurrent_initializer</c>): the tensor as a matrix
/// [rows = product of all axes but the last, cols = the last axis] with orthonormal columns (rows ≥ cols) or rows
/// (rows &lt; cols), the Q of a QR decomposition of a standard Gaussian matrix [max, min], sign-corrected so that R's
/// diagonal is positive (Keras' <c>Orthogonal</c>, gain 1).</para>
/// <para>Determinism. Each tensor draws from its own stream <c>Rng.Derive(seed, FNV-1a-64(name))</c>, in row-major
/// order, so a parameter's initial value depends only on the seed and its name — not on how many other parameters
/// the network has or in which order they were created.</para>
/// </summary>
internal static class Initializers
{
    /// <summary>(fan_in, fan_out) of a concrete shape.</summary>
    public static (int FanIn, int FanOut) Fans(int[] shape) => shape.Length switch
    {
        0 => (1, 1),
        1 => (shape[0], shape[0]),
        2 => (shape[0], shape[1]),
        _ => (Receptive(shape) * shape[^2], Receptive(shape) * shape[^1]),
    };

    private static int Receptive(int[] shape) => shape[..^2].Aggregate(1, (a, d) => a * d);

    /// <summary>The initial value of one tensor.</summary>
    /// <exception cref="ArgumentException">for an unknown initializer kind</exception>
    public static HostTensor Create(InitSpec init, int[] shape, string name, ulong seed)
    {
        var t = HostTensor.Zeros(shape);
        var data = t.Data;
        var rng = Rng.Derive(seed, Fnv1a(name));
        var (fanIn, fanOut) = Fans(shape);
        switch (init.Kind)
        {
            case "zeros": break;
            case "ones": Array.Fill(data, 1f); break;
            case "constant": Array.Fill(data, (float)init.A); break;
            case "normal": Normal(data, rng, init.A); break;
            case "uniform": Uniform(data, rng, init.A, init.B); break;
            case "glorot": { double l = Math.Sqrt(6.0 / (fanIn + fanOut)); Uniform(data, rng, -l, l); break; }
            case "he": Normal(data, rng, Math.Sqrt(2.0 / fanIn)); break;
            case "lecun": Normal(data, rng, Math.Sqrt(1.0 / fanIn)); break;
            case "orthogonal": Orthogonal(data, shape, rng); break;
            default: throw new ArgumentException(
                $"unknown initializer `{init.Kind}` for `{name}` (known: {string.Join(", ", InitSpec.Kinds)})");
        }
        return t;
    }

    /// <summary>A tensor's initial value with the initializer and shape it was drawn for.</summary>
    public sealed record Drawn(InitSpec Init, int[] Shape, HostTensor Value);

    /// <summary>Initial values of every Param and State of <paramref name="graph"/>, by name. Dimension variables are
    /// not allowed in their shapes. A value in <paramref name="drawn"/> for the same name, initializer and shape is
    /// taken instead of drawn again (<see cref="Create"/> depends on nothing else: the same numbers).</summary>
    public static Dictionary<string, HostTensor> ForGraph(Graph graph, ulong seed,
        IReadOnlyDictionary<string, Drawn>? drawn = null)
    {
        var values = new Dictionary<string, HostTensor>();
        foreach (var n in graph.Nodes.Where(n => n.Op is OpKind.Param or OpKind.State))
        {
            if (!n.Shape.IsFixed)
                throw new ArgumentException(
                    $"`{n.Name}` has the shape {n.Shape}; parameters and state need fixed sizes");
            var init = n.Attrs.Init ?? InitSpec.Zeros;
            var shape = n.Shape.Resolve(new Dictionary<string, int>());
            values[n.Name!] = drawn is not null && drawn.TryGetValue(n.Name!, out var d) && d.Init == init
                              && d.Shape.AsSpan().SequenceEqual(shape)
                ? d.Value
                : Create(init, shape, n.Name!, seed);
        }
        return values;
    }

    /// <summary>The initial values of the Params and States among <paramref name="nodes"/> whose shapes are fixed,
    /// by name, for <see cref="ForGraph"/>: drawn ahead of the graph that needs them (on another core while training
    /// data is read, issue #18).</summary>
    public static Dictionary<string, Drawn> Draw(IEnumerable<Node> nodes, ulong seed)
    {
        var drawn = new Dictionary<string, Drawn>();
        foreach (var n in nodes.Where(n => n.Op is OpKind.Param or OpKind.State && n.Shape.IsFixed))
        {
            var init = n.Attrs.Init ?? InitSpec.Zeros;
            var shape = n.Shape.Resolve(new Dictionary<string, int>());
            drawn[n.Name!] = new Drawn(init, shape, Create(init, shape, n.Name!, seed));
        }
        return drawn;
    }

    private static void Normal(float[] data, Rng rng, double std)
    {
        for (int i = 0; i < data.Length; i++) data[i] = (float)(std * rng.NextNormal());
    }

    /// <summary>Keras' <c>Orthogonal</c>: a Gaussian matrix a [max(rows, cols), min(rows, cols)] (drawn row-major),
    /// its Q with R's diagonal positive, transposed when rows &lt; cols. Gram–Schmidt (each column projected out
    /// twice, which keeps Q orthonormal to rounding in double) gives exactly that Q: its R has the column norms,
    /// positive, on its diagonal, and the QR with a positive diagonal is unique for a full-rank a (a Gaussian matrix is
    /// full rank with probability 1).</summary>
    private static void Orthogonal(float[] data, int[] shape, Rng rng)
    {
        if (shape.Length < 2)
            throw new ArgumentException("the orthogonal initializer needs a tensor of two or more axes");
        int cols = shape[^1], rows = data.Length / Math.Max(cols, 1);
        if (data.Length == 0) return;
        int m = Math.Max(rows, cols), k = Math.Min(rows, cols);
        var a = new double[m, k];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < k; j++) a[i, j] = rng.NextNormal();
        for (int j = 0; j < k; j++)
        {
            for (int pass = 0; pass < 2; pass++)
                for (int p = 0; p < j; p++)
                {
                    double dot = 0;
                    for (int i = 0; i < m; i++) dot += a[i, p] * a[i, j];
                    for (int i = 0; i < m; i++) a[i, j] -= dot * a[i, p];
                }
            double norm = 0;
            for (int i = 0; i < m; i++) norm += a[i, j] * a[i, j];
            norm = Math.Sqrt(norm);
            for (int i = 0; i < m; i++) a[i, j] /= norm;
        }
        // data is [rows, cols] row-major: Q itself when rows ≥ cols, its transpose otherwise
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) data[r * cols + c] = (float)(rows >= cols ? a[r, c] : a[c, r]);
    }

    private static void Uniform(float[] data, Rng rng, double lo, double hi)
    {
        for (int i = 0; i < data.Length; i++) data[i] = (float)(lo + (hi - lo) * rng.NextDouble());
    }

    /// <summary>The 64-bit FNV-1a hash of a name's UTF-16 code units (stable across runs and machines).</summary>
    public static ulong Fnv1a(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s) { h ^= c; h *= 1099511628211UL; }
        return h;
    }
}
