namespace Nn.Runtime.Kernels;

internal static partial class Conv2d
{
    /// <summary>Below this many FLOPs a convolution runs on one thread: handing a part to the
    /// other thread costs more.</summary>
    private const double MinFlopsToSplit = 4e6;

    /// <summary>
    /// True when a call should split its batch over threads. Each thread then unfolds its own images into its own rows
    /// of the workspace and runs a one-thread GEMM on them: the GEMM's own split is poor for convolution shapes (6 or
    /// 16 output channels: both threads pack the same panels and share output lines), and the unfold and fold run in
    /// parallel too. A batch of one keeps the GEMM's threads.
    /// </summary>
    private static bool SplitsBatch(in Conv2dShape s, int threads) => threads > 1 && ChunksBatch(s);

    /// <summary>
    /// True when the kernel gradient sums over chunks of images, on any number of threads: whether it does, and where
    /// the chunks end, depend on the shape alone, so each weight's sum runs in the same order on one thread as on two
    /// and training gives the same bits for any thread count (the forward pass and the input gradient compute each
    /// output from one image, so only the kernel gradient's sum over images could depend on the split).
    /// </summary>
    private static bool ChunksBatch(in Conv2dShape s) =>
        s.Batch > 1 && 2.0 * s.PatchCount * s.PatchLength * s.OutChannels >= MinFlopsToSplit;

    /// <summary>
    /// One convolution call split by images into chunks that the threads take in turn (an atomic counter), so a thread
    /// that starts late, or whose core is busy with another process, takes fewer chunks instead of holding the call up:
    /// two threads then cost about what one does at worst. The kernel gradient sums over images: each chunk writes
    /// its own partial sum and the partials are added in chunk order, and its chunks are cut by the shape alone (not
    /// by the thread count), so the result does not depend on which thread took which chunk, nor on how many threads
    /// there are (<see cref="ChunksBatch"/>).
    /// </summary>
    private sealed unsafe class ConvJob : IParallelWork
    {
        public enum Kind { Forward, Kernel, Input }

        [ThreadStatic] private static ConvJob? t_job;

        private Kind _kind;
        private Conv2dShape _s;
        private float* _a, _b, _out, _ws, _bias, _partial;
        private int _biasLength;
        private Activation _activation;
        private int _next, _chunks, _perChunk;
        /// <summary>The kernel gradient of each chunk's images; grown, never shrunk.</summary>
        private float[] _partials = [];

        /// <summary>Forward: a = input, b = kernel, out = output. Kernel: a = input, b = dOutput, out = dKernel.
        /// Input: a = dOutput, b = kernel, out = dInput.</summary>
        public static void Run(Kind kind, in Conv2dShape s, ReadOnlySpan<float> a, ReadOnlySpan<float> b,
            Span<float> output, Span<float> workspace, ReadOnlySpan<float> bias, Activation activation, float beta,
            int threads)
        {
            var job = t_job ??= new ConvJob();
            int parts = Math.Min(threads, s.Batch);
            // Chunks of about 0.5 MFLOP, at least two per part.
            double perImage = 2.0 * s.OutHeight * s.OutWidth * s.PatchLength * s.OutChannels;
            int perChunk = (int)Math.Min(5e5 / Math.Max(perImage, 1), s.Batch);
            job._perChunk = kind == Kind.Kernel
                // One partial per chunk, 4 to 8 chunks whatever the thread count: enough for two threads to share, and
                // a large kernel's partials stay a few copies of it.
                ? Math.Clamp(perChunk, (s.Batch + 7) / 8, Math.Max(1, s.Batch / 4))
                : Math.Clamp(perChunk, 1, Math.Max(1, s.Batch / (2 * parts)));
            job._chunks = (s.Batch + job._perChunk - 1) / job._perChunk;
            job._next = 0;
            if (kind == Kind.Kernel && job._partials.Length < job._chunks * s.KernelLength)
                job._partials = new float[job._chunks * s.KernelLength];
            fixed (float* pa = a, pb = b, po = output, pw = workspace, pbias = bias, pp = job._partials)
            {
                job._kind = kind; job._s = s; job._a = pa; job._b = pb; job._out = po; job._ws = pw;
                job._bias = pbias; job._partial = pp; job._biasLength = bias.Length; job._activation = activation;
                WorkerPool.Shared.Run(job, parts);
                if (kind == Kind.Kernel)
                {
                    var dk = new Span<float>(po, s.KernelLength);
                    if (beta == 0f) dk.Clear();
                    else if (beta != 1f) Elementwise.BinaryScalar<MulOp>(dk, beta, dk);
                    for (int c = 0; c < job._chunks; c++)
                        Elementwise.Binary<AddOp>(
                            dk, new ReadOnlySpan<float>(pp + (long)c * s.KernelLength, s.KernelLength), dk);
                }
                job._a = job._b = job._out = job._ws = job._bias = job._partial = null;
            }
        }

        public void Execute(int index, int count)
        {
            for (int c; (c = Interlocked.Increment(ref _next) - 1) < _chunks;)
            {
                int b0 = c * _perChunk;
                Images(c, b0, Math.Min(b0 + _perChunk, _s.Batch));
            }
        }

        private void Images(int chunk, int b0, int b1)
        {
            var s = _s;
            var part = s with { Batch = b1 - b0 };
            long inAt = (long)b0 * s.Height * s.Width * s.InChannels,
                outAt = (long)b0 * s.OutHeight * s.OutWidth * s.OutChannels;
            var ws = new Span<float>(_ws + (long)b0 * s.OutHeight * s.OutWidth * s.PatchLength, part.WorkspaceLength);
            switch (_kind)
            {
                case Kind.Forward:
                    Forward(part, new ReadOnlySpan<float>(_a + inAt, part.InputLength),
                        new ReadOnlySpan<float>(_b, s.KernelLength), new Span<float>(_out + outAt, part.OutputLength),
                        ws, new ReadOnlySpan<float>(_bias, _biasLength), _activation, 1);
                    break;
                case Kind.Kernel:
                    BackwardKernelWhole(part, new ReadOnlySpan<float>(_a + inAt, part.InputLength),
                        new ReadOnlySpan<float>(_b + outAt, part.OutputLength),
                        new Span<float>(_partial + (long)chunk * s.KernelLength, s.KernelLength), ws, 0f, 1);
                    break;
                default:
                    BackwardInput(part, new ReadOnlySpan<float>(_a + outAt, part.OutputLength),
                        new ReadOnlySpan<float>(_b, s.KernelLength), new Span<float>(_out + inAt, part.InputLength),
                        ws, 1);
                    break;
            }
        }
    }
}
