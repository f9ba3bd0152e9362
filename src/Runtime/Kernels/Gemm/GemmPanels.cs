using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nn.Runtime.Kernels;

/// <summary>
/// The panel layout of a weight matrix: an r×c matrix (c a multiple of <see cref="Width"/>) stored as c/32 panels of
/// 32 columns, each panel its r rows of 32 floats one after another: element (i, j) at (j/32)·r·32 + i·32 + j%32.
/// It is the layout the AVX-512 micro-kernel streams an untransposed B in, so a product <c>x @ w</c> with w stored
/// this way reads w's panels in place instead of packing a copy of w on every call; a weight gradient <c>xᵀ @ dy</c>
/// writes its tiles into this layout (row stride 32), and the optimizer's elementwise update is the same loop in any
/// layout. The engine keeps a weight this way when every use of it allows (<see cref="Engine.Planning.WeightLayout"/>).
/// </summary>
internal static unsafe class GemmPanels
{

    /// <summary>Columns per panel: the AVX-512 micro-kernel's tile width.</summary>
    public const int Width = 32;

    /// <summary>Whether an r×c matrix can be stored in panels (c a positive multiple of <see cref="Width"/>).</summary>
    public static bool Fits(int rows, int cols) => rows > 0 && cols > 0 && cols % Width == 0;

    /// <summary>The offset of element (i, j) of an r-row matrix in panel layout.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nint Offset(int rows, int i, int j) => (nint)(j / Width) * rows * Width + (nint)i * Width + j % Width;

    /// <summary>Copies a row-major r×c matrix into panel layout.</summary>
    public static void FromRowMajor(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        Check(src.Length, dst.Length, rows, cols);
        for (int t = 0; t < cols / Width; t++)
            for (int i = 0; i < rows; i++)
                src.Slice(i * cols + t * Width, Width).CopyTo(dst.Slice((t * rows + i) * Width, Width));
    }

    /// <summary>Copies an r×c matrix in panel layout into row-major order.</summary>
    public static void ToRowMajor(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        Check(src.Length, dst.Length, rows, cols);
        for (int t = 0; t < cols / Width; t++)
            for (int i = 0; i < rows; i++)
                src.Slice((t * rows + i) * Width, Width).CopyTo(dst.Slice(i * cols + t * Width, Width));
    }

    private static void Check(int srcLength, int dstLength, int rows, int cols)
    {
        if (!Fits(rows, cols))
            KernelThrow.Argument(nameof(cols), $"a positive multiple of {Width} columns (got {rows}×{cols})");
        if (srcLength < rows * cols) KernelThrow.ShortBuffer("src", rows * cols, srcLength);
        if (dstLength < rows * cols) KernelThrow.ShortBuffer("dst", rows * cols, dstLength);
    }

    /// <summary>
    /// Packs op(B)[pc..pc+kc, jc..jc+nc] into the micro-kernel's nr-wide panels (<see cref="GemmPacking.PanelStride"/>
    /// apart), where B is stored in panel layout: op(B) = Bᵀ (B is n×k, its panels run along k) when
    /// <paramref name="trans"/>, else B (k×n). The transposed case walks each of B's panels once from start to end
    /// (16 rows of 32 floats, 2 KiB, per 16×16 register transpose) and scatters its blocks over the micro-panels; other
    /// cases copy element by element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(bool trans, float* b, int n, int k, int pc, int jc, int kc, int nc, int nr, float* dst)
    {
        int stride = GemmPacking.PanelStride(kc, nr), first = 0;
        if (trans && nr % 16 == 0 && pc % 16 == 0 && kc % 16 == 0 && Avx512F.IsSupported)
        {
            first = nc / nr * nr;
            for (int p = 0; p < kc;)
            {
                // [p, end): the part of this pass in one panel of B, whose rows jc.. are 32 floats each, back to back
                int end = Math.Min((pc + p) / Width * Width + Width - pc, kc);
                float* panel = b + (nint)((pc + p) / Width) * n * Width + (pc + p) % Width - p;
                for (int jr = 0; jr < first; jr += nr)
                {
                    float* d = dst + (nint)(jr / nr) * stride;
                    // The next micro-panel's source rows and destination lines, one transpose group ahead: from memory
                    // this takes 166–197 µs for a 1024×1024 weight against 385 µs without (and 227–235 µs packing
                    // a row-major weight); in cache, the same as without (1 thread, median of 9).
                    float* next = panel + p + (nint)(jc + jr + nr) * Width;
                    for (int l = 0; l < nr * Width; l += 16) Sse.Prefetch0(next + l);
                    if (jr + nr < first)
                        for (int l = 0; l < (end - p) * nr; l += 16) Sse.Prefetch0(d + stride + (nint)p * nr + l);
                    for (int j = 0; j < nr; j += 16)
                        for (int q = p; q < end; q += 16)
                            GemmPacking.Transpose16x16(panel + (nint)(jc + jr + j) * Width + q, Width,
                                d + (nint)q * nr + j, nr);
                }
                p = end;
            }
        }
        for (int jr = first; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* d = dst + (nint)(jr / nr) * stride;
            int j0 = jc + jr;
            for (int p = 0; p < kc; p++)
            {
                float* dp = d + (nint)p * nr;
                int j = 0;
                if (trans) for (; j < cols; j++) dp[j] = b[Offset(n, j0 + j, pc + p)];
                else for (; j < cols; j++) dp[j] = b[Offset(k, pc + p, j0 + j)];
                for (; j < nr; j++) dp[j] = 0f;
            }
        }
    }
}
