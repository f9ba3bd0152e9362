namespace Nn.Runtime.Kernels;

/// <summary>Narrow products over a banded A (<see cref="GemmBands"/>): its shape's check, and a k summed in two halves
/// (each half of a banded A's columns on the thread that holds its band, the halves then added).</summary>
internal static unsafe partial class GemmNarrow
{
    /// <summary>A banded A (<see cref="GemmBands"/>): op(A)'s rows (transposed: A's columns) or its columns (not
    /// transposed) in <paramref name="bands"/> bands of whole runs of 32, each a matrix of the band's width as row
    /// stride.</summary>
    private static void CheckBands(bool ta, int m, int k, int lda, int length, int bands, long stride)
    {
        int banded = ta ? m : k, rows = ta ? k : m, w = banded / bands;
        if (banded % (32 * bands) != 0 || lda != w || stride < (long)rows * w)
            KernelThrow.Argument(nameof(bands), $"{bands} bands do not fit {banded} columns of A");
        KernelThrow.CheckLength("a", stride * bands, length);
    }

    /// <summary>Whether a product not transposed sums its k in two halves (<see cref="RowsJob.Rows"/>): k two whole
    /// bands of 32.</summary>
    internal static bool InHalves(int k) => k > 0 && k % 64 == 0;

    /// <summary>The floats of one half's sums of m rows (16 a row, rows rounded up to 8).</summary>
    internal static int HalfLength(int m) => (m + 7) / 8 * 8 * 16;

    /// <summary>One row's product with k in halves, each from zero, then added: as <see cref="RowsJob.Rows"/> sums
    /// it.</summary>
    private static bool RowInHalves(float* a, float* b, nint ldb, int k, int n, float* c)
    {
        float* first = stackalloc float[16];
        int h = k / 2;
        if (!GemmVector.Row(a, b, ldb, h, n, first) || !GemmVector.Row(a + h, b + h * ldb, ldb, h, n, c)) return false;
        for (int j = 0; j < n; j++) c[j] = first[j] + c[j];
        return true;
    }

    [ThreadStatic] private static HalvesWork? t_halves;
    private static HalvesWork Halves => t_halves ??= new HalvesWork();

    /// <summary>The parts of a narrow product over a banded A's columns: part h fills op(B)'s rows of half h and
    /// sums every row's half h (its band, in its core) into its own buffer.</summary>
    private sealed class HalvesWork : IParallelWork
    {
        private RowsJob _job;
        private float* _h0, _h1;

        public HalvesWork Set(in RowsJob job, float* h0, float* h1)
        {
            _job = job; _h0 = h0; _h1 = h1;
            return this;
        }

        public void Execute(int index, int count)
        {
            for (int h = index; h < 2; h += count) _job.FillAndHalf(h, h == 0 ? _h0 : _h1);
        }
    }
}
