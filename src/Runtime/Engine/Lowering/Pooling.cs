using Nn.Runtime.IR;
using Nn.Runtime.Kernels;

namespace Nn.Runtime.Engine.Lowering;

/// <summary>Max and average pooling nodes and their gradients: <see cref="Pool2d"/> on the geometry of the node's
/// attributes (window size, stride, paddings), as the reference defines them.</summary>
internal static class Pooling
{
    public static Action Build(OpKind op, PoolAttrs pool, int[][] inShapes, int[] shape, float[][] S, int[] src,
        int dst)
    {
        // x is the pooled input's shape, y the pooled output's.
        int[] x = op switch { OpKind.AvgPool2dGrad => shape, _ => inShapes[0] };
        int[] y = op switch
        {
            OpKind.MaxPool2d or OpKind.AvgPool2d => shape, OpKind.MaxPool2dGrad => inShapes[1], _ => inShapes[0]
        };
        var s = Pool2dShape.Create(x[0], x[1], x[2], x[3], pool.Size, pool.Stride,
            pool.Pads.ToPadding());
        var g = s.Geometry;
        if (g.OutHeight != y[1] || g.OutWidth != y[2])
            throw Throw.Bug($"a pooling output of {y[1]}×{y[2]} where its geometry gives {g.OutHeight}×{g.OutWidth}");
        int xl = s.InputLength, yl = s.OutputLength;
        return op switch
        {
            OpKind.MaxPool2d => () => Pool2d.MaxForward(s, S[src[0]].AsSpan(0, xl), S[dst].AsSpan(0, yl)),
            OpKind.AvgPool2d => () => Pool2d.AvgForward(s, S[src[0]].AsSpan(0, xl), S[dst].AsSpan(0, yl)),
            OpKind.MaxPool2dGrad => () =>
                Pool2d.MaxBackward(s, S[src[0]].AsSpan(0, xl), S[src[1]].AsSpan(0, yl), S[dst].AsSpan(0, xl)),
            _ => () => Pool2d.AvgBackward(s, S[src[0]].AsSpan(0, yl), S[dst].AsSpan(0, xl)),
        };
    }
}

/// <summary>The seed and step of the run in progress (dropout masks read them).</summary>
internal sealed class StepContext
{
    public ulong Seed;
    public long Step;
    /// <summary>The global row of the batch's first row (a rank's share of a data-parallel batch; 0 otherwise).
    /// </summary>
    public int RowOffset;
    /// <summary>The sum across data-parallel ranks that RankSum kernels call (null: one process, the identity).
    /// </summary>
    public Training.IRankSum? Ranks;
}

/// <summary>
/// A DropoutMask node's kernel: the stream <see cref="Util.Dropout.Stream"/> (xoshiro256** derived
/// from seed, step and stream id), drawn through the struct of Dropout.StreamState so a mask allocates nothing.
/// </summary>
internal sealed class DropoutMask(StepContext context, int stream)
{
    /// <summary>Fills the mask of a batch whose rows hold <paramref name="rowSize"/> elements each, starting
    /// <see cref="StepContext.RowOffset"/> rows into the stream.</summary>
    public void Fill(Span<float> dst, double p, int rowSize)
    {
        var rng = Util.Dropout.StreamState(context.Seed, context.Step, stream);
        for (long skip = (long)context.RowOffset * rowSize; skip > 0; skip--) rng.NextDouble();
        float keep = (float)(1.0 / (1.0 - p));
        for (int i = 0; i < dst.Length; i++) dst[i] = rng.NextDouble() < p ? 0f : keep;
    }
}
