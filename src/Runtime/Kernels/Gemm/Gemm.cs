namespace Nn.Runtime.Kernels;

/// <summary>An activation a matrix product can apply to its result while the result is still in cache.</summary>
internal enum Activation
{
    /// <summary>No activation.</summary>
    Identity,
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>tanh x.</summary>
    Tanh,
    /// <summary>1 / (1 + e⁻ˣ).</summary>
    Sigmoid,
}

/// <summary>Which instruction set the GEMM micro-kernel uses.</summary>
internal enum GemmIsa
{
    /// <summary>The widest the machine accelerates (AVX-512, else AVX2, else scalar).</summary>
    Auto,
    /// <summary>16-lane FMA micro-kernel.</summary>
    Avx512,
    /// <summary>8-lane FMA micro-kernel.</summary>
    Avx2,
    /// <summary>Portable scalar micro-kernel.</summary>
    Scalar,
}

/// <summary>
/// Single-precision general matrix multiply on row-major matrices, Goto/BLIS style: op(B) is packed in
/// kc×nc blocks, op(A) in mc×kc blocks (into 64-byte aligned buffers allocated once and reused), and a
/// register-tiled FMA micro-kernel computes each MR×NR tile of C. Two threads either split C's rows and share
/// each packed B block (one barrier per block), or split its columns into independent sub-products, whichever
/// leaves the busier thread less work (<see cref="GemmJob"/>).
/// </summary>
internal static unsafe class Gemm
{
    /// <summary>
    /// Forces a micro-kernel instruction set (for tests and benchmarks); <see cref="GemmIsa.Auto"/> picks the
    /// widest the machine accelerates. A set the machine cannot run falls back to the next narrower one.
    /// </summary>
    public static GemmIsa Isa { get; set; } = GemmIsa.Auto;

    /// <summary>
    /// C = alpha·op(A)·op(B) + beta·C, row-major, where op(A) is m×k (A is k×m when <paramref name="transA"/>)
    /// and op(B) is k×n (B is n×k when <paramref name="transB"/>). Leading dimensions are row strides
    /// (≥ the stored row width). When beta = 0, C is not read (NaNs in C do not propagate).
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        int threads = 1) =>
        Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ReadOnlySpan<float>.Empty,
            Activation.Identity, threads);

    /// <summary>
    /// C = act(alpha·op(A)·op(B) + beta·C + bias) with a per-column <paramref name="bias"/> of n values (or empty
    /// for none) and <paramref name="activation"/> applied to each tile right after its last update, while it
    /// is still in cache — the fused form of <c>x @ w + b |> relu</c>. Otherwise as the overload without them.
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc,
        ReadOnlySpan<float> bias, Activation activation, int threads = 1) =>
        Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, false, beta, c, ldc, false, bias, activation, threads);

    /// <summary>
    /// As <see cref="Multiply(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int,
    /// float, Span{float}, int, ReadOnlySpan{float}, Activation, int)"/>, with B (k×n, or n×k when
    /// <paramref name="transB"/>) stored in <see cref="GemmPanels"/> layout when
    /// <paramref name="bPanels"/> (ldb is then ignored), and C (m×n) written in that layout when
    /// <paramref name="cPanels"/> (ldc ignored): the engine's weights and weight gradients.
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, bool bPanels, float beta, Span<float> c,
        int ldc, bool cPanels,
        ReadOnlySpan<float> bias, Activation activation, int threads) =>
        Multiply(transA, transB, m, n, k, alpha, a, lda, b, ldb, bPanels, beta, c, ldc, cPanels, bias, activation,
            threads, default);

    /// <summary>The product, or with an active <paramref name="update"/> (<see cref="GemmUpdate"/>: one pass over k, C
    /// in panels, alpha 1, beta 0, no epilogue) the update of its tiles, C neither read nor written. With
    /// <paramref name="bFinite"/> (the caller knows B holds no NaN or infinity) full tiles skip the k steps where their
    /// rows of op(A) are all zero (<see cref="GemmZeroColumns"/>; not with an update). With
    /// <paramref name="bands"/>, band by band; <paramref name="onlyBand"/> ≥ 0 computes that band alone,
    /// here.</summary>
    internal static void Multiply(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, bool bPanels, float beta, Span<float> c,
        int ldc, bool cPanels,
        ReadOnlySpan<float> bias, Activation activation, int threads, GemmUpdate.Tiles update, bool bFinite = false,
        GemmBands bands = default, int onlyBand = -1)
    {
        if (k < 0) KernelThrow.Negative(nameof(k), k);
        KernelThrow.CheckMatrix(nameof(a), transA ? k : m, transA ? m : k, lda, a.Length);
        if (bands.Active) CheckBands(in bands, transB, bPanels, cPanels || update.Active, m, n, k, ldb, ldc, b, c);
        if (bPanels) CheckPanels(nameof(b), transB ? n : k, transB ? k : n, b.Length);
        else if (bands.BStride == 0) KernelThrow.CheckMatrix(nameof(b), transB ? n : k, transB ? k : n, ldb, b.Length);
        if (update.Active) ldc = GemmPanels.Width;
        else if (cPanels) { CheckPanels(nameof(c), m, n, c.Length); ldc = GemmPanels.Width; }
        else if (bands.CStride == 0) KernelThrow.CheckMatrix(nameof(c), m, n, ldc, c.Length);
        if (!bias.IsEmpty && bias.Length < n) KernelThrow.ShortBuffer(nameof(bias), n, bias.Length);
        if (threads < 1) KernelThrow.Argument(nameof(threads), "at least one thread");
        if (m == 0 || n == 0) return;

        fixed (float* pa = a, pb = b, pc = c, pbias = bias)
        {
            var p = new GemmProblem
            {
                TransA = transA, TransB = transB, M = m, N = n, K = k, Alpha = alpha, A = pa, Lda = lda,
                B = pb, Ldb = ldb, Beta = beta, C = pc, Ldc = ldc, Bias = bias.IsEmpty ? null : pbias,
                Activation = activation, Kernel = MicroKernel.Select(Isa, n), BPanels = bPanels, CPanels = cPanels,
                Update = update, SkipZeroColumns = bFinite && !update.Active && !GemmDriver.ZeroColumnsOff,
                Bands = bands,
            };
            // band by band, on as many threads as bands (each part computing its own band's columns)
            if (bands.Active)
            {
                if (onlyBand >= 0) GemmBands.Run(in p, onlyBand);
                else GemmJob.Run(in p, bands.Count);
                return;
            }
            if (k == 0 || alpha == 0f)
            {
                ScaleAndFinish(in p);
                return;
            }
            if (GemmNarrow.TryRun(in p)) return;
            long flops = 2L * m * n * k;
            int parts = flops < MinFlopsPerThread * 2 ? 1 : (int)Math.Min(threads, flops / MinFlopsPerThread);
            if (parts <= 1 && GemmVector.TryRun(in p)) return;
            if (parts <= 1) GemmDriver.Run(in p, 0, m, 0, n);
            else GemmJob.Run(in p, parts);
        }
    }

    /// <summary>Below this many flops per thread a product runs on one thread (a hand-off costs
    /// a few microseconds).</summary>
    private const long MinFlopsPerThread = 1L << 20;

    /// <summary>A banded product's shape: whole bands of panel-wide columns, a pass over k, B banded only when not
    /// transposed, and each banded operand's row stride the band's width.</summary>
    private static void CheckBands(in GemmBands bands, bool transB, bool bPanels, bool cPanels, int m, int n, int k,
        int ldb, int ldc, ReadOnlySpan<float> b, ReadOnlySpan<float> c)
    {
        int w = n / bands.Count;
        if (k == 0 || n % (bands.Count * GemmPanels.Width) != 0
            || bands.BStride != 0 && (transB || bPanels || ldb != w || bands.BStride < (long)k * w)
            || bands.CStride != 0 && (cPanels || ldc != w || bands.CStride < (long)m * w))
            KernelThrow.Argument(nameof(bands), $"bands of {w} columns do not fit a {m}×{n}×{k} product");
        if (bands.BStride != 0) KernelThrow.CheckLength(nameof(b), bands.BStride * bands.Count, b.Length);
        if (bands.CStride != 0) KernelThrow.CheckLength(nameof(c), bands.CStride * bands.Count, c.Length);
    }

    private static void CheckPanels(string name, int rows, int cols, int length)
    {
        if (!GemmPanels.Fits(rows, cols))
            KernelThrow.Argument(name, "a matrix in panel layout needs a positive multiple of " +
                $"{GemmPanels.Width} columns (got {rows}×{cols})");
        KernelThrow.CheckLength(name, (long)rows * cols, length);
    }

    /// <summary>C = beta·C (beta = 0 clears), then the epilogue: the whole product when k = 0 or alpha = 0.</summary>
    private static void ScaleAndFinish(in GemmProblem p)
    {
        // Runs of C's rows: whole rows, or a row's 32 columns in one panel.
        int width = p.CPanels ? GemmPanels.Width : p.N;
        for (int j = 0; j < p.N; j += width)
            for (int i = 0; i < p.M; i++)
            {
                var row = new Span<float>(
                    p.CPanels ? p.C + GemmPanels.Offset(p.M, i, j) : p.C + (nint)i * p.Ldc, width);
                if (p.Beta == 0f) row.Clear();
                else if (p.Beta != 1f) Elementwise.BinaryScalar<MulOp>(row, p.Beta, row);
                Epilogue.Apply(row, p.Bias == null ? null : p.Bias + j, p.Activation);
            }
    }
}

/// <summary>One product's operands, pinned, as the driver and the threads see them.</summary>
internal unsafe struct GemmProblem
{
    public bool TransA, TransB;
    /// <summary>B is stored in <see cref="GemmPanels"/> layout (Ldb unused); C is written in it (Ldc
    /// = 32 within a panel).</summary>
    public bool BPanels, CPanels;
    /// <summary>When active, each finished tile of C updates weights instead of being stored
    /// (<see cref="GemmUpdate"/>).</summary>
    public GemmUpdate.Tiles Update;
    /// <summary>B is known finite (no NaN, no infinity): full tiles may skip the k steps where all rows of their A
    /// panel are zero (<see cref="GemmZeroColumns"/>), which keeps the product bit for bit but for a zero's
    /// sign.</summary>
    public bool SkipZeroColumns;
    public int M, N, K;
    public float Alpha, Beta;
    public float* A, B, C, Bias;
    public int Lda, Ldb, Ldc;
    public Activation Activation;
    public MicroKernel Kernel;
    /// <summary>B or C stored as column bands, the product run band by band (<see cref="GemmBands"/>).</summary>
    public GemmBands Bands;
}

/// <summary>The fused epilogue: bias add and activation over one row of a finished tile.</summary>
internal static unsafe class Epilogue
{
    /// <summary>As <see cref="Apply"/> with the bias as a span (empty for none).</summary>
    public static void ApplySpan(Span<float> row, ReadOnlySpan<float> bias, Activation act)
    {
        fixed (float* b = bias) Apply(row, b, act);
    }

    public static void Apply(Span<float> row, float* bias, Activation act)
    {
        if (bias == null)
        {
            switch (act)
            {
                case Activation.Relu: Elementwise.Unary<ReluOp>(row, row); break;
                case Activation.Tanh: Elementwise.Unary<TanhOp>(row, row); break;
                case Activation.Sigmoid: Elementwise.Unary<SigmoidOp>(row, row); break;
            }
            return;
        }
        var b = new ReadOnlySpan<float>(bias, row.Length);
        switch (act)
        {
            case Activation.Identity: Elementwise.Binary<AddOp>(row, b, row); break;
            case Activation.Relu: Elementwise.Binary<Then<AddOp, ReluOp>>(row, b, row); break;
            case Activation.Tanh: Elementwise.Binary<Then<AddOp, TanhOp>>(row, b, row); break;
            case Activation.Sigmoid: Elementwise.Binary<Then<AddOp, SigmoidOp>>(row, b, row); break;
        }
    }
}
