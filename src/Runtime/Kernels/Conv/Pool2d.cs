namespace Nn.Runtime.Kernels;

/// <summary>
/// Non-overlapping 2-D pooling in NHWC layout (window = stride = <c>size</c>): input [n, h, w, c] to
/// output [n, ⌊h/size⌋, ⌊w/size⌋, c]; trailing rows and columns that do not fill a window are dropped.
/// </summary>
public static class Pool2d
{
    /// <summary>Output height or width for an input extent and window size.</summary>
    public static int OutSize(int size, int window) => window < 1 ? KernelThrowInt(nameof(window)) : size / window;

    /// <summary>
    /// output = the maximum of each window per channel; <paramref name="indices"/> records, per output value,
    /// the flat input index it came from (the first, for ties) so the backward pass can route the gradient.
    /// </summary>
    public static void MaxForward(int batch, int height, int width, int channels, int size,
        ReadOnlySpan<float> input, Span<float> output, Span<int> indices)
    {
        int oh = OutSize(height, size), ow = OutSize(width, size);
        Check(batch, height, width, channels, oh, ow, input.Length, output.Length);
        KernelThrow.CheckLength(nameof(indices), (long)batch * oh * ow * channels, indices.Length);
        int o = 0;
        for (int n = 0; n < batch; n++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, o += channels)
                {
                    int first = ((n * height + oy * size) * width + ox * size) * channels;
                    for (int ch = 0; ch < channels; ch++)
                    {
                        float best = input[first + ch];
                        int at = first + ch;
                        for (int dy = 0; dy < size; dy++)
                            for (int dx = 0; dx < size; dx++)
                            {
                                int i = ((n * height + oy * size + dy) * width + ox * size + dx) * channels + ch;
                                if (input[i] > best) { best = input[i]; at = i; }
                            }
                        output[o + ch] = best;
                        indices[o + ch] = at;
                    }
                }
    }

    /// <summary>dInput = 0, then each output gradient is added at the input index its maximum came from.</summary>
    public static void MaxBackward(ReadOnlySpan<float> dOutput, ReadOnlySpan<int> indices, Span<float> dInput)
    {
        KernelThrow.CheckLength(nameof(indices), dOutput.Length, indices.Length);
        dInput.Clear();
        for (int o = 0; o < dOutput.Length; o++) dInput[indices[o]] += dOutput[o];
    }

    /// <summary>output = the mean of each window per channel.</summary>
    public static void AvgForward(int batch, int height, int width, int channels, int size,
        ReadOnlySpan<float> input, Span<float> output)
    {
        int oh = OutSize(height, size), ow = OutSize(width, size);
        Check(batch, height, width, channels, oh, ow, input.Length, output.Length);
        float scale = 1f / (size * size);
        int o = 0;
        for (int n = 0; n < batch; n++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, o += channels)
                {
                    var dst = output.Slice(o, channels);
                    dst.Clear();
                    for (int dy = 0; dy < size; dy++)
                        for (int dx = 0; dx < size; dx++)
                        {
                            int i = ((n * height + oy * size + dy) * width + ox * size + dx) * channels;
                            Elementwise.Binary<AddOp>(dst, input.Slice(i, channels), dst);
                        }
                    Elementwise.BinaryScalar<MulOp>(dst, scale, dst);
                }
    }

    /// <summary>dInput = each output gradient spread evenly over its window (0 in dropped rows and columns).</summary>
    public static void AvgBackward(int batch, int height, int width, int channels, int size,
        ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        int oh = OutSize(height, size), ow = OutSize(width, size);
        Check(batch, height, width, channels, oh, ow, dInput.Length, dOutput.Length);
        dInput[..(batch * height * width * channels)].Clear();
        float scale = 1f / (size * size);
        int o = 0;
        for (int n = 0; n < batch; n++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++, o += channels)
                {
                    var g = dOutput.Slice(o, channels);
                    for (int dy = 0; dy < size; dy++)
                        for (int dx = 0; dx < size; dx++)
                        {
                            int i = ((n * height + oy * size + dy) * width + ox * size + dx) * channels;
                            Elementwise.BinaryScalar<MulOp>(g, scale, dInput.Slice(i, channels));
                        }
                }
    }

    private static int KernelThrowInt(string name)
    {
        KernelThrow.Argument(name, "the pooling window must be positive");
        return 0;
    }

    private static void Check(int batch, int height, int width, int channels, int oh, int ow, int inputLength, int outputLength)
    {
        if (batch < 0 || height < 0 || width < 0 || channels < 0) KernelThrow.Argument(nameof(batch), "sizes must not be negative");
        KernelThrow.CheckLength("input", (long)batch * height * width * channels, inputLength);
        KernelThrow.CheckLength("output", (long)batch * oh * ow * channels, outputLength);
    }
}
