namespace Nn.Runtime.Util;

/// <summary>The random stream of a DropoutMask node: a public function of (seed, step, stream id), so that every
/// executor (the reference interpreter, the fused engine, a resumed run) draws the same mask.</summary>
internal static class Dropout
{
    /// <summary>The generator for one DropoutMask node at one training step:
    /// <c>Rng.Derive(Rng.Derive(seed, step).NextUInt64(), stream)</c>. Elements draw <see cref="Rng.NextDouble"/>
    /// in row-major order; an element is dropped (0) when the draw is below p, else kept as 1/(1−p).</summary>
    public static Rng Stream(ulong seed, long step, int stream) => new(StreamSeed(seed, step, stream));

    /// <summary>The same stream as <see cref="Stream"/>, as an allocation-free struct (for the fused engine).</summary>
    public static Xoshiro256 StreamState(ulong seed, long step, int stream) => new(StreamSeed(seed, step, stream));

    private static ulong StreamSeed(ulong seed, long step, int stream) =>
        Xoshiro256.DeriveSeed(new Xoshiro256(Xoshiro256.DeriveSeed(seed, unchecked((ulong)step))).NextUInt64(),
            unchecked((ulong)stream));

    /// <summary>The mask values, as doubles, for <paramref name="count"/> elements, after skipping the first
    /// <paramref name="skip"/> draws (the rows of a batch before a data-parallel rank's share).</summary>
    public static double[] Mask(ulong seed, long step, int stream, double p, int count, long skip = 0)
    {
        var rng = Stream(seed, step, stream);
        for (; skip > 0; skip--) rng.NextDouble();
        var keep = 1.0 / (1.0 - p);
        var m = new double[count];
        for (int i = 0; i < count; i++) m[i] = rng.NextDouble() < p ? 0.0 : keep;
        return m;
    }
}
