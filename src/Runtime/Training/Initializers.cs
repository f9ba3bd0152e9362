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
/// <c>ones</c>.</para>
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
            default: throw new ArgumentException(
                $"unknown initializer `{init.Kind}` for `{name}` (known: {string.Join(", ", InitSpec.Kinds)})");
        }
        return t;
    }

    /// <summary>Initial values of every Param and State of <paramref name="graph"/>, by name. Dimension variables are
    /// not allowed in their shapes.</summary>
    public static Dictionary<string, HostTensor> ForGraph(Graph graph, ulong seed)
    {
        var values = new Dictionary<string, HostTensor>();
        foreach (var n in graph.Nodes.Where(n => n.Op is OpKind.Param or OpKind.State))
        {
            if (!n.Shape.IsFixed)
                throw new ArgumentException(
                    $"`{n.Name}` has the shape {n.Shape}; parameters and state need fixed sizes");
            values[n.Name!] = Create(n.Attrs.Init ?? InitSpec.Zeros, n.Shape.Resolve(new Dictionary<string, int>()),
                n.Name!, seed);
        }
        return values;
    }

    private static void Normal(float[] data, Rng rng, double std)
    {
        for (int i = 0; i < data.Length; i++) data[i] = (float)(std * rng.NextNormal());
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
