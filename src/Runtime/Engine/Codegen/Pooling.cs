using Nn.Runtime.IR;

namespace Nn.Runtime.Engine.Codegen;

/// <summary>Max and average pooling (any window and stride, NHWC) and their gradients, as the reference defines
/// them: the first maximum of a window takes the gradient; windows that do not fit are dropped.</summary>
internal static class Pooling
{
    public static Action Build(OpKind op, int size, int stride, int[][] inShapes, int[] shape, float[][] S, int[] src, int dst)
    {
        // x is the pooled input's shape, y the pooled output's.
        int[] x = op switch { OpKind.AvgPool2dGrad => shape, _ => inShapes[0] };
        int[] y = op switch { OpKind.MaxPool2d or OpKind.AvgPool2d => shape, OpKind.MaxPool2dGrad => inShapes[1], _ => inShapes[0] };
        int xCount = NodeKernels.Count(x);
        float area = size * size;
        // The window bodies are built once here, so a step creates no delegate.
        Action<int, int> body = op switch
        {
            OpKind.MaxPool2d => (yi, w0) => S[dst][yi] = S[src[0]][ArgMax(S[src[0]], w0, x, size)],
            OpKind.AvgPool2d => (yi, w0) =>
            {
                float s = 0f; var d = S[src[0]];
                for (int dy = 0; dy < size; dy++)
                    for (int dx = 0; dx < size; dx++) s += d[w0 + (dy * x[2] + dx) * x[3]];
                S[dst][yi] = s / area;
            },
            OpKind.MaxPool2dGrad => (yi, w0) => S[dst][ArgMax(S[src[0]], w0, x, size)] += S[src[1]][yi],
            _ => (yi, w0) =>
            {
                float g = S[src[0]][yi] / area; var d = S[dst];
                for (int dy = 0; dy < size; dy++)
                    for (int dx = 0; dx < size; dx++) d[w0 + (dy * x[2] + dx) * x[3]] += g;
            },
        };
        bool clear = op is OpKind.MaxPool2dGrad or OpKind.AvgPool2dGrad;
        return () =>
        {
            if (clear) S[dst].AsSpan(0, xCount).Clear();
            Run(x, y, size, stride, body);
        };
    }

    private static int ArgMax(float[] d, int w0, int[] x, int size)
    {
        int best = w0;
        for (int dy = 0; dy < size; dy++)
            for (int dx = 0; dx < size; dx++)
            {
                int i = w0 + (dy * x[2] + dx) * x[3];
                if (d[i] > d[best]) best = i;
            }
        return best;
    }

    /// <summary>Calls body(output index, input index of the window's top-left element) for every window.</summary>
    private static void Run(int[] x, int[] y, int size, int stride, Action<int, int> body)
    {
        for (int b = 0; b < y[0]; b++)
            for (int oy = 0; oy < y[1]; oy++)
                for (int ox = 0; ox < y[2]; ox++)
                    for (int c = 0; c < y[3]; c++)
                        body(((b * y[1] + oy) * y[2] + ox) * y[3] + c, ((b * x[1] + oy * stride) * x[2] + ox * stride) * x[3] + c);
    }
}

/// <summary>The seed and step of the run in progress (dropout masks read them).</summary>
internal sealed class StepContext
{
    public ulong Seed;
    public long Step;
}

/// <summary>
/// A DropoutMask node's kernel: the reference's stream <see cref="Execution.Dropout.Stream"/> (xoshiro256** derived
/// from seed, step and stream id), drawn through the struct of Dropout.StreamState so a mask allocates nothing.
/// </summary>
internal sealed class DropoutMask(StepContext context, int stream)
{
    public void Fill(Span<float> dst, double p)
    {
        var rng = Execution.Dropout.StreamState(context.Seed, context.Step, stream);
        float keep = (float)(1.0 / (1.0 - p));
        for (int i = 0; i < dst.Length; i++) dst[i] = rng.NextDouble() < p ? 0f : keep;
    }
}
