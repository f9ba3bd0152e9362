namespace Nn.Runtime.Util;

/// <summary>
/// The xoshiro256** generator, seeded through SplitMix64, as a struct: allocation-free for hot loops (the fused
/// engine's dropout masks). <see cref="Rng"/> is the same generator as a class. Identical seeds give identical
/// streams on every machine.
/// </summary>
internal struct Xoshiro256
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>A generator seeded with <paramref name="seed"/>.</summary>
    public Xoshiro256(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>A generator continuing from a saved state (see <see cref="State"/>).</summary>
    public Xoshiro256(ulong[] state)
    {
        if (state.Length != 4) throw new ArgumentException("an Rng state has four words", nameof(state));
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
    }

    /// <summary>The whole state, to save and restore.</summary>
    public readonly ulong[] State => [_s0, _s1, _s2, _s3];

    /// <summary>The seed of an independent stream derived from a seed and a stream number.</summary>
    public static ulong DeriveSeed(ulong seed, ulong stream) => seed ^ (0x9E3779B97F4A7C15UL * (stream + 1));

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3; _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}

/// <summary>
/// A small, fast, seedable generator (<see cref="Xoshiro256"/> as a class). Its whole state is four integers, so
/// it can be saved in a checkpoint and restored to continue the same stream.
/// </summary>
internal sealed class Rng
{
    private Xoshiro256 _g;

    /// <summary>A generator seeded with <paramref name="seed"/>.</summary>
    public Rng(ulong seed) { _g = new Xoshiro256(seed); }

    /// <summary>A generator continuing from a saved state (see <see cref="State"/>).</summary>
    public Rng(ulong[] state) { _g = new Xoshiro256(state); }

    /// <summary>The whole state, to save and restore.</summary>
    public ulong[] State => _g.State;

    /// <summary>An independent generator derived from this one's seed and a stream number (for
    /// per-parameter or per-op streams).</summary>
    public static Rng Derive(ulong seed, ulong stream) => new(Xoshiro256.DeriveSeed(seed, stream));

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64() => _g.NextUInt64();

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => _g.NextDouble();

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n) => (int)((NextUInt64() >> 33) % (ulong)n);

    /// <summary>Standard normal (Box–Muller; one value per call, so the stream is simple to reason about).</summary>
    public double NextNormal()
    {
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle(Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
